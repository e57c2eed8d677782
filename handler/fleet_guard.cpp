#include "fleet_guard.hpp"

#include "text.hpp"

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

GroupHealth group_health(const nagios::StatusData& status, const std::string& host,
                         const std::string& service, bool service_ok) {
    GroupHealth g;
    bool self_seen = false;
    for (const auto& s : status.services) {
        ++g.size;
        bool self = s.host == host && s.service == service;
        self_seen = self_seen || self;
        // PENDING (never checked) is not known to be OK: it counts against healing.
        bool ok = self ? service_ok : s.checked && s.state == nagios::ServiceState::ok;
        if (!ok) ++g.not_ok;
    }
    if (!self_seen) {  // not in the group's status (yet): it is a member all the same
        ++g.size;
        if (!service_ok) ++g.not_ok;
    }
    return g;
}

}  // namespace heal::fleet
