#include "fleet/heal_call.hpp"

#include "common/text.hpp"

namespace heal::fleet {

HealCall prepare_call(const std::string& client_config, const ClientOverrides& over) {
    HealCall c;
    try {
        c.options = client_options(client_config, true, over);
    } catch (const std::exception& err) {
        c.config_error = err.what();
        if (over.server_name) c.options.server_name = *over.server_name;
        if (over.timeout) c.options.timeout = *over.timeout;
    }
    return c;
}

CallResult call(const HealCall& c, const std::string& verb, const std::string& service) {
    if (!c.config_error.empty()) {
        CallResult r;
        r.error = c.config_error;
        return r;
    }
    return call_listener(c.options, format_request(verb, service, false));
}

HealOutcome interpret(const CallResult& result, const std::string& verb) {
    HealOutcome h;
    const Reply& r = result.reply;
    if (!result.answered) {
        h.listener_outcome = "no_answer";
        h.said = "heal-listener could not be reached: " + result.error;
        return h;
    }
    h.listener_outcome = to_string(r.outcome);
    h.request_id = r.id;
    h.message = r.message;
    h.diagnostics = r.diagnostics;
    if (r.outcome == Outcome::ok && r.verified != false) {
        h.kind = HealOutcome::Kind::healed;
        h.done = r.verified == true && r.healthy_after_ms
                     ? "done, verified healthy after " + seconds_text(static_cast<double>(*r.healthy_after_ms) / 1000)
                     : "done";
        return h;
    }
    if (r.outcome == Outcome::dry_run) {
        h.kind = HealOutcome::Kind::dry_run;
        h.done = "dry run only (nothing ran: dry_run = yes on the listener)";
        return h;
    }
    if (r.outcome == Outcome::refused && r.reason == Reason::paused) {
        h.kind = HealOutcome::Kind::held;
        h.said = "held on the host, " + r.message;
        return h;
    }
    if (r.outcome == Outcome::refused && r.reason == Reason::healthy_here) {
        h.kind = HealOutcome::Kind::partition;
        h.said = "refused healthy_here: " + r.message;
        return h;
    }
    h.kind = HealOutcome::Kind::not_fixed;
    const std::string cause = r.outcome == Outcome::ok        ? "the " + verb + " ran, but the service is still failing"
                              : r.outcome == Outcome::refused ? "heal-listener refused the " + verb
                                                              : "the " + verb + " script failed";
    h.said = cause + ": " + (r.outcome == Outcome::ok && !r.verify_status.empty() ? r.verify_status : r.message);
    return h;
}

std::string partition_sentence(const std::string& verb, const std::string& service, const std::string& host,
                               const std::string& monitoring, const std::string& failing, const std::string& message) {
    return "heal did not " + verb + " " + service + " on " + host + ": " + monitoring +
           " and the host disagree. The service's own status on the host says it is healthy, while " + failing +
           " says it is failing: a network partition between them, or a check that is wrong? Nothing was run. "
           "heal-listener: " + message;
}

}  // namespace heal::fleet
