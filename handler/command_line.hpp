// heal-event-handler's command line apart from its main, pure and unit-tested: the option
// values that need parsing (limits, budget, status age), and the event's five macro values as
// Nagios or Icinga 2 passed them, checked before they go anywhere, never evaluated.
#pragma once

#include "event_handler.hpp"

#include <optional>
#include <string>
#include <vector>

namespace heal::handler {

/// The option values given as text, parsed into `o`; "" or the usage error in words.
std::string parse_values(Options& o, const std::string& max_unhealthy, const std::string& fleet_budget,
                         const std::string& max_status_age);

/// STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE into an Event; nullopt with `ignored` saying why
/// (a bad state, type, attempt, address or service name, or ';' or a newline in a Nagios name
/// of `o`, which would forge a command). A "$" in --server-name (a custom variable the host does
/// not define, passed on unexpanded) clears it.
std::optional<Event> parse_event(const std::vector<std::string>& args, Options& o, std::string& ignored);

}  // namespace heal::handler
