// The fleet guard's rules, apart from where their inputs come from: how much of a service's
// group may be unhealthy before healing one member is pointless (a shared database down makes
// every worker CRITICAL), and the fleet-wide budget's N/WINDOW.
#pragma once

#include "status_file.hpp"

#include <cstdint>
#include <optional>
#include <string>
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

}  // namespace heal::fleet
