// The fleet guard's rules, apart from where their inputs come from: how much of a service's
// group may be unhealthy before healing one member is pointless (a shared database down makes
// every worker CRITICAL), and the fleet-wide budget's N/WINDOW.
#pragma once

#include "status_file.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

namespace heal::fleet {

/// --max-unhealthy: a count ("1") or a share of the group ("25%").
struct UnhealthyLimit {
    unsigned value = 25;
    bool percent = true;
    /// Members that may be not OK at once in a group of `size`; never fewer than 1, so a group
    /// of one (or a small group under a percentage) can still heal.
    std::size_t allowed(std::size_t size) const;
    std::string to_string() const;
};
std::optional<UnhealthyLimit> parse_unhealthy_limit(std::string_view s);

/// --fleet-budget N/WINDOW, e.g. "10/1h".
struct Budget {
    unsigned limit = 10;
    double window_s = 3600;
};
std::optional<Budget> parse_budget(std::string_view s);

/// A group's health: its members as Nagios defines them (objects.cache), each with its state
/// in status.dat, the service being handled counted by the state Nagios just gave it
/// (status.dat may be a few seconds older). A member that status.dat has no state for (a file
/// cut short, or one written before the member was added) is counted apart: it blocks healing,
/// because an unknown member may be down.
struct GroupHealth {
    std::size_t size = 0, not_ok = 0;
    std::size_t without_state = 0;
    std::string first_without_state;  ///< "'worker' on 'web3'"
};
GroupHealth group_health(const nagios::Members& members, const nagios::StatusData& status,
                         const std::string& host, const std::string& service, bool service_ok);

/// The same in steps, so that a group read once serves many events (view_cache.hpp): every
/// member's entry (members and states read, merged), the counts over them, and one member's
/// entry; health() then puts the handled service in with the state the event gave it.
/// group_health(m, s, h, sv, ok) == health(summarize(e), entry_of(e, h, sv), h, sv, ok), e = entries(m, s).
struct GroupSummary {
    std::size_t size = 0, not_ok = 0, without_state = 0;
    std::vector<std::string> first_without_state;  ///< the first two, in (host, service) order
};
struct MemberEntry {
    bool in_group = false;   ///< a member, or a state read for it
    bool has_state = false;
    bool not_ok = false;     ///< has a state, and it is not OK or never checked
    std::int64_t last_ok = 0;
    // What humans hold, as status.dat said (Nagios writes it every status_update_interval).
    bool acknowledged = false;
    unsigned downtime_depth = 0, host_downtime_depth = 0;
    std::string downtime_note, host_downtime_note, ack_note;  ///< "ops: disk swap", or ""
};
/// Every member's entry, in (host, service) order.
using Entries = std::vector<std::pair<std::pair<std::string, std::string>, MemberEntry>>;
Entries entries(const nagios::Members& members, const nagios::StatusData& status);
GroupSummary summarize(const Entries& all);
/// The member's entry (in_group false when `all` does not have it).
MemberEntry entry_of(const Entries& all, const std::string& host, const std::string& service);
GroupHealth health(const GroupSummary& summary, const MemberEntry& handled, const std::string& host,
                   const std::string& service, bool service_ok);

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

}  // namespace heal::fleet
