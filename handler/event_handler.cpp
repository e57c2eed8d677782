#include "event_handler.hpp"

#include "client.hpp"
#include "client_config.hpp"
#include "fleet_store.hpp"
#include "log.hpp"
#include "nagios_command.hpp"
#include "status_file.hpp"
#include "text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>

namespace heal::handler {

namespace {

int log_fd = -1;
constexpr const char* author = "heal";

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f s", s);
    return buf;
}

/// What Nagios' status data says about healing this service.
struct StatusView {
    std::optional<std::string> blocked_by;  ///< the fleet guard's reason not to heal, in words
    std::string seen;                       ///< "1 of 4 'worker' services not OK"
    std::int64_t last_ok = 0;               ///< when Nagios last saw this service OK (epoch s)
};

StatusView status_guard(const Options& o, const Event& e, const std::string& host,
                        const std::string& desc) {
    StatusView v;
    const nagios::Group group{desc, o.servicegroup};
    const std::string label = o.servicegroup.empty() ? "'" + desc + "' services"
                                                     : "services in group '" + o.servicegroup + "'";
    // Who the group is comes from what Nagios defines, never from whoever status.dat happens
    // to list: a status file cut short must not shrink the fleet.
    nagios::Members members;
    try {
        members = nagios::read_members_file(o.objects_file, group);
    } catch (const nagios::StatusError& err) {
        v.blocked_by = "cannot read the group's members: " + std::string(err.what());
        return v;
    }
    // With a service group, this service too, for its last OK time.
    const nagios::ServiceFilter keep = [&](const std::string& h, const std::string& s) {
        return o.servicegroup.empty() ? s == desc
                                      : (h == host && s == desc) ||
                                            std::binary_search(members.begin(), members.end(), std::make_pair(h, s));
    };
    nagios::StatusData status;
    try {
        status = nagios::read_status_file(o.status_file, keep);
    } catch (const nagios::StatusError& err) {
        v.blocked_by = "cannot use Nagios' status data: " + std::string(err.what());
        return v;
    }
    for (const auto& s : status.services)
        if (s.host == host && s.service == desc) v.last_ok = s.last_ok;
    const std::int64_t now = std::time(nullptr);
    const double age = static_cast<double>(now - status.created);
    if (age > o.max_status_age || age < -o.max_status_age) {
        v.blocked_by = "Nagios' status file '" + o.status_file + "' was written " +
                       format_duration(std::fabs(age)) + (age < 0 ? " in the future" : " ago") +
                       " (--max-status-age " + format_duration(o.max_status_age) +
                       "): is Nagios running?";
        return v;
    }
    auto g = fleet::group_health(members, status, host, desc, e.state == "OK");
    const std::size_t allowed = o.max_unhealthy.allowed(g.size);
    v.seen = std::to_string(g.not_ok) + " of " + std::to_string(g.size) + " " + label + " not OK";
    if (g.without_state > 0)
        v.blocked_by = "Nagios' status file '" + o.status_file + "' has no state for " +
                       std::to_string(g.without_state) + " of " + std::to_string(g.size) + " " + label +
                       " (" + g.first_without_state + (g.without_state > 1 ? " and others" : "") +
                       "): cut short, or older than Nagios' configuration? Healing needs every member's state";
    else if (g.not_ok > allowed)
        v.blocked_by = "widespread failure: " + std::to_string(g.not_ok) + " of " +
                       std::to_string(g.size) + " " + label + " are not OK (--max-unhealthy " +
                       o.max_unhealthy.to_string() + ": at most " + std::to_string(allowed) + ")";
    return v;
}

}  // namespace

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

