#include "fleet_guard.hpp"

#include "text.hpp"

#include <map>

namespace heal::fleet {

std::size_t UnhealthyLimit::allowed(std::size_t size) const {
    std::size_t n = percent ? size * value / 100 : value;
    return n < 1 ? 1 : n;
}

std::string UnhealthyLimit::to_string() const { return std::to_string(value) + (percent ? "%" : ""); }

std::optional<UnhealthyLimit> parse_unhealthy_limit(std::string_view s) {
    UnhealthyLimit l;
    l.percent = !s.empty() && s.back() == '%';
    if (l.percent) s.remove_suffix(1);
    unsigned long long v = 0;
    if (!parse_uint(s, l.percent ? 0 : 1, l.percent ? 100 : 1000000, v)) return std::nullopt;
    l.value = static_cast<unsigned>(v);
    return l;
}

std::optional<Budget> parse_budget(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    unsigned long long n = 0;
    Budget b;
    if (!parse_uint(s.substr(0, slash), 1, 100000, n) ||
        !parse_duration(s.substr(slash + 1), 366.0 * 86400, b.window_s))
        return std::nullopt;
    b.limit = static_cast<unsigned>(n);
    return b;
}

GroupHealth group_health(const nagios::Members& members, const nagios::StatusData& status,
                         const std::string& host, const std::string& service, bool service_ok) {
    // Every member, whichever file names it: objects.cache, status.dat (a service of the
    // group's description that objects.cache does not list yet), and the service handled.
    std::map<std::pair<std::string, std::string>, const nagios::ServiceStatus*> group;
    for (const auto& m : members) group.emplace(m, nullptr);
    for (const auto& s : status.services) group[{s.host, s.service}] = &s;
    group.emplace(std::make_pair(host, service), nullptr);
    GroupHealth g;
    g.size = group.size();
    for (const auto& [name, state] : group) {
        if (name.first == host && name.second == service) {
            if (!service_ok) ++g.not_ok;
        } else if (!state) {
            if (g.without_state++ == 0)
                g.first_without_state = "'" + printable(name.second, 60) + "' on '" + printable(name.first, 60) + "'";
        } else if (!state->checked || state->state != nagios::ServiceState::ok) {
            ++g.not_ok;  // PENDING (never checked) is not known to be OK: it counts against healing
        }
    }
    return g;
}

}  // namespace heal::fleet
