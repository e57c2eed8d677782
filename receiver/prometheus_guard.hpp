// The fleet guard with Prometheus as the source: the route's two queries give the group's size
// and how many members are not OK; fleet::judge() (the one decision every source shares)
// says whether healing one member makes sense.
#pragma once

#include "fleet/guard.hpp"
#include "receiver/routes.hpp"

#include <optional>
#include <string>

namespace heal::receiver {

/// `size` and `unhealthy` as the route's group_size and group_unhealthy answered (nullopt: the
/// query failed, `why` says how): a failed query, a group of none, or more not OK than
/// max_unhealthy allows blocks healing.
fleet::FleetView fleet_view(const Config& cfg, const Route& route, std::optional<double> size,
                              std::optional<double> unhealthy, const std::string& why);

/// Asks Prometheus the route's two queries (group_unhealthy only when group_size answered) and
/// judges them with fleet_view. `query_failed`: a query got no usable answer.
fleet::FleetView ask_prometheus(const Config& cfg, const Route& route, bool& query_failed);

}  // namespace heal::receiver
