// The event handler's memory on the Nagios server: state_dir/event-handler.db, one SQLite file
// (WAL, synchronous=FULL) shared by every handler Nagios runs at the same moment. Each decision
// is one BEGIN IMMEDIATE transaction, so two handlers never both read "nothing done yet" or
// "one heal left in the budget" and both act.
//   problems  one row per problem (host, service) decided on, until the service is OK again
//             (its recovery event, or a last_time_ok in status.dat after the decision)
//   heals     every heal started, for the fleet budget and the heals in flight
//   holds     one row per problem a human holds (downtime, acknowledgement, pause): said once
//   episodes  heal-alert-receiver: each alert episode (fingerprint, startsAt), the problem it
//             joined and whether it is still firing; a problem closes when none of its
//             episodes is, and a closed episode stays closed (kept 7 days)
#pragma once

#include "fleet_guard.hpp"
#include "sqlite.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace heal::fleet {

/// A database file in the event handler's state folder: the folder made on first use (mode
/// 0700, for the user the monitoring runs handlers as; its parent must exist), the file 0600 in
/// WAL mode, its schema brought to `version`. Throws sqlite::Error.
/// `upgrades` maps a version found to the SQL that brings it up before `schema` runs.
sqlite::Db open_state_db(const std::string& state_dir, const std::string& path, int version, const char* schema,
                         const std::map<int, const char*>& upgrades = {});

/// The page a problem has (heal-alert-receiver's HealBlocked or HealFailed), as posted: posted
/// again while the problem lasts and ended with it, each label the same.
struct StoredPage {
    std::string name;  ///< "", "HealBlocked" or "HealFailed"
    std::string guard, service, route, fingerprint, sentence, request_id;
};

/// An open problem as the store keeps it: its decision and its page, each in its own columns.
struct OpenProblem {
    std::string decision;
    StoredPage page;
    std::string host, service;
};

/// What an alert episode's firing meets in the store.
struct Episode {
    bool closed_before = false;       ///< this episode was resolved already: act on nothing
    std::vector<OpenProblem> ended;   ///< problems closed because this alert's older episode ended
};

/// What an alert episode's resolution did.
struct Resolution {
    std::optional<OpenProblem> closed;  ///< the problem, closed: none of its episodes fires
    unsigned still_open_by = 0;         ///< else: the episodes that keep it open
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

    /// Adds `more` to the decision remembered for the open problem of host and service.
    void amend(const std::string& host, const std::string& service, const std::string& more);
    /// The page of the open problem (its own columns, never parsed out of the decision text).
    void set_page(const std::string& host, const std::string& service, const StoredPage& page);
    /// The open problem of host and service, if any.
    std::optional<OpenProblem> open_problem(const std::string& host, const std::string& service);
    /// Every open problem with a page.
    std::vector<OpenProblem> paged_problems();

    /// Alert episode (fingerprint, startsAt) fires for the problem (host, service): it joins it
    /// (one transaction). An older episode of the same alert still open has ended.
    Episode episode_fires(const std::string& fingerprint, const std::string& starts_at, const std::string& host,
                          const std::string& service, std::int64_t now_ms);
    /// The episode resolved: remembered closed; the problem closes when no episode keeps it.
    Resolution episode_resolves(const std::string& fingerprint, const std::string& starts_at, const std::string& host,
                                const std::string& service, std::int64_t now_ms);

    /// Records how a heal ended (it leaves the in-flight count; it stays in the budget).
    void finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                const std::string& request_id);

    /// A human holds the problem of host and service (a downtime, an acknowledgement, a pause
    /// on the host), for `why`: how many events of this problem were held, this one included
    /// (1: the first, say so). A hold noted before the service was last seen OK (`last_ok_ms`)
    /// belonged to an earlier problem and starts again.
    unsigned note_hold(const std::string& host, const std::string& service, const std::string& why,
                       std::int64_t now_ms, std::int64_t last_ok_ms);
    /// The service is OK again: forgets the problem. Returns what had been decided, if anything.
    std::optional<std::string> close(const std::string& host, const std::string& service);

    const std::string& path() const { return path_; }

private:
    std::optional<OpenProblem> close_if_unjoined(const std::string& host, const std::string& service);
    std::string path_;
    sqlite::Db db_;
};

}  // namespace heal::fleet
