#include "handler/nagios_group.hpp"

#include <map>
#include <utility>

namespace heal::nagios {

fleet::Entries entries(const Members& members, const StatusData& status) {
    // Every member, whichever file names it: objects.cache, status.dat (a service of the
    // group's description that objects.cache does not list yet).
    std::map<std::pair<std::string, std::string>, fleet::MemberEntry> group;
    for (const auto& m : members) group[m].in_group = true;
    for (const auto& st : status.services) {
        fleet::MemberEntry& e = group[{st.host, st.service}];
        e.in_group = e.has_state = true;
        // PENDING (never checked) is not known to be OK: it counts against healing.
        e.not_ok = !st.checked || st.state != ServiceState::ok;
        e.last_ok = st.last_ok;
        e.acknowledged = st.acknowledged;
        e.downtime_depth = st.downtime_depth;
        if (auto h = status.host_downtime.find(st.host); h != status.host_downtime.end())
            e.host_downtime_depth = h->second;
    }
    // Who and why: the first note of each kind (a second downtime adds nothing a human needs).
    for (const auto& n : status.notes) {
        const std::string words = n.author.empty() ? n.comment : n.author + ": " + n.comment;
        using Kind = HumanNote::Kind;
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

fleet::GroupHealth group_health(const Members& members, const StatusData& status, const std::string& host,
                                const std::string& service, bool service_ok) {
    const auto all = entries(members, status);
    return fleet::health(fleet::summarize(all), fleet::entry_of(all, host, service), host, service, service_ok);
}

}  // namespace heal::nagios
