// The fleet guard's rules, apart from where their inputs come from (Nagios' files, Icinga 2's
// API, Prometheus: the sources around fleet/): how much of a service's group may be unhealthy
// before healing one member is pointless (a shared database down makes every worker CRITICAL),
// the fleet-wide budget's N/WINDOW, and the judgement every source's counts go through.
#pragma once

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

/// A group's health in steps, so that a group read once serves many events (a source keeps the
/// entries): every member's entry, the counts over them, and one member's entry; health() then
/// puts the handled service in with the state the event gave it.
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
GroupSummary summarize(const Entries& all);
/// The member's entry (in_group false when `all` does not have it).
MemberEntry entry_of(const Entries& all, const std::string& host, const std::string& service);
GroupHealth health(const GroupSummary& summary, const MemberEntry& handled, const std::string& host,
                   const std::string& service, bool service_ok);

/// What the monitoring's own data says about healing a service of a group.
struct FleetView {
    std::optional<std::string> blocked_by;  ///< the fleet guard's reason not to heal, in words
    std::string seen;                       ///< "1 of 4 'worker' services not OK"
    std::int64_t last_ok = 0;               ///< when the service was last seen OK (epoch s)
    /// What humans hold on the service and its host (acknowledged, downtime depths, who and
    /// why), as the source read it; all zero when it could not be read.
    MemberEntry human;
};

/// The fleet guard's view of a group's health as a source read it: the words, the service's
/// last OK time, and the reason to block (a member without a state, or more not OK than
/// the limit allows). `label`: "'web' services"; `where`: "Nagios' status file
/// '/var/lib/nagios4/status.dat'", for the words; `limit_name`: what the operator set the limit
/// with. Every source (status.dat, Icinga 2's API, Prometheus) is judged here, and only here.
FleetView judge(const UnhealthyLimit& max_unhealthy, const GroupHealth& g, std::int64_t last_ok,
                const std::string& label, const std::string& where,
                const std::string& limit_name = "--max-unhealthy");

}  // namespace heal::fleet
