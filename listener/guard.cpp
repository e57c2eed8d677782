#include "listener/guard.hpp"

#include "listener/diagnostics.hpp"
#include "listener/store_thread.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <boost/json.hpp>

#include <signal.h>

#include <algorithm>
#include <future>
#include <map>
#include <set>


namespace heal {

namespace json = boost::json;

namespace {

std::int64_t window_ms(const ServiceConfig& svc) {
    return svc.budget ? to_ms(svc.budget->window_s) : 0;
}

/// The holder of the service lock is gone (we hold it now): close `a` as lost. False when its
/// record cannot be written (then it stays open).
bool close_lost(ListenerState& st, const ActionStart& a, std::int64_t now) {
    std::string fate;
    if (a.pid > 0 && a.pid_start != 0 && process_start_time(a.pid) == a.pid_start) {
        // The orphan would otherwise run beside the next action on this service.
        ::kill(-a.pid, SIGKILL);
        ::kill(a.pid, SIGKILL);
        fate = "its script (pid " + std::to_string(a.pid) + ") was still running and was killed "
               "with its process group";
    } else {
        fate = "its script is no longer running; its result is unknown";
    }
    std::string message = "the listener that ran this " + std::string(to_string(a.verb)) +
                          " died before it ended; " + fate;
    json::object rec;
    rec["record"] = "final";
    rec["id"] = a.id;
    rec["outcome"] = to_string(Outcome::lost);
    rec["reason"] = to_string(Reason::listener_died);
    rec["message"] = message;
    rec["verb"] = to_string(a.verb);
    rec["service"] = a.service;
    rec["client"] = a.client;
    rec["subject"] = a.subject;
    rec["forced"] = a.forced;
    rec["started"] = utc_iso(a.started_ms);
    rec["pid"] = a.pid;
    // On record before the store closes it: a crash between the two writes the record again at
    // the next start (twice on record), never loses it (once closed in the store, nothing would
    // write it again). The audit thread writes it; this, on the store thread, waits.
    // Bounded: a record the audit thread never takes (it has stopped) leaves the action open.
    auto written = std::make_shared<std::promise<bool>>();
    auto done = written->get_future();
    boost::asio::post(st.audit_thread, [&st, written, rec] { written->set_value(audit_now(st, rec)); });
    if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready || !done.get()) {
        log::error("action " + a.id + " (" + std::string(to_string(a.verb)) + " " + a.service +
                   ") was lost, and its record cannot be written to the audit log: it stays open until "
                   "it can (the next action on the service, or the next start)");
        return false;
    }
    with_store("", "close lost action " + a.id, [&] { st.store->end(a.id, now, Outcome::lost, Reason::listener_died); });
    log::warning("action " + a.id + " (" + std::string(to_string(a.verb)) + " " + a.service +
                 ", started " + utc_iso(a.started_ms) + ") lost: " + message);
    return true;
}

/// info's "paused": the hold in force (the service's or the host's), else watch_paused = yes
/// (the watch loop only, no end), else null.
json::value paused_info(const ServiceConfig& svc, GuardState g, const std::map<std::string, Hold>& holds,
                        std::int64_t now_ms) {
    for (auto [key, slot] : {std::pair{std::string(), &g.hold_all}, {svc.name, &g.hold}})
        if (auto it = holds.find(key); it != holds.end()) *slot = it->second;
    json::object po;
    if (auto h = active_hold(g, now_ms)) {
        po["since"] = utc_iso(h->since_ms);
        po["until"] = utc_iso(h->until_ms);
        po["until_epoch_s"] = h->until_ms / 1000;
        po["by"] = h->by;
        po["reason"] = h->reason;
        po["all"] = h->service.empty();
        po["watch_only"] = false;
    } else if (svc.watch_paused) {
        po["since"] = nullptr;
        po["until"] = nullptr;
        po["by"] = "watch_paused = yes in heal.ini";
        po["reason"] = "";
        po["all"] = false;
        po["watch_only"] = true;
    } else {
        return nullptr;
    }
    return po;
}

/// False when an action stays open (its record could not be written).
bool close_lost_of(ListenerState& st, const std::string& service, std::int64_t now) {
    bool all = true;
    for (const auto& a : st.store->unended(service)) all = close_lost(st, a, now) && all;
    return all;
}

/// A service's state for a decision or for info. Its lock goes into `lock` when free; then
/// whatever the store still calls in flight belonged to a process that died and is closed as
/// lost. When another process holds it, `locked_elsewhere` is set (`running_id` says which
/// action, when the store knows). False with `error` when the lock file cannot be used; a
/// failing store throws StoreError.
bool read_service(ListenerState& st, const ListenerConfig& cfg, const ServiceConfig& svc,
                  std::optional<KernelLock>& lock, std::int64_t now, GuardState& g,
                  std::string& error) {
    auto r = KernelLock::try_take(service_lock_path(cfg.state_dir, svc.name), lock, error);
    if (r == KernelLock::Result::error) return false;
    if (r == KernelLock::Result::taken && !close_lost_of(st, svc.name, now)) {
        error = "an action a dead listener left open on " + svc.name +
                " cannot be put on record as lost: the audit log cannot be written";
        return false;
    }
    g = st.store->guard_state(svc.name, now - window_ms(svc));
    g.locked_elsewhere = r == KernelLock::Result::held_elsewhere;
    return true;
}

}  // namespace

