// The group of a service as Nagios' files (or Icinga 2's answers, read into the same shapes)
// say it: every member's entry for the fleet guard (fleet/guard.hpp).
#pragma once

#include "fleet/guard.hpp"
#include "handler/status_file.hpp"

#include <string>

namespace heal::nagios {

/// Every member, whichever file names it (objects.cache's members, status.dat's states, the
/// notes humans left), merged, in (host, service) order.
fleet::Entries entries(const Members& members, const StatusData& status);

/// The group's health with the handled service counted by the state the event gave it:
/// fleet::health(fleet::summarize(e), fleet::entry_of(e, host, service), ...), e = entries(...).
fleet::GroupHealth group_health(const Members& members, const StatusData& status, const std::string& host,
                                const std::string& service, bool service_ok);

}  // namespace heal::nagios
