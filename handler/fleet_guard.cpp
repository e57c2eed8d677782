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

Claim fleet_verdict(const FleetFacts& f, const Problem& p, const Limits& limits, std::string& remembered) {
    Claim c;
    remembered.clear();
    if (f.earlier) {
        if (f.earlier_ms >= p.last_ok_ms) {
            c.kind = Claim::Kind::already;
            c.earlier = *f.earlier;
            return c;
        }
        c.forgotten = *f.earlier;  // a finished problem's: replaced
    }
    if (p.blocked_by) {
        c.kind = Claim::Kind::blocked;
        remembered = "paged: " + *p.blocked_by;
    } else if (f.heals_in_window >= limits.budget) {
        c.kind = Claim::Kind::budget;
        c.used = f.heals_in_window;
        remembered = "paged: the fleet budget was spent";
    } else if (f.in_flight >= limits.concurrency) {
        c.used = f.in_flight;
        if (!p.last_chance) {  // the next attempt decides (and drops the stale decision then)
            c.kind = Claim::Kind::waiting;
            c.forgotten.clear();
            return c;
        }
        c.kind = Claim::Kind::concurrency;
        remembered = "paged: too many heals in flight";
    } else {
        c.kind = p.dry_run ? Claim::Kind::dry_run : Claim::Kind::heal;
        c.used = f.heals_in_window;
        remembered = p.dry_run ? "dry run: " + p.decision : p.decision;
    }
    return c;
}

}  // namespace heal::fleet
