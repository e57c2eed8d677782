// The event handler's memory on the Nagios server: state_dir/event-handler.db, one SQLite file
// (WAL, synchronous=FULL) shared by every handler Nagios runs at the same moment. Each decision
// is one BEGIN IMMEDIATE transaction, so two handlers never both read "nothing done yet" or
// "one heal left in the budget" and both act.
//   problems  one row per problem (host, service) decided on, until the service is OK again
//             (its recovery event, or a last_time_ok in status.dat after the decision)
//   heals     every heal started, for the fleet budget and the heals in flight
#pragma once

#include "sqlite.hpp"

#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;

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
    std::optional<std::string> blocked_by;  ///< a guard's words when the status file ruled out healing
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

class FleetStore {
public:
    /// Opens or creates state_dir/event-handler.db (0600); the folder must exist. Throws
    /// sqlite::Error in words.
    explicit FleetStore(const std::string& state_dir);
    ~FleetStore();
    FleetStore(const FleetStore&) = delete;
    FleetStore& operator=(const FleetStore&) = delete;

    /// Decides the problem atomically, within the limits.
    Claim claim(const Problem& problem, const Limits& limits);

    /// Records how a heal ended (it leaves the in-flight count; it stays in the budget).
    void finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                const std::string& request_id);

    /// The service is OK again: forgets the problem. Returns what had been decided, if anything.
    std::optional<std::string> close(const std::string& host, const std::string& service);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    sqlite3* db_ = nullptr;
};

}  // namespace heal::fleet
