// The fleet store: what every decider remembers about problems, heals, holds and alert
// episodes, behind one interface, so that the decision core does not care where it lives.
//   SqliteStore (fleet/sqlite_store.hpp)  one file in the decider's state folder: the embedded
//                                         default, for one monitoring server
//   PgStore     (fleet/pg_store.hpp)      PostgreSQL, shared by HA deciders (two Alertmanager
//                                         receivers, two Nagios or Icinga 2 servers)
// Every method is one transaction; a claim is atomic across every process (and machine) that
// shares the store, so a problem is decided once and the fleet budget is one limit. Every
// method throws StoreError in words when the store cannot answer: the caller acts on nothing.
//   problems  one row per problem (host, service) decided on, until it is over: its decision,
//             its outcome and its page, each in its own columns
//   heals     every heal started, for the fleet budget and the heals in flight
//   holds     one row per problem a human holds (downtime, acknowledgement, pause): said once
//   episodes  heal-alert-receiver: each alert episode (fingerprint, startsAt), the problem it
//             joined and whether it is still firing; a problem closes when none of its
//             episodes is, and a closed episode stays closed (kept 7 days)
#pragma once

#include "fleet/claim.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace heal::fleet {

struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The page a problem has (heal-alert-receiver's HealBlocked or HealFailed), as posted: posted
/// again while the problem lasts and ended with it, each label the same.
struct StoredPage {
    std::string name;  ///< "", "HealBlocked" or "HealFailed"
    std::string guard, service, route, fingerprint, sentence, request_id;
};

/// An open problem as the store keeps it: its decision, its outcome and its page.
struct OpenProblem {
    std::string decision;  ///< "restart at CRITICAL SOFT 2"
    StoredPage page{};
    std::string host{}, service{};
    std::string outcome;   ///< how its heal ended when that is worth remembering ("held: ..."), or ""
    /// The decision with its outcome, for a human: "restart at CRITICAL SOFT 2; held: ...".
    std::string said() const { return outcome.empty() ? decision : decision + "; " + outcome; }
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

class Store {
public:
    virtual ~Store() = default;

    /// Decides the problem atomically, within the limits (fleet_verdict over what it reads).
    virtual Claim claim(const Problem& problem, const Limits& limits) = 0;

    /// How the open problem's heal ended, when later events must know (a hold, a refusal).
    virtual void set_outcome(const std::string& host, const std::string& service, const std::string& outcome) = 0;
    /// The page of the open problem.
    virtual void set_page(const std::string& host, const std::string& service, const StoredPage& page) = 0;
    /// The open problem of host and service, if any.
    virtual std::optional<OpenProblem> open_problem(const std::string& host, const std::string& service) = 0;
    /// Every open problem with a page.
    virtual std::vector<OpenProblem> paged_problems() = 0;

    /// Alert episode (fingerprint, startsAt; `starts_ms` its time) fires for the problem (host,
    /// service): it joins it. Another episode of the same alert still open has ended when this
    /// one began after it was last seen firing (its resolution was lost); one that began before
    /// overlaps it: the same outage stamped apart (two Alertmanagers of an HA pair, or two
    /// Prometheus servers), and joins the problem as well.
    virtual Episode episode_fires(const std::string& fingerprint, const std::string& starts_at, std::int64_t starts_ms,
                                  const std::string& host, const std::string& service, std::int64_t now_ms) = 0;
    /// The episode resolved: remembered closed; the problem closes when no episode keeps it.
    virtual Resolution episode_resolves(const std::string& fingerprint, const std::string& starts_at,
                                        const std::string& host, const std::string& service, std::int64_t now_ms) = 0;

    /// Records how a heal ended (it leaves the in-flight count; it stays in the budget).
    virtual void finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                        const std::string& request_id) = 0;

    /// A human holds the problem of host and service, for `why`: how many events of this problem
    /// were held, this one included (1: the first, say so). A hold noted before the service was
    /// last seen OK (`last_ok_ms`) belonged to an earlier problem and starts again.
    virtual unsigned note_hold(const std::string& host, const std::string& service, const std::string& why,
                               std::int64_t now_ms, std::int64_t last_ok_ms) = 0;
    /// The problem is over (the service is OK again): forgets it. Returns what had been decided.
    virtual std::optional<std::string> close(const std::string& host, const std::string& service) = 0;

    /// Where the store is, for messages: "state store '/var/lib/heal-event-handler/event-handler.db'".
    virtual std::string where() const = 0;
};

/// Which store a decider uses.
struct StoreSpec {
    std::string state_dir;       ///< SQLite: the folder (made on first use, 0700)
    std::string file_name;       ///< SQLite: the file in it ("event-handler.db", "receiver.db")
    std::string conninfo_file;   ///< set: PostgreSQL, with the libpq conninfo this file holds
};

/// Opens the store the spec names. Throws StoreError in words.
std::unique_ptr<Store> open_store(const StoreSpec& spec);

/// --check: opens the store (made when new) and says what it found, a line each: (usable,
/// words). PostgreSQL: the server and TLS, the role (not a superuser), its rights on every table.
std::vector<std::pair<bool, std::string>> check_store(const StoreSpec& spec);

}  // namespace heal::fleet
