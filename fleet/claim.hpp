// One decision per problem: the claim a decider makes in the fleet store before it acts (once
// per problem, the guard's block, the fleet budget, the heals in flight, a dry run), as a pure
// rule over what the store read (fleet_verdict), and the guard's words for a claim that does not
// heal.
#pragma once

#include "fleet/guard.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace heal::fleet {

/// The fleet limits a decision is held to.
struct Limits {
    unsigned budget = 10;
    std::int64_t window_ms = 3600 * 1000;
    unsigned concurrency = 2;
};

/// One problem (host, service) to decide on.
struct Problem {
    std::string host, service;
    std::optional<std::string> blocked_by{};  ///< a guard's words when the status file ruled out healing
    std::string decision;                   ///< what to remember, e.g. "restart at CRITICAL SOFT 2"
    bool dry_run = false;
    /// No later event will come for this problem (HARD): a heal that only waits for a slot
    /// among those in flight is paged now. Before that it waits for the next attempt.
    bool last_chance = true;
    std::int64_t now_ms = 0;
    std::int64_t deadline_ms = 0;  ///< a heal counts as in flight until finish() or this
    /// When Nagios last saw the service OK (0: unknown). A decision older than that belongs to
    /// a problem that ended without its recovery event reaching the handler, and is dropped,
    /// so the service is decided on afresh.
    std::int64_t last_ok_ms = 0;
};

/// What the store decided for one problem.
struct Claim {
    enum class Kind {
        already,      ///< decided before (acted, paged or dry run): nothing more for this problem
        blocked,      ///< a guard blocked it; the caller pages once (the problem is remembered)
        budget,       ///< the fleet budget is spent (remembered; page once)
        concurrency,  ///< too many heals in flight at its last chance (remembered; page once)
        waiting,      ///< too many heals in flight, a later attempt will come (nothing remembered)
        dry_run,      ///< would heal (remembered; comment once)
        heal,         ///< heal now: heal_id is counted in the budget and in flight
    } kind = Kind::already;
    std::string earlier;       ///< for already: what was decided then
    std::string forgotten;     ///< a decision dropped as stale: the service was OK after it
    std::int64_t heal_id = 0;  ///< for heal
    unsigned used = 0;         ///< heals in the window (budget) or in flight (concurrency, waiting)
};

/// What the store knows when a problem is decided, read inside the decision's transaction.
struct FleetFacts {
    std::optional<std::string> earlier{};  ///< the decision remembered for this problem
    std::int64_t earlier_ms = 0;         ///< when it was taken
    unsigned heals_in_window = 0;        ///< heals started within the budget's window
    unsigned in_flight = 0;              ///< heals not ended whose deadline has not passed
};

/// The fleet rule, pure: once per problem (a decision older than the service's last OK is
/// dropped), then a guard's block, the budget, the heals in flight, a dry run. Sets
/// `remembered` to what the store keeps for the problem ("" for already and waiting: nothing
/// is written).
Claim fleet_verdict(const FleetFacts& facts, const Problem& problem, const Limits& limits,
                    std::string& remembered);

/// How a decider's operator named its limits, for the words ("--fleet-budget", "fleet_budget").
struct LimitNames {
    const char* budget = "--fleet-budget";
    const char* concurrency = "--fleet-concurrency";
};

/// The guard's words for a claim that does not heal: the blocking guard's own words (blocked),
/// the budget spent, or the heals in flight; "" for heal, dry run and already.
std::string guard_words(const Claim& c, const std::optional<std::string>& blocked_by, const Budget& budget,
                        unsigned concurrency, const LimitNames& names = {});

}  // namespace heal::fleet
