#include "handler/event_handler.hpp"

#include "common/client.hpp"
#include "common/client_config.hpp"
#include "fleet/heal_call.hpp"
#include "fleet/store.hpp"
#include "common/log.hpp"
#include "common/text.hpp"

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
std::string guard_words(const Options& o, const fleet::Claim& c, const fleet::FleetView& view) {
    return fleet::guard_words(c, view.blocked_by, o.fleet_budget, o.fleet_concurrency);
}

/// The service recovered: its problem is over.
int recovered(const Options& o, const std::string& host, const std::string& desc, const Words& w) {
    std::optional<std::string> earlier;
    try {
        earlier = fleet::open_store(store_spec(o))->close(host, desc);
    } catch (const fleet::StoreError& err) {
        log_line(std::string("warning: ") + err.what());
    }
    log_line("recovered: " + w.what + (earlier ? " (problem closed; decided before: " + *earlier + ")" : ""));
    return 0;
}

/// Remembers how the problem's heal ended, for its later events ("already decided: ...").
void remember(fleet::Store& store, const Tell& tell, const std::string& outcome) {
    try {
        store.set_outcome(tell.host, tell.service, outcome);
    } catch (const fleet::StoreError& err) {
        log_line("warning: cannot record the outcome with the problem: " + std::string(err.what()));
    }
}

/// The heal itself: the listener's answer becomes a comment, or a page when it did not heal.
void heal(const Options& o, const Event& e, const Words& w, const fleet::FleetView& view, fleet::Store& store,
          std::int64_t heal_id, const Tell& tell) {
    // The event names where to connect and what name to verify; the file gives the rest.
    const auto call = fleet::prepare_call(o.client_config, {.host = e.address,
                                                            .server_name = !o.server_name.empty() ? o.server_name : tell.host,
                                                            .timeout = o.timeout});
    log_line("acting: " + w.what + " (" + e.address + ", certificate name " + call.options.server_name +
             (view.seen.empty() ? "" : "; " + view.seen) + ")");
    const CallResult result = fleet::call(call, o.verb, e.service);
    for (const auto& warning : result.warnings) log_line("warning: " + warning);
    const fleet::HealOutcome h = fleet::interpret(result, o.verb);
    try {
        store.finish(heal_id, now_ms(), h.listener_outcome, h.request_id);
    } catch (const fleet::StoreError& err) {
        log_line("warning: cannot record the end of the heal: " + std::string(err.what()));
    }
    if (h.kind == fleet::HealOutcome::Kind::no_answer) {
        log_line("no answer: " + w.what + ": " + result.error);
        return tell.page("heal could not fix " + e.service + " on " + tell.host + ": " + h.said);
    }
    const Reply& r = result.reply;
    log_line("heal-listener: " + h.listener_outcome +
             (r.reason == Reason::none ? "" : " (" + std::string(reason_string(r)) + ")") + ": " + r.message +
             " (id " + r.id + ")");
    const std::string after = " " + w.after + ", request id " + r.id;
    const std::string diag = r.diagnostics.empty() ? "" : "; diagnostics: heal-ctl -H " + e.address + " diagnostics " + r.diagnostics;
    using Kind = fleet::HealOutcome::Kind;
    switch (h.kind) {
        case Kind::healed: return tell.comment("heal: " + o.verb + " " + e.service + " " + h.done + after + diag);
        case Kind::dry_run: return tell.comment("heal: " + o.verb + " " + e.service + " " + h.done + after);
        case Kind::held:
            // A human holds the service on its host (heal-ctl pause): a hold, not a failure; nobody
            // is paged, and the problem stays decided.
            remember(store, tell, "held: paused on the host (request " + r.id + ")");
            return tell.comment("heal: " + h.said + after);
        case Kind::partition:
            // Not a heal that failed: two views of one service that disagree. Remembered for the
            // problem, so later checks of it do not ask again; a human decides.
            remember(store, tell, "refused healthy_here (request " + r.id + ")");
            return tell.page(fleet::partition_sentence(o.verb, e.service, tell.host, "the monitoring server",
                                                       "this check", r.message) + after);
        default: return tell.page("heal could not fix " + e.service + " on " + tell.host + ": " + h.said + after + diag);
    }
}

