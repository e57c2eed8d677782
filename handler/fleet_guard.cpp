#include "fleet_guard.hpp"

#include "text.hpp"

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

Entries entries(const nagios::Members& members, const nagios::StatusData& status) {
    // Every member, whichever file names it: objects.cache, status.dat (a service of the
    // group's description that objects.cache does not list yet).
    std::map<std::pair<std::string, std::string>, MemberEntry> group;
    for (const auto& m : members) group[m].in_group = true;
    for (const auto& st : status.services) {
        MemberEntry& e = group[{st.host, st.service}];
        e.in_group = e.has_state = true;
        // PENDING (never checked) is not known to be OK: it counts against healing.
        e.not_ok = !st.checked || st.state != nagios::ServiceState::ok;
        e.last_ok = st.last_ok;
        e.acknowledged = st.acknowledged;
        e.downtime_depth = st.downtime_depth;
        if (auto h = status.host_downtime.find(st.host); h != status.host_downtime.end())
            e.host_downtime_depth = h->second;
    }
    // Who and why: the first note of each kind (a second downtime adds nothing a human needs).
    for (const auto& n : status.notes) {
        const std::string words = n.author.empty() ? n.comment : n.author + ": " + n.comment;
        using Kind = nagios::HumanNote::Kind;
        if (n.kind == Kind::host_downtime) {
            for (auto& [name, e] : group)
                if (name.first == n.host && e.host_downtime_note.empty()) e.host_downtime_note = words;
            continue;
        }
        auto it = group.find({n.host, n.service});
        if (it == group.end()) continue;
        std::string& note = n.kind == Kind::acknowledgement ? it->second.ack_note : it->second.downtime_note;
        if (note.empty()) note = words;
    }
    return {group.begin(), group.end()};
}

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

GroupHealth group_health(const nagios::Members& members, const nagios::StatusData& status,
                         const std::string& host, const std::string& service, bool service_ok) {
    const auto all = entries(members, status);
    return health(summarize(all), entry_of(all, host, service), host, service, service_ok);
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
