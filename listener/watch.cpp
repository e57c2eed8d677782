#include "listener/watch.hpp"

#include "common/clock.hpp"
#include "listener/decide.hpp"
#include "listener/guard.hpp"
#include "listener/session.hpp"
#include "listener/store_thread.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "listener/verbs.hpp"

#include <boost/asio.hpp>

#include <sys/random.h>

#include <random>

namespace heal {

using asio::as_tuple;
using asio::use_awaitable;

namespace {

/// At most this many report commands at once; more are dropped, and logged.
constexpr unsigned max_reports_in_flight = 8;

/// The service's watch settings in `rt`, or null when it is not (or no longer) watched.
const ServiceConfig* watched(const RuntimePtr& rt, const std::string& service) {
    auto it = rt->cfg.services.find(service);
    return it == rt->cfg.services.end() || it->second.watch_s <= 0 ? nullptr : &it->second;
}

std::minstd_rand seeded() {
    unsigned seed = 0;
    if (::getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<unsigned>(now_ms());
    return std::minstd_rand(seed);
}

/// The interval with +-10% jitter, so that a fleet started together does not check in step.
std::chrono::steady_clock::duration jittered(double interval_s, std::minstd_rand& rng) {
    std::uniform_real_distribution<double> spread(0.9, 1.1);
    return steady_duration(interval_s * spread(rng));
}

/// Runs the report command for `r` with Nagios state `state`, without waiting for it; its
/// failures are logged.
void report(ListenerState& st, asio::any_io_executor ex, const Runtime& rt, const Reply& r, const std::string& verb,
            int state) {
    if (!rt.cfg.report) return;
    if (st.reports_in_flight >= max_reports_in_flight) {
        log::warning("watch " + r.service + ": report of " + r.id + " dropped: " +
                     std::to_string(max_reports_in_flight) + " reports still running");
        return;
    }
    ActionSpec spec{rt.cfg.report->argv, verb, r.service, r.id, "local", rt.cfg.report_timeout_s, 4096,
                    report_env(r, state), true};
    ++st.reports_in_flight;
    asio::co_spawn(
        ex,
        [&st, spec = std::move(spec)]() -> asio::awaitable<void> {
            struct Done {
                ListenerState& st;
                ~Done() { --st.reports_in_flight; }
            } done{st};
            ActionResult res = co_await run_action(spec);
            const std::string who = "watch " + spec.service + ": report of " + spec.request_id;
            if (!res.exec_error.empty())
                log::error(who + " not sent: " + res.exec_error);
            else if (res.timed_out)
                log::error(who + " timed out (report_timeout); killed");
            else if (res.signal || res.exit_code.value_or(1) != 0)
                log::error(who + " failed (" +
                           (res.signal ? "signal " + std::to_string(*res.signal)
                                       : "exit " + std::to_string(res.exit_code.value_or(-1))) +
                           "): " + first_line(res.output));
        },
        log::escaped_in("watch " + r.service + ": report of " + r.id));
}

/// Why the loop must not heal `service` now (paused, quarantined), read from the store without
/// a lock; "" when it may. decide() says the same again under the lock; this only spares the
/// audit a refusal per round while a pause or a quarantine lasts.
std::string holding(ListenerState& st, const ListenerConfig& cfg, const ServiceConfig& svc) {
    if (svc.watch_paused) return "paused: watch_paused = yes in heal.ini";
    if (!ensure_store(st, cfg)) return {};  // decide() refuses, and that is worth a record
    std::string why;
    with_store("watch " + svc.name, "read the quarantine", [&] {
        const auto now = now_ms();
        GuardState g = st.store->guard_state(svc.name, now);
        if (auto h = active_hold(g, now)) why = hold_text(*h);
        else if (auto q = active_quarantine(svc, g, now)) why = "quarantined: " + q->why;
    });
    return why;
}

/// One heal as the client `watch`: dispatch(), the final record, the report.
asio::awaitable<void> heal(ListenerState& st, const RuntimePtr& rt, const ServiceConfig& svc, WatchState& ws) {
    ClientRule rule;  // what the watch may do: its heal verb on this one service
    rule.name = watch_client;
    rule.verbs = {svc.heal_verb};
    rule.all_services = false;
    rule.services = {svc.name};
    Identity who;
    who.rule = &rule;
    who.rules_configured = true;
    who.subject = "heal-listener watch loop";
    Request req;
    req.verb = svc.heal_verb;
    req.service = svc.name;
    Record rec;
    rec.peer = "local";
    rec.client = watch_client;
    rec.trigger = std::to_string(ws.count.failures) + " non-OK status run" + (ws.count.failures == 1 ? "" : "s") +
                  " in a row: " + ws.last_status;
    Reply& reply = rec.reply;
    reply.id = new_uuid();
    reply.verb = to_string(req.verb);
    reply.service = svc.name;
    const std::string tag = "watch " + svc.name;
    log::warning(tag + ": " + rec.trigger + "; " + reply.verb + " (" + reply.id + ")");
    const RuntimePtr keep = rt;  // the configuration this heal started with, whatever a reload does
    co_await dispatch(st, *keep, req, who, rec, tag);
    if (reply.outcome == Outcome::refused)
        log::warning(tag + " " + reply.id + " refused: " + reply.message);
    else
        log::info(tag + " " + reply.id + " " + std::string(to_string(reply.outcome)) + ": " + reply.message);
    co_await on_audit(st, [&] { audit_or_keep(st, rec.to_json()); });
    ws.last_heal_id = reply.id;
    ws.last_heal_ms = now_ms();
    ws.last_heal_outcome = reply.outcome == Outcome::refused ? "refused: " + std::string(reason_string(reply))
                                                             : std::string(to_string(reply.outcome));
    ++ws.heals[std::string(to_string(reply.outcome))];
    std::string since;
    const int state = healed_state(ws.count, reply, since);
    // For the monitoring server's screen: what happened, why, and the id to look it up by.
    Reply told = reply;
    told.message = (reply.outcome == Outcome::refused ? "did not " + reply.verb + " " + svc.name + ", refused: "
                                                       : reply.verb + " " + svc.name + " by the watch loop: ") +
                   reply.message + (state == 1 && reply.outcome == Outcome::ok ? ", not yet seen healthy" : "") + since +
                   " (after " + rec.trigger + "; request " + reply.id + ")";
    report(st, co_await asio::this_coro::executor, *keep, told, reply.verb, state);
}

}  // namespace

std::chrono::steady_clock::time_point on_tick(std::chrono::steady_clock::time_point at, double interval_s) {
    using namespace std::chrono;
    const auto tick = std::min<steady_clock::duration>(milliseconds(100), steady_duration(interval_s / 10));
    if (tick.count() <= 0) return at;
    return steady_clock::time_point((at.time_since_epoch() + tick - steady_clock::duration(1)) / tick * tick);
}

int watch_state(const Reply& r) {
    switch (r.outcome) {
        // Healed only when verify saw it healthy; else the next status run will tell.
        case Outcome::ok: return r.verified == false ? 2 : r.verified == true ? 0 : 1;
        case Outcome::dry_run: return 1;
        case Outcome::refused:
            switch (r.reason) {
                case Reason::busy:
                case Reason::cooldown:
                case Reason::global_cap:
                case Reason::shutting_down: return 1;
                default: return 2;  // quarantined, budget exhausted, no store or audit, not allowed
            }
        default: return 2;
    }
}

WatchAction watch_step(WatchCount& c, bool ok, unsigned heal_after) {
    if (ok) {
        c.failures = 0;
        c.heals_unseen_ok = 0;
        const bool recovered = c.reported_problem;
        c.reported_problem = false;
        return recovered ? WatchAction::report_recovery : WatchAction::nothing;
    }
    if (c.failures < heal_after) ++c.failures;
    return c.failures < heal_after ? WatchAction::nothing : WatchAction::heal;
}

int healed_state(WatchCount& c, const Reply& r, std::string& why) {
    // Healed only once the service is seen OK: a heal that ran is a warning until then, and a
    // heal after one the service was never seen OK since is a crash loop, critical.
    int state = watch_state(r);
    why.clear();
    if (r.outcome == Outcome::ok && c.heals_unseen_ok > 0) {
        state = 2;
        why = "; not seen healthy since the previous " + r.verb + " (" + std::to_string(c.heals_unseen_ok + 1) +
              " in a row)";
    }
    if (r.outcome == Outcome::ok) ++c.heals_unseen_ok;
    c.reported_problem = state != 0;
    return state;
}

std::vector<std::string> report_env(const Reply& r, int state) {
    return {"HEAL_OUTCOME=" + std::string(to_string(r.outcome)),
            "HEAL_REASON=" + std::string(reason_string(r)),
            "HEAL_ID=" + r.id,
            "HEAL_MESSAGE=" + printable(r.message, 1000),
            "HEAL_STATE=" + std::to_string(state)};
}

asio::awaitable<void> watch_loop(ListenerState& st, const RuntimePtr& current, std::string service) {
    WatchState& ws = st.watches[service];  // std::map: the reference stays valid
    ws.running = true;
    ws.pause = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    struct Off {
        WatchState& ws;
        ~Off() { ws.running = false; }
    } off{ws};
    auto rng = seeded();
    for (;;) {
        const ServiceConfig* svc = watched(current, service);
        if (st.stopping || !svc) break;
        ws.pause->expires_at(on_tick(std::chrono::steady_clock::now() + jittered(svc->watch_s, rng), svc->watch_s));
        co_await ws.pause->async_wait(as_tuple(use_awaitable));
        const RuntimePtr rt = current;  // this round's configuration, kept alive through it
        svc = watched(rt, service);
        if (st.stopping || !svc) break;

        Request req;
        req.verb = Verb::status;
        req.service = service;
        Record rec;
        rec.peer = "local";
        rec.reply.id = new_uuid();
        rec.reply.verb = to_string(req.verb);
        rec.reply.service = service;
        co_await run_status(st, *rt, req, rec);
        const Reply& r = rec.reply;
        ws.last_run_ms = now_ms();
        ws.last_ok = r.outcome == Outcome::ok;
        ws.last_status = first_line(r.output);
        if (ws.last_status.empty()) ws.last_status = r.message;
        ++ws.runs[ws.last_ok ? "ok" : "failed"];
        if (ws.last_ok) ws.holding.clear();
        const WatchAction next = watch_step(ws.count, ws.last_ok, svc->heal_after);
        if (next == WatchAction::report_recovery) {  // the monitoring server saw a problem: it is over
            Reply healthy = r;
            healthy.message = service + " is healthy again: " + ws.last_status;
            report(st, ws.pause->get_executor(), *rt, healthy, "status", 0);
        }
        if (next != WatchAction::heal) continue;
        const std::string hold = co_await on_store(st, [&] { return holding(st, rt->cfg, *svc); });
        if (!hold.empty()) {
            if (ws.holding != hold) log::warning("watch " + service + ": failing, not healed: " + hold);
            ws.holding = hold;
            continue;  // watching goes on; healing waits for `heal-ctl reset`
        }
        ws.holding.clear();
        co_await heal(st, rt, *svc, ws);
        ws.count.failures = 0;
    }
}

void start_watches(ListenerState& st, const RuntimePtr& current, asio::any_io_executor ex) {
    for (const auto& [name, svc] : current->cfg.services) {
        if (svc.watch_s <= 0 || st.watches[name].running) continue;
        log::info("watching " + name + " every " + format_duration(svc.watch_s) + "; " +
                  std::string(to_string(svc.heal_verb)) + " after " + std::to_string(svc.heal_after) +
                  " non-OK status run" + (svc.heal_after == 1 ? "" : "s") + " in a row" +
                  (svc.check ? " (in-process: " + svc.check->url + ")" : ""));
        asio::co_spawn(ex, watch_loop(st, current, name), log::escaped_in("watch " + name));
    }
}

void stop_watches(ListenerState& st) {
    for (auto& [name, ws] : st.watches)
        if (ws.pause) ws.pause->cancel();
}

}  // namespace heal
