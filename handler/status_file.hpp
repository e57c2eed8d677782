// Nagios' own view of the fleet, read by heal-event-handler's fleet guard: status.dat (the
// state of every service, rewritten by Nagios every status_update_interval) and objects.cache
// (the configuration as loaded, for service groups). Both are read strictly: a file Nagios
// would not have written is an error, and an error blocks healing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <istream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace heal::nagios {

/// Unreadable, truncated, malformed or over a limit; says where, in words.
struct StatusError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Limits {
    std::uint64_t max_bytes = 1ULL << 30;    ///< a whole file; Nagios writes ~2 KiB per service
    std::size_t max_line = 1 << 20;          ///< Nagios' longest field is 8 KiB of plugin output
    std::size_t max_services = 1 << 20;      ///< kept (matching) services
};

enum class ServiceState { ok = 0, warning = 1, critical = 2, unknown = 3 };

struct ServiceStatus {
    std::string host, service;
    ServiceState state = ServiceState::ok;
    bool checked = false;  ///< has_been_checked: false while PENDING
    std::int64_t last_ok = 0;  ///< last_time_ok: the last OK check (epoch seconds), 0 if never
    bool acknowledged = false;       ///< problem_has_been_acknowledged
    unsigned downtime_depth = 0;     ///< scheduled_downtime_depth: downtimes in effect
};

/// Who put a human hold in place and why, from status.dat's servicedowntime, hostdowntime and
/// servicecomment (entry_type=4: an acknowledgement) blocks.
struct HumanNote {
    enum class Kind { service_downtime, host_downtime, acknowledgement } kind = Kind::service_downtime;
    std::string host, service;  ///< service empty for a host downtime
    std::string author, comment;
};

struct StatusData {
    std::int64_t created = 0;  ///< info { created= }: when Nagios wrote the file (epoch seconds)
    std::vector<ServiceStatus> services;  ///< those the filter kept, in file order
    std::map<std::string, unsigned> host_downtime;  ///< hosts with downtimes in effect (depth > 0)
    std::vector<HumanNote> notes;  ///< host downtimes, and the kept services' downtimes and acks
    bool hosts_joined = false;     ///< Icinga 2: its answer joined the hosts (their downtimes known)
    std::uint64_t bytes = 0;   ///< read to the end: every byte of the file
};

using ServiceFilter = std::function<bool(const std::string& host, const std::string& service)>;

/// Reads status.dat, keeping the services `keep` accepts. Throws StatusError.
StatusData read_status(std::istream& in, const ServiceFilter& keep, const Limits& limits = {});
/// The same from a file, which must also end where it ended when it was opened: a file that
/// grows or shrinks while it is read (Nagios writing it in place) is an error.
StatusData read_status_file(const std::string& path, const ServiceFilter& keep,
                            const Limits& limits = {});

/// (host, service description) pairs, sorted, each once.
using Members = std::vector<std::pair<std::string, std::string>>;

/// A fleet group as Nagios defines it: every service with this description, or (when
/// `servicegroup` is not empty) the members of that service group.
struct Group {
    std::string description;
    std::string servicegroup;
};

/// The group's members as objects.cache defines them (`define service` blocks, or the service
/// group's `members`). Throws StatusError, also when the service group is not defined.
Members read_members(std::istream& in, const Group& group, const Limits& limits = {});
Members read_members_file(const std::string& path, const Group& group, const Limits& limits = {});

}  // namespace heal::nagios