int handle(const Options& o, const Event& e) {
    const std::string host = o.nagios_host.empty() ? e.address : o.nagios_host;
    const std::string desc = o.nagios_service.empty() ? e.service : o.nagios_service;
    const std::string what = e.state + " " + e.state_type + " attempt " + std::to_string(e.attempt) +
                             ", " + o.verb + " " + e.service + " on " + host;
    // A page's sentence, after the guard's (a ';' would end the Nagios command's field).
    const std::string not_doing = ". Not " + std::string(o.verb == "stop" ? "stopping" : o.verb + "ing") +
                                  " " + e.service + " on " + host + ".";
    auto tell = [&](const std::string& command, const std::string& text) {
        auto err = nagios::send_command(
            o.command_file, command + ";" + host + ";" + desc + ";" +
                                (command == "ADD_SVC_COMMENT" ? "1;" : "2;") + author + ";" +
                                nagios::command_field(text));
        if (!err.empty()) log_line("cannot tell Nagios (" + err + "): " + command + ": " + text);
    };
    // Options 2 = forced: a heal that did not happen must reach a human.
    auto page = [&](const std::string& text) { tell("SEND_CUSTOM_SVC_NOTIFICATION", text); };
    auto comment = [&](const std::string& text) { tell("ADD_SVC_COMMENT", text); };

    std::optional<fleet::FleetStore> store;
    std::string store_error;
    auto open_store = [&] {
        try {
            store.emplace(o.state_dir);
        } catch (const sqlite::Error& err) {
            store_error = err.what();
        }
    };

    if (e.state == "OK") {
        std::optional<std::string> earlier;
        open_store();
        if (store) {
            try {
                earlier = store->close(host, desc);
            } catch (const sqlite::Error& err) {
                store_error = err.what();
            }
        }
        if (!store_error.empty()) log_line("warning: " + store_error);
        log_line("recovered: " + what + (earlier ? " (problem closed; decided before: " + *earlier + ")" : ""));
        return 0;
    }
    if (e.state != "CRITICAL" && !(e.state == "WARNING" && o.on_warning)) {
        log_line("no action: " + what + " (state not handled)");
        return 0;
    }
    if (e.state_type == "SOFT" && e.attempt < o.attempt) {
        log_line("no action: " + what + " (waiting for SOFT attempt " + std::to_string(o.attempt) + ")");
        return 0;
    }

    // A candidate. The fleet guard first, then the problem is claimed once, atomically.
    const auto [blocked_by, seen, last_ok] = status_guard(o, e, host, desc);
    open_store();
    if (!store) {
        log_line("cannot decide: " + what + ": " + store_error);
        page("fleet guard: the event handler's state is unavailable (" + store_error + ")" + not_doing);
        return 0;
    }
    const std::int64_t now = now_ms();
    const fleet::Limits limits{o.fleet_budget.limit, to_ms(o.fleet_budget.window_s), o.fleet_concurrency};
    fleet::Claim claim;
    try {
        claim = store->claim(
            {.host = host,
             .service = desc,
             .blocked_by = blocked_by,
             .decision = o.verb + " at " + e.state + " " + e.state_type + " " + std::to_string(e.attempt),
             .dry_run = o.dry_run,
             .last_chance = e.state_type == "HARD",  // Nagios runs no handler on later HARD checks
             .now_ms = now,
             .deadline_ms = now + to_ms(o.timeout + 5),
             .last_ok_ms = last_ok * 1000},
            limits);
    } catch (const sqlite::Error& err) {
        log_line("cannot decide: " + what + ": " + err.what());
        page("fleet guard: the event handler's state is unavailable (" + std::string(err.what()) + ")" +
             not_doing);
        return 0;
    }
    if (!claim.forgotten.empty())
        log_line("earlier decision dropped (" + claim.forgotten + "): Nagios saw " + desc + " OK at " +
                 utc_iso(last_ok * 1000) + ", after it: that problem ended without a recovery event here");
    const std::string budget_text = std::to_string(o.fleet_budget.limit) + "/" +
                                    format_duration(o.fleet_budget.window_s);
    const std::string in_flight = std::to_string(claim.used) + (claim.used == 1 ? " heal" : " heals") +
                                  " already in flight (--fleet-concurrency " + std::to_string(o.fleet_concurrency) +
                                  ")";
    std::string guard;
    switch (claim.kind) {
        case fleet::Claim::Kind::already:
            log_line("no action: " + what + " (already decided for this problem: " + claim.earlier + ")");
            return 0;
        case fleet::Claim::Kind::blocked: guard = *blocked_by; break;
        case fleet::Claim::Kind::budget:
            guard = "fleet budget spent: " + std::to_string(claim.used) + " heals in the last " +
                    format_duration(o.fleet_budget.window_s) + " (--fleet-budget " + budget_text + ")";
            break;
        case fleet::Claim::Kind::concurrency: guard = in_flight; break;
        case fleet::Claim::Kind::waiting:
            log_line("waiting: " + what + ": " + in_flight + "; the next attempt decides");
            return 0;
        case fleet::Claim::Kind::dry_run:
            log_line("dry run: would " + o.verb + ": " + what + (seen.empty() ? "" : " (" + seen + ")"));
            comment("dry run: would " + o.verb + " " + e.service + " on " + host + " after " + e.state +
                    " " + e.state_type + " attempt " + std::to_string(e.attempt) +
                    (seen.empty() ? "" : " (" + seen + ")") + ". Nothing was done.");
            return 0;
        case fleet::Claim::Kind::heal: break;
    }
    if (!guard.empty()) {
        log_line("blocked: " + what + ": " + guard);
        if (o.dry_run)
            comment("dry run: would page: fleet guard: " + guard + not_doing);
        else
            page("fleet guard: " + guard + not_doing);
        return 0;
    }

    // Heal.
    ClientOptions copt;
    std::string why;
    if (::access(o.client_config.c_str(), F_OK) == 0) {
        try {
            load_client_config(o.client_config, copt);
        } catch (const ConfigError& err) {
            why = err.what();
        }
    } else {
        why = "no client configuration '" + o.client_config + "'";
    }
    copt.host = e.address;
    copt.server_name = !o.server_name.empty() ? o.server_name : host;
    copt.timeout = o.timeout;
    log_line("acting: " + what + " (" + e.address + ", certificate name " + copt.server_name +
             (seen.empty() ? "" : "; " + seen) + ")");
    CallResult result;
    if (why.empty()) result = call_listener(copt, format_request(o.verb, e.service, false));
    else result.error = why;
    for (const auto& w : result.warnings) log_line("warning: " + w);
    const Reply& r = result.reply;
    std::string outcome = !result.answered ? "no_answer" : std::string(to_string(r.outcome));
    try {
        store->finish(claim.heal_id, now_ms(), outcome, r.id);
    } catch (const sqlite::Error& err) {
        log_line("warning: cannot record the end of the heal: " + std::string(err.what()));
    }
    if (!result.answered) {
        log_line("no answer: " + what + ": " + result.error);
        page("heal could not fix " + e.service + " on " + host + ": heal-listener could not be reached: " +
             result.error);
        return 0;
    }
    log_line("heal-listener: " + outcome + (r.reason == Reason::none ? "" : " (" + std::string(reason_string(r)) + ")") +
             ": " + r.message + " (id " + r.id + ")");
    const std::string after = " after " + e.state + " " + e.state_type + " attempt " + std::to_string(e.attempt) +
                              ", request id " + r.id;
    const std::string diag = r.diagnostics.empty()
                                 ? ""
                                 : "; diagnostics: heal-ctl -H " + e.address + " diagnostics " + r.diagnostics;
    if (r.outcome == Outcome::ok && r.verified != false) {
        std::string done = "done";
        if (r.verified == true && r.healthy_after_ms)
            done = "done, verified healthy after " + seconds_text(static_cast<double>(*r.healthy_after_ms) / 1000);
        comment("heal: " + o.verb + " " + e.service + " " + done + after + diag);
    } else if (r.outcome == Outcome::dry_run) {
        comment("heal: " + o.verb + " " + e.service + " dry run only (nothing ran: dry_run = yes on the listener)" + after);
    } else {
        std::string cause = r.outcome == Outcome::ok      ? "the " + o.verb + " ran, but the service is still failing"
                            : r.outcome == Outcome::refused ? "heal-listener refused the " + o.verb
                                                            : "the " + o.verb + " script failed";
        std::string detail = r.outcome == Outcome::ok && !r.verify_status.empty() ? r.verify_status : r.message;
        page("heal could not fix " + e.service + " on " + host + ": " + cause + ": " + detail + after + diag);
    }
    return 0;
}

}  // namespace heal::handler
