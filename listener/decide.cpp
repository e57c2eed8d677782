#include "listener/decide.hpp"

#include "listener/diagnostics.hpp"
#include "common/text.hpp"


namespace heal {

namespace {

Verdict refuse(Reason reason, std::string message) {
    return {Decision::refuse, reason, std::move(message), std::nullopt};
}

Verdict allow(Decision d = Decision::run, std::string message = {}) {
    return {d, Reason::none, std::move(message), std::nullopt};
}

std::string who_text(const Identity& who) {
    return who.rule ? "client '" + who.rule->name + "'" : "this client";
}

std::string verbs_text(const ClientRule& c) {
    std::string out;
    for (Verb v : c.verbs) out += (out.empty() ? "" : ", ") + std::string(to_string(v));
    return out;
}

/// "3 restarts" when every action was the same verb, else "3 actions".
std::string actions_text(const std::vector<PastAction>& acts) {
    bool same = !acts.empty();
    for (const auto& a : acts) same &= a.verb == acts.front().verb;
    std::string noun = same ? std::string(to_string(acts.front().verb)) : "action";
    return std::to_string(acts.size()) + " " + noun + (acts.size() == 1 ? "" : "s");
}

std::vector<PastAction> counted(const Budget& b, const GuardState& st, std::int64_t now_ms) {
    // The window is (now - window, now]: an action that started exactly `window` ago no longer
    // counts, so with 3/1h the 4th action is allowed one hour after the 1st, to the millisecond.
    std::vector<PastAction> out;
    for (const auto& a : st.recent)
        if (a.started_ms > now_ms - to_ms(b.window_s) && a.started_ms >= st.budget_epoch_ms)
            out.push_back(a);
    return out;
}

}  // namespace

Identity identify(const ListenerConfig& cfg, const std::string& subject, const std::string& cn,
                  const std::string& sha256) {
    Identity who;
    who.rules_configured = !cfg.clients.empty();
    who.subject = subject;
    for (const auto& c : cfg.clients) {
        // A fingerprint names one certificate; it wins over a CN that several may carry.
        if (!c.fingerprint.empty() && c.fingerprint == sha256) {
            who.rule = &c;
            return who;
        }
    }
    for (const auto& c : cfg.clients)
        if (!c.cn.empty() && !cn.empty() && c.cn == cn) {
            who.rule = &c;
            break;
        }
    return who;
}

BudgetUse budget_use(const Budget& b, const GuardState& st, std::int64_t now_ms) {
    auto acts = counted(b, st, now_ms);
    BudgetUse use;
    use.used = static_cast<unsigned>(acts.size());
    if (use.used >= b.limit)  // the oldest that must leave the window for one more to fit
        use.next_allowed_ms = acts[use.used - b.limit].started_ms + to_ms(b.window_s);
    return use;
}

std::optional<Quarantine> active_quarantine(const ServiceConfig& svc, const GuardState& st,
                                            std::int64_t now_ms) {
    if (!st.quarantine) return std::nullopt;
    if (svc.quarantine_for_s > 0 && now_ms >= st.quarantine->since_ms + to_ms(svc.quarantine_for_s))
        return std::nullopt;
    return st.quarantine;
}

std::optional<Hold> active_hold(const GuardState& st, std::int64_t now_ms) {
    std::optional<Hold> out;
    for (const auto* h : {&st.hold, &st.hold_all})
        if (*h && (*h)->until_ms > now_ms && (!out || (*h)->until_ms > out->until_ms)) out = **h;
    return out;
}

std::string hold_text(const Hold& h) {
    return "paused by " + h.by + " until " + utc_iso(h.until_ms) + (h.reason.empty() ? "" : " (" + h.reason + ")");
}

double cooldown_left(const ServiceConfig& svc, const GuardState& st, std::int64_t now_ms) {
    if (svc.cooldown_s <= 0 || !st.last_end_ms) return 0;
    auto left = *st.last_end_ms + to_ms(svc.cooldown_s) - now_ms;
    return left > 0 ? static_cast<double>(left) / 1000.0 : 0;
}

std::string unmatched_certificate(const Identity& who) {
    if (!who.rules_configured || who.rule) return {};
    return "certificate '" + printable(who.subject, 200) + "' matches no [client] section of the listener";
}

bool may_see_history(const Identity& who, const std::string& service) {
    return !who.rule || who.admin() || who.rule->grants(Verb::status, service);
}

namespace {

/// "" when `who` is an admin, else why `what` needs one.
std::string not_admin(const Identity& who, const std::string& what) {
    if (!who.rules_configured)
        return what + " needs a [client] section with admin = yes in the listener's heal.ini; there is none";
    if (!who.admin()) return what + " needs an admin; " + who_text(who) + " is not (admin = no)";
    return {};
}

/// pause --all and resume --all: admins, with the store.
Verdict decide_hold(const Request& req, const Identity& who, const GuardState& st) {
    const std::string verb(to_string(req.verb));
    if (auto why = not_admin(who, verb + " --all"); !why.empty()) return refuse(Reason::not_authorized, why);
    if (!st.store_ok)
        return refuse(Reason::state_unavailable, "state store unavailable (" + st.store_error + "); nothing to " + verb);
    return allow();
}

/// diagnostics (whoever may start, stop or restart the action's service, or an admin) and
/// history (see may_see_history): lookups in the store, no script.
Verdict decide_lookup(const Request& req, const Identity& who, const GuardState& st) {
    if (req.verb == Verb::history && !req.service.empty() && !may_see_history(who, req.service))
        return refuse(Reason::not_authorized, who_text(who) + " may not see the history of " + req.service +
                                                  " (it needs status on it, or admin)");
    if (req.verb == Verb::diagnostics && !is_request_id(req.service))
        return refuse(Reason::not_found, "'" + req.service + "' is not a request id");
    if (!st.store_ok) return refuse(Reason::state_unavailable, "state store unavailable (" + st.store_error + ")");
    if (req.verb == Verb::history) return allow();
    if (!st.action_service) return refuse(Reason::not_found, "no action with id " + req.service + " on this host");
    const std::string& service = *st.action_service;
    if (who.rule && !who.admin() && !who.rule->grants(Verb::start, service) &&
        !who.rule->grants(Verb::stop, service) && !who.rule->grants(Verb::restart, service))
        return refuse(Reason::not_authorized, who_text(who) + " may not read the diagnostics of " + service +
                                                  " (it needs start, stop or restart on it, or admin)");
    return allow();
}

Verdict decide_request(const Request& req, const Identity& who, const ListenerConfig& cfg,
                       const GuardState& st, std::int64_t now_ms) {
    // 1. Who: with [client] sections, a certificate must match one.
    if (auto why = unmatched_certificate(who); !why.empty()) return refuse(Reason::not_authorized, why);
    if (req.verb == Verb::info)
        return req.service.empty() || cfg.services.count(req.service)
                   ? allow()
                   : refuse(Reason::unknown_service, "unknown service '" + req.service + "'");
    if (req.verb == Verb::diagnostics || req.verb == Verb::history) return decide_lookup(req, who, st);
    if ((req.verb == Verb::pause || req.verb == Verb::resume) && req.service.empty()) return decide_hold(req, who, st);

    // 2. What: the service and its verb exist.
    auto it = cfg.services.find(req.service);
    if (it == cfg.services.end())
        return refuse(Reason::unknown_service, "unknown service '" + req.service + "'");
    const ServiceConfig& svc = it->second;
    const std::string verb(to_string(req.verb));

    // 3. May this client do it?
    const bool admin_verb = req.verb == Verb::reset || req.verb == Verb::pause || req.verb == Verb::resume;
    if (admin_verb || req.force) {
        if (auto why = not_admin(who, req.force && !admin_verb ? "--force" : verb); !why.empty())
            return refuse(Reason::not_authorized, why);
    }
    if (admin_verb) {
        if (!st.store_ok)
            return refuse(Reason::state_unavailable,
                          "state store unavailable (" + st.store_error + "); nothing to " + verb);
        return allow();
    }
    if (!svc.can(req.verb))
        return refuse(Reason::verb_not_allowed,
                      "service '" + req.service + "' does not allow '" + verb + "'");
    if (who.rule && !who.rule->grants(req.verb, req.service))
        return refuse(Reason::not_authorized,
                      who_text(who) + " may not " + verb + " " + req.service +
                          (who.rule->verbs.count(req.verb)
                               ? " (not in its services)"
                               : " (its verbs: " + verbs_text(*who.rule) + ")"));
    if (!is_state_changing(req.verb)) return allow();

    // 4. Guards for state-changing verbs. The lock first: it is never forced.
    if (!st.store_ok)
        return refuse(Reason::state_unavailable,
                      "state store unavailable (" + st.store_error +
                          "): start, stop and restart are refused until it is fixed; status "
                          "still works");
    if (st.locked_elsewhere)
        return refuse(Reason::busy, "service '" + req.service + "' is busy with action " +
                                        (st.running_id.empty() ? "(unknown id)" : st.running_id));
    // A human's hold: only admins act (the operator's own restart during the work).
    if (auto h = active_hold(st, now_ms); h && !who.admin())
        return refuse(Reason::paused, (h->service.empty() ? "every service on this host" : req.service) + " is " +
                                          hold_text(*h) + ": only admins' heals run; 'heal-ctl resume " +
                                          (h->service.empty() ? "--all" : req.service) + "' ends it early");
    if (who.name() == watch_client && svc.watch_paused)
        return refuse(Reason::paused, "the watch loop of " + req.service +
                                          " is paused (watch_paused = yes in heal.ini)");
    if (!req.force) {
        if (auto q = active_quarantine(svc, st, now_ms)) {
            std::string msg = req.service + " is quarantined (" + q->why + ", since " +
                              utc_iso(q->since_ms) + "); an admin lifts it with 'heal-ctl reset " +
                              req.service + "'";
            if (svc.quarantine_for_s > 0)
                msg += ", or it lifts by itself at " +
                       utc_iso(q->since_ms + to_ms(svc.quarantine_for_s));
            return refuse(Reason::quarantined, msg);
        }
        if (svc.budget) {
            auto acts = counted(*svc.budget, st, now_ms);
            auto use = budget_use(*svc.budget, st, now_ms);
            if (use.used >= svc.budget->limit) {
                std::string window = format_duration(svc.budget->window_s);
                Quarantine q{now_ms, "quarantined after " + actions_text(acts) + " in " + window};
                // The words that matter first: the event handler pages with this line.
                std::string msg = "budget exhausted, " + req.service + " " + q.why + " (budget " +
                                  std::to_string(svc.budget->limit) + "/" + window +
                                  "); an admin lifts the quarantine with 'heal-ctl reset " +
                                  req.service + "'";
                if (svc.quarantine_for_s > 0)
                    msg += ", or it lifts by itself at " + utc_iso(now_ms + to_ms(svc.quarantine_for_s));
                msg += "; the budget allows the next at " + utc_iso(*use.next_allowed_ms);
                auto v = refuse(Reason::budget_exhausted, msg);
                v.quarantine_now = q;
                return v;
            }
        }
        if (double left = cooldown_left(svc, st, now_ms); left > 0)
            return refuse(Reason::cooldown, "cooldown: " + seconds_text(left) + " left of " +
                                                format_duration(svc.cooldown_s) + " after the last action on " +
                                                req.service);
    }
    if (!st.slot_free)
        return refuse(Reason::global_cap, "max_concurrent_actions (" +
                                              std::to_string(cfg.max_concurrent_actions) +
                                              ") reached: that many actions are in flight on "
                                              "this host; try again shortly");
    if (svc.dry_run)
        return allow(Decision::dry_run, "dry run: would " + verb + " " + req.service + " (" +
                                            svc.scripts.at(req.verb).text() + ")" +
                                            (req.force ? ", forced" : ""));
    return allow();
}

}  // namespace

Verdict decide(const Request& req, const Identity& who, const ListenerConfig& cfg,
               const GuardState& st, std::int64_t now_ms) {
    const bool action = is_state_changing(req.verb);
    Verdict v = st.stopping && action ? refuse(Reason::shutting_down, "the listener is shutting down")
                                      : decide_request(req, who, cfg, st, now_ms);
    const bool admin_verb = req.verb == Verb::reset || req.verb == Verb::pause || req.verb == Verb::resume;
    v.recorded = v.decision == Decision::refuse && (action || admin_verb);
    if (v.decision == Decision::run && (req.verb == Verb::restart || req.verb == Verb::stop) && !req.force &&
        who.name() != watch_client) {
        const auto& svc = cfg.services.at(req.service);  // allowed: the service exists
        v.confirm_first = svc.confirm && svc.can(Verb::status);
    }
    return v;
}

}  // namespace heal