bool ensure_store(ListenerState& st, const ListenerConfig& cfg) {
    if (st.store) return true;
    std::string error;
    try {
        st.store = std::make_unique<StateStore>(cfg.state_dir);
        if (!ensure_lock_dir(cfg.state_dir, error)) {
            st.store.reset();
            throw StoreError(error);
        }
    } catch (const StoreError& e) {
        if (st.store_error != e.what())
            log::error(std::string("state store unavailable: ") + e.what() +
                       "; start, stop and restart are refused (state_unavailable) until it is "
                       "fixed; status keeps working");
        st.store_error = e.what();
        return false;
    }
    if (!st.store_error.empty()) log::info("state store available again: " + st.store->path());
    st.store_error.clear();
    return true;
}

bool gathers(Verb v) {
    return is_state_changing(v) || v == Verb::reset || v == Verb::pause || v == Verb::resume ||
           v == Verb::diagnostics || v == Verb::history;
}

GuardState gather(ListenerState& st, const ListenerConfig& cfg, const Request& req, Claim& claim,
                  std::int64_t now_ms) {
    GuardState g;
    const bool lookup = req.verb == Verb::diagnostics || req.verb == Verb::history;
    const bool admin_verb = req.verb == Verb::reset || req.verb == Verb::pause || req.verb == Verb::resume;
    if (!gathers(req.verb)) return g;
    auto unavailable = [&](std::string why) {
        GuardState u;
        u.store_ok = false;
        u.store_error = std::move(why);
        claim.service.reset();
        claim.slot.reset();
        return u;
    };
    if (!ensure_store(st, cfg)) return unavailable(st.store_error);
    if (lookup) {  // diagnostics: whose action the id names, for decide() to authorize
        if (req.verb == Verb::diagnostics && is_request_id(req.service)) {
            auto error = with_store("", "look up action " + req.service, [&] {
                if (auto a = st.store->action(req.service)) {
                    g.action_service = a->service;
                    g.action_verb = to_string(a->verb);
                }
            });
            if (!error.empty()) return unavailable(error);
        }
        return g;
    }
    auto svc = cfg.services.find(req.service);
    if (svc == cfg.services.end()) return g;  // decide() refuses it
    try {
        if (admin_verb) return st.store->guard_state(req.service, now_ms);
        std::string error;
        if (!read_service(st, cfg, svc->second, claim.service, now_ms, g, error))
            return unavailable(error);
        if (g.locked_elsewhere) return g;  // decide() refuses it as busy; no slot needed
        switch (take_slot(cfg.state_dir, cfg.max_concurrent_actions, claim.slot, error)) {
            case KernelLock::Result::error: return unavailable(error);
            case KernelLock::Result::held_elsewhere: g.slot_free = false; break;
            case KernelLock::Result::taken: break;
        }
    } catch (const StoreError& e) {
        return unavailable(e.what());
    }
    return g;
}

unsigned recover_lost(ListenerState& st, const ListenerConfig& cfg) {
    if (!st.store) return 0;
    unsigned closed = 0;
    with_store("", "recover lost actions", [&] {
        std::map<std::string, std::vector<ActionStart>> by_service;
        for (auto& a : st.store->unended()) by_service[a.service].push_back(std::move(a));
        for (const auto& [service, actions] : by_service) {
            std::optional<KernelLock> lock;
            std::string error;
            if (KernelLock::try_take(service_lock_path(cfg.state_dir, service), lock, error) !=
                KernelLock::Result::taken)
                continue;  // in flight in a live process (or unlockable: left for later)
            for (const auto& a : actions) closed += close_lost(st, a, now_ms()) ? 1 : 0;
        }
    });
    return closed;
}

namespace {

/// A watched service's loop as this process sees it (null when it is not watched).
json::value watch_info(ListenerState& st, const ServiceConfig& svc) {
    if (svc.watch_s <= 0) return nullptr;
    json::object w;
    w["interval_s"] = svc.watch_s;
    w["heal_after"] = svc.heal_after;
    w["heal_verb"] = to_string(svc.heal_verb);
    w["check"] = svc.check ? svc.check->url : "status command";
    auto it = st.watches.find(svc.name);
    if (it == st.watches.end() || !it->second.running) {
        w["state"] = "not watched by this process (the daemon watches; --inetd instances never do)";
        return w;
    }
    const WatchState& ws = it->second;
    w["state"] = ws.holding.empty() ? std::string("watching") : "not healing: " + ws.holding;
    w["failures"] = ws.count.failures;
    w["last_run"] = ws.last_run_ms ? json::value(utc_iso(ws.last_run_ms)) : json::value(nullptr);
    w["last_ok"] = ws.last_ok;
    w["last_status"] = ws.last_status;
    if (ws.last_heal_id.empty()) {
        w["last_heal"] = nullptr;
    } else {
        json::object h;
        h["id"] = ws.last_heal_id;
        h["at"] = utc_iso(ws.last_heal_ms);
        h["outcome"] = ws.last_heal_outcome;
        w["last_heal"] = std::move(h);
    }
    return w;
}

}  // namespace

