#include "event_handler.hpp"

#include "client.hpp"
#include "client_config.hpp"
#include "fleet_store.hpp"
#include "log.hpp"
#include "text.hpp"

#include <fcntl.h>
#include <unistd.h>


namespace heal::handler {

namespace {

int log_fd = -1;

/// The words of one event's decision, built apart from the decision itself.
struct Words {
    std::string what;       ///< "CRITICAL SOFT attempt 2, restart web on web1"
    std::string after;      ///< "after CRITICAL SOFT attempt 2"
    std::string not_doing;  ///< ". Not restarting web on web1." (a ';' would end the command's field)

    Words(const Options& o, const Event& e, const std::string& host) {
        const std::string attempt = std::string(plugin::state_word(e.state)) + " " + to_string(e.type) + " attempt " +
                                    std::to_string(e.attempt);
        what = attempt + ", " + o.verb + " " + e.service + " on " + host;
        after = "after " + attempt;
        not_doing = ". Not " + std::string(o.verb == "stop" ? "stopping" : o.verb + "ing") + " " + e.service + " on " +
                    host + ".";
    }
};

/// Tells the monitoring about one (host, service); a failure to tell is logged with the text.
struct Tell {
    Notifier& notifier;
    const std::string& host;
    const std::string& service;
    mutable bool failed = false;  ///< something could not be told: the exit code says so
    void page(const std::string& text) const { logged(notifier.page(host, service, text), text); }
    void comment(const std::string& text) const { logged(notifier.comment(host, service, text), text); }
    void logged(const std::string& error, const std::string& text) const {
        if (error.empty()) return;
        failed = true;
        log_line("cannot tell the monitoring (" + error + "): " + text);
    }
    int exit_code() const { return failed ? 1 : 0; }
};

/// The guard's words for a claim that does not heal ("" for heal and dry run).
std::string guard_words(const Options& o, const fleet::Claim& c, const FleetView& view) {
    const std::string in_flight = std::to_string(c.used) + (c.used == 1 ? " heal" : " heals") +
                                  " already in flight (--fleet-concurrency " + std::to_string(o.fleet_concurrency) + ")";
    switch (c.kind) {
        case fleet::Claim::Kind::blocked: return view.blocked_by.value_or("");
        case fleet::Claim::Kind::budget:
            return "fleet budget spent: " + std::to_string(c.used) + " heals in the last " +
                   format_duration(o.fleet_budget.window_s) + " (--fleet-budget " + std::to_string(o.fleet_budget.limit) +
                   "/" + format_duration(o.fleet_budget.window_s) + ")";
        case fleet::Claim::Kind::concurrency:
        case fleet::Claim::Kind::waiting: return in_flight;
        default: return "";
    }
}

/// The service recovered: its problem is over.
int recovered(const Options& o, const std::string& host, const std::string& desc, const Words& w) {
    std::optional<std::string> earlier;
    try {
        earlier = fleet::FleetStore(o.state_dir).close(host, desc);
    } catch (const sqlite::Error& err) {
        log_line(std::string("warning: ") + err.what());
    }
    log_line("recovered: " + w.what + (earlier ? " (problem closed; decided before: " + *earlier + ")" : ""));
    return 0;
}

/// The heal itself: the listener's answer becomes a comment, or a page when it did not heal.
void heal(const Options& o, const Event& e, const std::string& host, const Words& w, const FleetView& view,
          fleet::FleetStore& store, std::int64_t heal_id, const Tell& tell) {
    // The event names where to connect and what name to verify; the file gives the rest.
    const ClientOverrides over{.host = e.address,
                               .server_name = !o.server_name.empty() ? o.server_name : host,
                               .timeout = o.timeout};
    ClientOptions copt;
    std::string why;
    try {
        copt = client_options(o.client_config, true, over);
    } catch (const ConfigError& err) {
        why = err.what();
        copt.server_name = *over.server_name;
    }
    log_line("acting: " + w.what + " (" + e.address + ", certificate name " + copt.server_name +
             (view.seen.empty() ? "" : "; " + view.seen) + ")");
    CallResult result;
    if (why.empty()) result = call_listener(copt, format_request(o.verb, e.service, false));
    else result.error = why;
    for (const auto& warning : result.warnings) log_line("warning: " + warning);
    const Reply& r = result.reply;
    const std::string outcome = !result.answered ? "no_answer" : std::string(to_string(r.outcome));
    try {
        store.finish(heal_id, now_ms(), outcome, r.id);
    } catch (const sqlite::Error& err) {
        log_line("warning: cannot record the end of the heal: " + std::string(err.what()));
    }
    const std::string cannot_fix = "heal could not fix " + e.service + " on " + host + ": ";
    if (!result.answered) {
        log_line("no answer: " + w.what + ": " + result.error);
        return tell.page(cannot_fix + "heal-listener could not be reached: " + result.error);
    }
    log_line("heal-listener: " + outcome + (r.reason == Reason::none ? "" : " (" + std::string(reason_string(r)) + ")") +
             ": " + r.message + " (id " + r.id + ")");
    const std::string after = " " + w.after + ", request id " + r.id;
    const std::string diag = r.diagnostics.empty() ? "" : "; diagnostics: heal-ctl -H " + e.address + " diagnostics " + r.diagnostics;
    if (r.outcome == Outcome::ok && r.verified != false) {
        const std::string done = r.verified == true && r.healthy_after_ms
                                     ? "done, verified healthy after " + seconds_text(static_cast<double>(*r.healthy_after_ms) / 1000)
                                     : "done";
        return tell.comment("heal: " + o.verb + " " + e.service + " " + done + after + diag);
    }
    if (r.outcome == Outcome::dry_run)
        return tell.comment("heal: " + o.verb + " " + e.service + " dry run only (nothing ran: dry_run = yes on the listener)" + after);
    if (r.outcome == Outcome::refused && r.reason == Reason::paused) {
        // A human holds the service on its host (heal-ctl pause): a hold, not a failure; nobody
        // is paged, and the problem stays decided.
        try {
            store.amend(tell.host, tell.service, "; held: paused on the host (request " + r.id + ")");
        } catch (const sqlite::Error& err) {
            log_line("warning: cannot record the hold with the problem: " + std::string(err.what()));
        }
        return tell.comment("heal: held on the host, " + r.message + after);
    }
    if (r.outcome == Outcome::refused && r.reason == Reason::healthy_here) {
        // Not a heal that failed: two views of one service that disagree. Remembered for the
        // problem, so later checks of it do not ask again; a human decides.
        try {
            store.amend(tell.host, tell.service, "; refused healthy_here (request " + r.id + ")");
        } catch (const sqlite::Error& err) {
            log_line("warning: cannot record the refusal with the problem: " + std::string(err.what()));
        }
        return tell.page("heal did not " + o.verb + " " + e.service + " on " + host +
                         ": the monitoring server and the host disagree. The service's own status on the host "
                         "says it is healthy, while this check says it is failing: a network partition between "
                         "them, or a check that is wrong? Nothing was run. heal-listener: " + r.message + after);
    }
    const std::string cause = r.outcome == Outcome::ok        ? "the " + o.verb + " ran, but the service is still failing"
                              : r.outcome == Outcome::refused ? "heal-listener refused the " + o.verb
                                                              : "the " + o.verb + " script failed";
    const std::string detail = r.outcome == Outcome::ok && !r.verify_status.empty() ? r.verify_status : r.message;
    tell.page(cannot_fix + cause + ": " + detail + after + diag);
}

/// A human holds the heal: said once per problem (a comment, never a page: nobody is paged for
/// a maintenance they planned), logged every time.
int held(const Options& o, const std::string& host, const std::string& desc, const std::string& why,
         const FleetView& view, const Words& w, const Tell& tell) {
    unsigned events = 1;
    try {
        events = fleet::FleetStore(o.state_dir).note_hold(host, desc, why, now_ms(), view.last_ok * 1000);
    } catch (const sqlite::Error& err) {
        log_line("warning: cannot remember the hold: " + std::string(err.what()));
    }
    log_line("held: " + w.what + ": " + why + (events > 1 ? " (event " + std::to_string(events) +
                                                                 " of this problem held; said once)" : ""));
    if (events == 1) tell.comment("heal: held, " + why + w.not_doing);
    return tell.exit_code();
}

}  // namespace

std::optional<StateType> parse_state_type(std::string_view w) {
    if (w == "SOFT") return StateType::soft;
    if (w == "HARD") return StateType::hard;
    return std::nullopt;
}

const char* to_string(StateType t) { return t == StateType::hard ? "HARD" : "SOFT"; }

void open_log(const std::string& path) {
    if (path.empty()) {
        log::use_syslog("heal-event-handler");
        return;
    }
    log_fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (log_fd < 0) log::use_syslog("heal-event-handler");  // a log must never stop a heal
}

void log_line(const std::string& text) {
    if (log_fd < 0) {
        log::info(text);
        return;
    }
    std::string line = utc_iso(now_ms()) + " heal-event-handler[" + std::to_string(::getpid()) +
                       "]: " + printable(text, 2000) + "\n";
    [[maybe_unused]] auto n = ::write(log_fd, line.data(), line.size());  // one write per line
}

FleetView judge(const fleet::UnhealthyLimit& max_unhealthy, const fleet::GroupHealth& g, std::int64_t last_ok,
                const std::string& label, const std::string& where, const std::string& limit_name) {
    FleetView v;
    v.last_ok = last_ok;
    const std::size_t allowed = max_unhealthy.allowed(g.size);
    v.seen = std::to_string(g.not_ok) + " of " + std::to_string(g.size) + " " + label + " not OK";
    if (g.without_state > 0)
        v.blocked_by = where + " has no state for " + std::to_string(g.without_state) + " of " +
                       std::to_string(g.size) + " " + label + " (" + g.first_without_state +
                       (g.without_state > 1 ? " and others" : "") +
                       "): cut short, or older than the configuration? Healing needs every member's state";
    else if (g.not_ok > allowed)
        v.blocked_by = "widespread failure: " + std::to_string(g.not_ok) + " of " + std::to_string(g.size) + " " +
                       label + " are not OK (" + limit_name + " " + max_unhealthy.to_string() + ": at most " +
                       std::to_string(allowed) + ")";
    return v;
}

std::optional<std::string> human_hold(const Options& o, const FleetView& v, const std::string& host,
                                      const std::string& service) {
    const auto& h = v.human;
    const auto note = [](const std::string& words) { return words.empty() ? std::string() : " (" + words + ")"; };
    if (!o.heal_in_downtime && o.service_downtime.value_or(h.downtime_depth) > 0)
        return service + " on " + host + " is in scheduled downtime" + note(h.downtime_note);
    if (!o.heal_in_downtime && o.host_downtime.value_or(h.host_downtime_depth) > 0)
        return "host " + host + " is in scheduled downtime" + note(h.host_downtime_note);
    if (!o.heal_acknowledged && h.acknowledged)
        return "the problem of " + service + " on " + host + " is acknowledged" + note(h.ack_note);
    return std::nullopt;
}

int handle(const Options& o, const Event& e, StatusSource& source, Notifier& notifier) {
    const std::string host = o.nagios_host.empty() ? e.address : o.nagios_host;
    const std::string desc = o.nagios_service.empty() ? e.service : o.nagios_service;
    const Words w(o, e, host);
    if (e.state == plugin::ok) return recovered(o, host, desc, w);
    if (e.state != plugin::critical && !(e.state == plugin::warning && o.on_warning))
        return log_line("no action: " + w.what + " (state not handled)"), 0;
    if (e.type == StateType::soft && e.attempt < o.attempt)
        return log_line("no action: " + w.what + " (waiting for SOFT attempt " + std::to_string(o.attempt) + ")"), 0;
    const Tell tell{notifier, host, desc};

    // A candidate. A human's hold first, then the fleet guard, then the problem is claimed
    // once, atomically.
    const FleetView view = source.view(host, desc, false);
    const std::int64_t now = now_ms();
    std::optional<fleet::FleetStore> store;
    if (auto why = human_hold(o, view, host, desc)) return held(o, host, desc, *why, view, w, tell);
    fleet::Claim claim;
    try {
        store.emplace(o.state_dir);
        claim = store->claim({.host = host,
                              .service = desc,
                              .blocked_by = view.blocked_by,
                              .decision = o.verb + " at " + plugin::state_word(e.state) + " " + to_string(e.type) + " " +
                                          std::to_string(e.attempt),
                              .dry_run = o.dry_run,
                              .last_chance = e.type == StateType::hard,  // no handler runs on later HARD checks
                              .now_ms = now,
                              .deadline_ms = now + to_ms(o.timeout + 5),
                              .last_ok_ms = view.last_ok * 1000},
                             {o.fleet_budget.limit, to_ms(o.fleet_budget.window_s), o.fleet_concurrency});
    } catch (const sqlite::Error& err) {
        log_line("cannot decide: " + w.what + ": " + err.what());
        tell.page("fleet guard: the event handler's state is unavailable (" + std::string(err.what()) + ")" + w.not_doing);
        return tell.exit_code();
    }
    if (!claim.forgotten.empty())
        log_line("earlier decision dropped (" + claim.forgotten + "): Nagios saw " + desc + " OK at " +
                 utc_iso(view.last_ok * 1000) + ", after it: that problem ended without a recovery event here");
    const std::string seen = view.seen.empty() ? "" : " (" + view.seen + ")";
    switch (claim.kind) {
        case fleet::Claim::Kind::already:
            log_line("no action: " + w.what + " (already decided for this problem: " + claim.earlier + ")");
            return 0;
        case fleet::Claim::Kind::waiting:
            log_line("waiting: " + w.what + ": " + guard_words(o, claim, view) + "; the next attempt decides");
            return 0;
        case fleet::Claim::Kind::dry_run:
            log_line("dry run: would " + o.verb + ": " + w.what + seen);
            tell.comment("dry run: would " + o.verb + " " + e.service + " on " + host + " " + w.after + seen +
                    ". Nothing was done.");
            return tell.exit_code();
        case fleet::Claim::Kind::heal: heal(o, e, host, w, view, *store, claim.heal_id, tell); return tell.exit_code();
        case fleet::Claim::Kind::blocked:
        case fleet::Claim::Kind::budget:
        case fleet::Claim::Kind::concurrency: break;
    }
    const std::string guard = guard_words(o, claim, view);
    log_line("blocked: " + w.what + ": " + guard);
    if (o.dry_run)
        tell.comment("dry run: would page: fleet guard: " + guard + w.not_doing);
    else
        tell.page("fleet guard: " + guard + w.not_doing);
    return tell.exit_code();
}

}  // namespace heal::handler