/// A human holds the heal: said once per problem (a comment, never a page: nobody is paged for
/// a maintenance they planned), logged every time.
int held(const Options& o, const std::string& host, const std::string& desc, const std::string& why,
         const fleet::FleetView& view, const Words& w, const Tell& tell) {
    unsigned events = 1;
    try {
        events = fleet::open_store(store_spec(o))->note_hold(host, desc, why, now_ms(), view.last_ok * 1000);
    } catch (const fleet::StoreError& err) {
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

fleet::StoreSpec store_spec(const Options& o) {
    return {.state_dir = o.state_dir, .file_name = "event-handler.db", .conninfo_file = o.store_conninfo};
}

std::optional<std::string> human_hold(const Options& o, const fleet::FleetView& v, const std::string& host,
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

namespace {

/// The problem claimed once, atomically, in the fleet store; nullopt (paged) when the store
/// cannot decide: never a heal without a claim.
std::optional<fleet::Claim> claim_problem(const Options& o, const Event& e, const fleet::FleetView& view,
                                          fleet::Store*& store, std::unique_ptr<fleet::Store>& owner,
                                          const Words& w, const Tell& tell) {
    const std::int64_t now = now_ms();
    try {
        owner = fleet::open_store(store_spec(o));
        store = owner.get();
        return store->claim({.host = tell.host,
                             .service = tell.service,
                             .blocked_by = view.blocked_by,
                             .decision = o.verb + " at " + plugin::state_word(e.state) + " " + to_string(e.type) + " " +
                                         std::to_string(e.attempt),
                             .dry_run = o.dry_run,
                             .last_chance = e.type == StateType::hard,  // no handler runs on later HARD checks
                             .now_ms = now,
                             .deadline_ms = now + to_ms(o.timeout + 5),
                             .last_ok_ms = view.last_ok * 1000},
                            {o.fleet_budget.limit, to_ms(o.fleet_budget.window_s), o.fleet_concurrency});
    } catch (const fleet::StoreError& err) {
        log_line("cannot decide: " + w.what + ": " + err.what());
        tell.page("fleet guard: cannot reach the fleet store (" + std::string(err.what()) + ")" + w.not_doing);
        return std::nullopt;
    }
}

}  // namespace

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
    const fleet::FleetView view = source.view(host, desc, false);
    if (auto why = human_hold(o, view, host, desc)) return held(o, host, desc, *why, view, w, tell);
    fleet::Store* store = nullptr;
    std::unique_ptr<fleet::Store> owner;
    const auto claim = claim_problem(o, e, view, store, owner, w, tell);
    if (!claim) return tell.exit_code();
    if (!claim->forgotten.empty())
        log_line("earlier decision dropped (" + claim->forgotten + "): Nagios saw " + desc + " OK at " +
                 utc_iso(view.last_ok * 1000) + ", after it: that problem ended without a recovery event here");
    const std::string seen = view.seen.empty() ? "" : " (" + view.seen + ")";
    switch (claim->kind) {
        case fleet::Claim::Kind::already:
            log_line("no action: " + w.what + " (already decided for this problem: " + claim->earlier + ")");
            return 0;
        case fleet::Claim::Kind::waiting:
            log_line("waiting: " + w.what + ": " + guard_words(o, *claim, view) + "; the next attempt decides");
            return 0;
        case fleet::Claim::Kind::dry_run:
            log_line("dry run: would " + o.verb + ": " + w.what + seen);
            tell.comment("dry run: would " + o.verb + " " + e.service + " on " + host + " " + w.after + seen +
                         ". Nothing was done.");
            return tell.exit_code();
        case fleet::Claim::Kind::heal: heal(o, e, w, view, *store, claim->heal_id, tell); return tell.exit_code();
        case fleet::Claim::Kind::blocked:
        case fleet::Claim::Kind::budget:
        case fleet::Claim::Kind::concurrency: break;
    }
    const std::string guard = guard_words(o, *claim, view);
    log_line("blocked: " + w.what + ": " + guard);
    if (o.dry_run)
        tell.comment("dry run: would page: fleet guard: " + guard + w.not_doing);
    else
        tell.page("fleet guard: " + guard + w.not_doing);
    return tell.exit_code();
}

}  // namespace heal::handler
