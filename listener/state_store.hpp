// The listener's memory across processes and restarts: state_dir/heal.db, one SQLite file in WAL
// mode with synchronous=FULL, shared by the daemon and every --inetd instance. It holds the
// actions (started, ended, outcome), each service's budget epoch and quarantine.
// Consistency per service comes from the service's kernel lock (locks.hpp), held by whoever
// reads the state, decides and records the start.
#pragma once

#include "listener/decide.hpp"
#include "common/protocol.hpp"
#include "common/sqlite.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;

namespace heal {

/// Missing, unreadable, read-only, corrupt, newer, or a failed statement.
using StoreError = sqlite::Error;

/// 1: actions, services. 2: actions.verified and .diagnostics, refusals (for history).
/// 3: the boot clock beside every wall-clock time the guards measure from (boot_id, *_boot_ms).
/// 4: services.paused_ms and paused_by (heal-ctl pause, the watch loop only, no end).
/// 5: holds (heal-ctl pause --for: until when, by whom, why; '*' for every service); a pause
///    of schema 4 becomes a hold of 7 days from the upgrade.
inline constexpr int state_schema_version = 5;

struct ActionStart {
    std::string id, service, client, subject;
    Verb verb = Verb::restart;
    bool forced = false;
    std::int64_t started_ms = 0;
    pid_t pid = 0;                 ///< the script (its process group), for recovery after a crash
    unsigned long long pid_start = 0;  ///< its start time in /proc, so a reused pid is not it
};

/// One line of `heal-ctl history`: an action (running or ended) or a refusal.
struct HistoryEntry {
    std::int64_t at_ms = 0;  ///< started, or refused
    std::string id, client, verb, service;
    std::string outcome;  ///< "running" until it ends; "refused" for a refusal
    std::string reason;
    std::optional<std::int64_t> duration_ms;
    std::optional<bool> verified;
    bool forced = false;
    bool diagnostics = false;
};

/// Ended actions of one service, verb and outcome, for /metrics.
struct ActionCount {
    std::string service, verb, outcome;
    std::int64_t count = 0;
};
/// Ended actions of one service and verb, by duration, for the /metrics histogram.
struct DurationBuckets {
    std::string service, verb;
    std::vector<std::int64_t> at_most;  ///< cumulative counts, one per bound given
    std::int64_t count = 0;
    double sum_s = 0;
};


class StateStore {
public:
    /// Opens state_dir/heal.db, creating the file (0640) and its schema on first use; the folder
    /// itself must exist. Throws StoreError in words.
    explicit StateStore(const std::string& state_dir);
    ~StateStore();
    StateStore(const StateStore&) = delete;
    StateStore& operator=(const StateStore&) = delete;

    /// PRAGMA quick_check; throws when the file is damaged.
    void check_integrity();

    /// Budget epoch, actions that ran since `since_ms`, last end, quarantine and the id of an
    /// action in flight (not ended) for `service`.
    GuardState guard_state(const std::string& service, std::int64_t since_ms);

    void begin(const ActionStart& a);
    void end(const std::string& id, std::int64_t ended_ms, Outcome outcome, Reason reason,
             std::optional<bool> verified = std::nullopt, bool diagnostics = false);
    /// A refused request that named a service, for history.
    void refused(const std::string& id, std::int64_t at_ms, const std::string& service,
                 Verb verb, const std::string& client, Reason reason);
    std::vector<ActionCount> action_counts();
    std::vector<std::pair<std::string, std::int64_t>> refusal_counts();  ///< by reason
    std::vector<DurationBuckets> durations(const std::vector<double>& bounds_s);
    /// Every service the store knows (or only `service`), in a fixed number of queries
    /// whatever their number: quarantine, budget epoch, actions since `since_ms`, last end, the
    /// action in flight. A read only: no lock is taken, so it never stands in the way of an
    /// action in another process.
    std::map<std::string, GuardState> summaries(std::int64_t since_ms, const std::string& service = "");
    /// Refusals since `since_ms`, by service (only `service` when given).
    std::map<std::string, std::int64_t> refusals_by_service(std::int64_t since_ms,
                                                            const std::string& service = "");
    /// Newest first: actions and refusals since `since_ms`, of `service` ("" for all).
    std::vector<HistoryEntry> history(const std::string& service, std::int64_t since_ms,
                                      unsigned limit);
    /// Drops the start of an action that never ran (its audit record could not be written).
    void forget(const std::string& id);
    void quarantine(const std::string& service, const Quarantine& q);
    /// Lifts a quarantine and starts a fresh budget window at `now_ms`.
    void reset(const std::string& service, std::int64_t now_ms);
    /// A hold on h.service ("" for every service), replacing (in one statement) the one it had,
    /// which it returns.
    std::optional<Hold> hold(const Hold& h);
    /// Ends the hold on `service` ("" for every service's); the hold that was stored, if any.
    std::optional<Hold> release(const std::string& service);
    /// Every hold stored, by service ("" for every service's), ended ones included.
    std::map<std::string, Hold> holds();

    /// Actions started and never ended (all services when `service` is empty).
    std::vector<ActionStart> unended(const std::string& service = "");
    /// The service and verb of action `id`, or nullopt when the store has no such action.
    std::optional<ActionStart> action(const std::string& id);

    /// Drops ended actions older than `before_ms`.
    void prune(std::int64_t before_ms);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    sqlite::Db db_;
};

}  // namespace heal
