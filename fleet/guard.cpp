#include "fleet/guard.hpp"

#include "common/text.hpp"

#include <algorithm>
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

namespace {

std::string member_name(const std::pair<std::string, std::string>& m) {
    return "'" + printable(m.second, 60) + "' on '" + printable(m.first, 60) + "'";
}

}  // namespace

GroupSummary summarize(const Entries& all) {
    GroupSummary g;
    for (const auto& [name, e] : all) {
        ++g.size;
        if (!e.has_state) {
            ++g.without_state;
            if (g.first_without_state.size() < 2) g.first_without_state.push_back(member_name(name));
        } else if (e.not_ok) {
            ++g.not_ok;
        }
    }
    return g;
}

MemberEntry entry_of(const Entries& all, const std::string& host, const std::string& service) {
    const auto key = std::make_pair(host, service);
    const auto it = std::lower_bound(all.begin(), all.end(), key, [](const auto& e, const auto& k) { return e.first < k; });
    return it != all.end() && it->first == key ? it->second : MemberEntry{};
}

GroupHealth health(const GroupSummary& s, const MemberEntry& handled, const std::string& host,
                   const std::string& service, bool service_ok) {
    // The handled service counts by the state the event gave it, whatever was read for it.
    GroupHealth g;
    g.size = s.size + (handled.in_group ? 0 : 1);
    g.not_ok = s.not_ok - (handled.has_state && handled.not_ok ? 1 : 0) + (service_ok ? 0 : 1);
    g.without_state = s.without_state - (handled.in_group && !handled.has_state ? 1 : 0);
    const std::string self = member_name({host, service});
    for (const auto& name : s.first_without_state)
        if (name != self) {
            g.first_without_state = name;
            break;
        }
    return g;
}

FleetView judge(const UnhealthyLimit& max_unhealthy, const GroupHealth& g, std::int64_t last_ok,
                const std::string& label, const std::string& where, const std::string& limit_name) {
    FleetView v;
    v.last_ok = last_ok;
    const std::size_t allowed = max_unhealthy.allowed(g.size);
    v.seen = std::to_string(g.not_ok) + " of " + std::to_string(g.size) + " " + label + " not OK";
    if (g.without_state > 0)
        v.blocked_by = where + " has no state for " + std::to_string(g.without_state) + " of " +
                       std::to_string(g.size) + " " + label + " (" + g.first_without_state +
                       (g.without_state > 1 ? " and others" : "") +
                       "): cut short, or older than the configuration? Healing needs every member's state";
    else if (g.not_ok > allowed)
        v.blocked_by = "widespread failure: " + std::to_string(g.not_ok) + " of " + std::to_string(g.size) + " " +
                       label + " are not OK (" + limit_name + " " + max_unhealthy.to_string() + ": at most " +
                       std::to_string(allowed) + ")";
    return v;
}

}  // namespace heal::fleet
