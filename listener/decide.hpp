// Every decision about a request, as one pure function of (request, identity, state, now):
// authorization, the service's lock, quarantine, budget, cooldown, the global cap, dry run.
// The session gathers the state (store, kernel locks) and acts on the verdict; nothing here
// does I/O, so every edge is unit-tested with a chosen clock.
#pragma once

#include "listener/config.hpp"
#include "common/protocol.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace heal {

/// Who is asking: the [client] section their certificate matched, if any.
struct Identity {
    const ClientRule* rule = nullptr;
    bool rules_configured = false;  ///< false: no [client] sections, everyone is "anyone"
    std::string subject;            ///< for messages
    std::string name() const { return rule ? rule->name : ""; }
    bool admin() const { return rule && rule->admin; }
};

/// With [client] sections, a certificate that matches none may do nothing: why, or "" when it
/// may go on (it matched, or there are no sections).
std::string unmatched_certificate(const Identity& who);

/// Matches a certificate (CN or SHA-256 fingerprint) against the [client] sections.
Identity identify(const ListenerConfig& cfg, const std::string& subject, const std::string& cn,
                  const std::string& sha256);

struct Quarantine {
    std::int64_t since_ms = 0;
    std::string why;  ///< e.g. "quarantined after 3 restarts in 1h"
};

/// A hold (heal-ctl pause): until `until_ms`, only admins' heals run on the service.
struct Hold {
    std::string service;  ///< "" for every service on the host (pause --all)
    std::int64_t since_ms = 0, until_ms = 0;
    std::string by;       ///< "client ops"
    std::string reason;   ///< the operator's words, or ""
};

struct PastAction {
    std::int64_t started_ms = 0;
    Verb verb = Verb::restart;
};

/// What the state store and the kernel locks say about one service at the time of a request.
struct GuardState {
    bool stopping = false;  ///< the listener is shutting down: no new action starts
    bool store_ok = true;
    std::string store_error;
    bool locked_elsewhere = false;  ///< another action (any process) holds the service
    std::string running_id;         ///< its request id, when the store knows it
    bool slot_free = true;          ///< below max_concurrent_actions across all processes
    std::int64_t budget_epoch_ms = 0;  ///< actions before this (a reset) do not count
    std::vector<PastAction> recent;    ///< actions that ran, oldest first (at least the window)
    std::optional<std::int64_t> last_end_ms;
    std::optional<Quarantine> quarantine;
    std::optional<Hold> hold;      ///< `heal-ctl pause SERVICE`, as stored (it may have ended)
    std::optional<Hold> hold_all;  ///< `heal-ctl pause --all`, as stored
    /// diagnostics: the service and verb of the action the request id names (none: no such).
    std::optional<std::string> action_service;
    std::string action_verb;
};

enum class Decision { run, dry_run, refuse };

struct Verdict {
    Decision decision = Decision::refuse;
    Reason reason = Reason::none;
    std::string message;
    std::optional<Quarantine> quarantine_now;  ///< set: quarantine the service (budget exhausted)
    bool recorded = false;       ///< a refusal the store keeps (history): of an action or an admin verb
    bool confirm_first = false;  ///< run: ask the service's own status here first (`confirm = yes`)
};

/// The budget's view of `st` at `now`: actions that count, and when the next one is allowed.
struct BudgetUse {
    unsigned used = 0;
    std::optional<std::int64_t> next_allowed_ms;  ///< when used >= limit
};
BudgetUse budget_use(const Budget& b, const GuardState& st, std::int64_t now_ms);

/// The quarantine in force at `now` (quarantine_for may have ended it), if any.
std::optional<Quarantine> active_quarantine(const ServiceConfig& svc, const GuardState& st,
                                            std::int64_t now_ms);

/// The hold in force at `now`: the service's own or the host's, whichever ends later.
std::optional<Hold> active_hold(const GuardState& st, std::int64_t now_ms);

/// "paused by client ops until 2026-12-07T10:00:00.000Z (disk swap)".
std::string hold_text(const Hold& h);

/// Seconds of cooldown left at `now` (0 when none).
double cooldown_left(const ServiceConfig& svc, const GuardState& st, std::int64_t now_ms);

/// History of `service` may be seen by admins, by whoever may run status on it, and by anyone
/// without [client] sections. (Whole-host history lists only those services.)
bool may_see_history(const Identity& who, const std::string& service);

/// Every authorization and guard, for every verb, and what follows from the verdict: whether a
/// refusal is recorded, whether a remote restart or stop confirms first. For status and info
/// `st` does not matter; reset, diagnostics and history need st.store_ok; diagnostics
/// st.action_service. While st.stopping, every start, stop and restart is refused.
Verdict decide(const Request& req, const Identity& who, const ListenerConfig& cfg,
               const GuardState& st, std::int64_t now_ms);

}  // namespace heal
