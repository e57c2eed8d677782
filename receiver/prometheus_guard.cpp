#include "receiver/prometheus_guard.hpp"

#include "receiver/prometheus_query.hpp"

#include <cmath>

namespace heal::receiver {

fleet::FleetView fleet_view(const Config& cfg, const Route& route, std::optional<double> size,
                              std::optional<double> unhealthy, const std::string& why) {
    const std::string label = "members of route " + route.name;
    fleet::FleetView v;
    if (!size || !unhealthy) {
        v.blocked_by = "cannot use Prometheus' answer: " + why + "; healing needs the group's state";
        return v;
    }
    // Counts are whole numbers; anything else is a query that does not count members.
    if (*size < 0 || *unhealthy < 0 || std::floor(*size) != *size || std::floor(*unhealthy) != *unhealthy ||
        *size > 1e9 || *unhealthy > 1e9) {
        v.blocked_by = "Prometheus' counts are not whole numbers (group_size " + std::to_string(*size) +
                       ", group_unhealthy " + std::to_string(*unhealthy) + "): check the route's queries";
        return v;
    }
    if (*size == 0) {
        v.blocked_by = "Prometheus counts no member of the group (group_size of route " + route.name +
                       " answered 0): healing needs the group's state";
        return v;
    }
    if (*unhealthy > *size) {
        v.blocked_by = "Prometheus counts more members not OK (" + std::to_string(static_cast<long long>(*unhealthy)) +
                       ") than members (" + std::to_string(static_cast<long long>(*size)) + "): check the route's queries";
        return v;
    }
    fleet::GroupHealth g;
    g.size = static_cast<std::size_t>(*size);
    g.not_ok = static_cast<std::size_t>(*unhealthy);
    return fleet::judge(cfg.max_unhealthy, g, 0, label, "Prometheus", "max_unhealthy");
}

fleet::FleetView ask_prometheus(const Config& cfg, const Route& route, bool& query_failed) {
    std::string why;
    const auto size = query_number(cfg.prometheus, route.group_size, std::nullopt, cfg.io_timeout, cfg.prometheus_ca, why);
    std::optional<double> unhealthy;
    if (size) unhealthy = query_number(cfg.prometheus, route.group_unhealthy, 0.0, cfg.io_timeout, cfg.prometheus_ca, why);
    query_failed = !size || !unhealthy;
    return fleet_view(cfg, route, size, unhealthy, why);
}

}  // namespace heal::receiver