std::map<std::string, json::value> watch_infos(ListenerState& st, const ListenerConfig& cfg, const std::string& only) {
    std::map<std::string, json::value> out;
    for (const auto& [name, svc] : cfg.services)
        if (only.empty() || name == only) out[name] = watch_info(st, svc);
    return out;
}

json::object service_info(ListenerState& st, const ListenerConfig& cfg, const Identity& who,
                          std::int64_t now_ms, const std::string& only,
                          const std::map<std::string, json::value>& watches) {
    json::object info;
    info["version"] = HEAL_VERSION;
    info["client"] = who.rule ? json::value(who.rule->name) : json::value(nullptr);
    info["admin"] = who.admin();
    info["client_rules"] = who.rules_configured;
    // The store only, in a few queries for all services: no lock is tried (a lock held by this
    // read would make another process's restart of the service busy), and nothing is closed
    // as lost here (the next action on the service, or the next start, does that).
    std::string state = "ok";
    std::map<std::string, GuardState> summaries;
    std::map<std::string, Hold> holds;  // a service not in summaries may be held (pause --all)
    std::map<double, std::map<std::string, std::int64_t>> refusals;  // by window
    if (!ensure_store(st, cfg)) {
        state = "unavailable: " + st.store_error;
    } else if (auto error = with_store("", "read the services' state", [&] {
                   double longest = 0;
                   for (const auto& [name, svc] : cfg.services)
                       if (only.empty() || name == only) {
                           const double w = svc.budget ? svc.budget->window_s : 3600;
                           longest = std::max(longest, w);
                           refusals.emplace(w, std::map<std::string, std::int64_t>{});
                       }
                   summaries = st.store->summaries(now_ms - to_ms(longest), only);
                   holds = st.store->holds();
                   for (auto& [window, counts] : refusals)
                       counts = st.store->refusals_by_service(now_ms - to_ms(window), only);
               });
               !error.empty()) {
        state = "unavailable: " + error;
        summaries.clear();
        refusals.clear();
    }
    const bool known = state == "ok";
    info["state"] = state;
    json::array services;
    for (const auto& [name, svc] : cfg.services) {
        if (!only.empty() && name != only) continue;
        json::object s;
        s["name"] = name;
        // Unknown is not OK: without the store, nothing below is known, and says so.
        s["state"] = state;
        json::array verbs, allowed;
        std::set<Verb> can;
        for (const auto& [verb, command] : svc.scripts) can.insert(verb);
        if (svc.check) can.insert(Verb::status);  // by its watch_check
        for (Verb verb : can) {
            verbs.push_back(json::value(to_string(verb)));
            if (!who.rule || who.rule->grants(verb, name)) allowed.push_back(json::value(to_string(verb)));
        }
        s["verbs"] = std::move(verbs);
        s["allowed"] = std::move(allowed);
        s["dry_run"] = svc.dry_run;
        s["cooldown_s"] = svc.cooldown_s;
        s["quarantine_for_s"] = svc.quarantine_for_s;
        const auto found = summaries.find(name);
        const GuardState g = found == summaries.end() ? GuardState{} : found->second;
        if (svc.budget) {
            json::object b;
            b["limit"] = svc.budget->limit;
            b["window_s"] = svc.budget->window_s;
            if (known) {
                auto use = budget_use(*svc.budget, g, now_ms);
                b["used"] = use.used;
                if (use.next_allowed_ms) b["next_allowed"] = utc_iso(*use.next_allowed_ms);
            }
            s["budget"] = std::move(b);
        } else {
            s["budget"] = nullptr;
        }
        s["cooldown_left_s"] = known ? cooldown_left(svc, g, now_ms) : 0.0;
        if (auto q = active_quarantine(svc, g, now_ms)) {
            json::object qo;
            qo["since"] = utc_iso(q->since_ms);
            qo["why"] = q->why;
            if (svc.quarantine_for_s > 0)
                qo["until"] = utc_iso(q->since_ms + to_ms(svc.quarantine_for_s));
            s["quarantine"] = std::move(qo);
        } else {
            s["quarantine"] = nullptr;
        }
        s["in_flight"] = g.running_id.empty() ? json::value(nullptr) : json::value(g.running_id);
        s["paused"] = paused_info(svc, g, holds, now_ms);
        auto w = watches.find(name);
        s["watch"] = w == watches.end() ? json::value(nullptr) : w->second;
        // Refused heals in the budget window (the last hour without a budget): for check_heal.
        const double window_s = svc.budget ? svc.budget->window_s : 3600;
        s["refusals_window_s"] = window_s;
        if (known) {
            const auto& counts = refusals[window_s];
            auto n = counts.find(name);
            s["refusals"] = n == counts.end() ? std::int64_t{0} : n->second;
        } else {
            s["refusals"] = nullptr;
        }
        services.push_back(std::move(s));
    }
    info["services"] = std::move(services);
    return info;
}

}  // namespace heal
