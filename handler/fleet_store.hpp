// The event handler's memory on the Nagios server: state_dir/event-handler.db, one SQLite file
// (WAL, synchronous=FULL) shared by every handler Nagios runs at the same moment. Each decision
// is one BEGIN IMMEDIATE transaction, so two handlers never both read "nothing done yet" or
// "one heal left in the budget" and both act.
//   problems  one row per problem (host, service) decided on, until the service is OK again
//             (its recovery event, or a last_time_ok in status.dat after the decision)
//   heals     every heal started, for the fleet budget and the heals in flight
#pragma once

#include "fleet_guard.hpp"
#include "sqlite.hpp"

#include <cstdint>
#include <optional>
#include <string>

struct sqlite3;

namespace heal::fleet {

/// A database file in the event handler's state folder: the folder made on first use (mode
/// 0700, for the user the monitoring runs handlers as; its parent must exist), the file 0600 in
/// WAL mode, its schema brought to `version`. Throws sqlite::Error.
sqlite::Db open_state_db(const std::string& state_dir, const std::string& path, int version, const char* schema);

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

    /// Adds `more` to the decision remembered for the open problem of host and service.
    void amend(const std::string& host, const std::string& service, const std::string& more);
    /// Records how a heal ended (it leaves the in-flight count; it stays in the budget).
    void finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                const std::string& request_id);

    /// The service is OK again: forgets the problem. Returns what had been decided, if anything.
    std::optional<std::string> close(const std::string& host, const std::string& service);

    const std::string& path() const { return path_; }

private:
    std::string path_;
    sqlite::Db db_;
};

}  // namespace heal::fleet
