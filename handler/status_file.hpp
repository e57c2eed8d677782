// Nagios' own view of the fleet, read by heal-event-handler's fleet guard: status.dat (the
// state of every service, rewritten by Nagios every status_update_interval) and objects.cache
// (the configuration as loaded, for service groups). Both are read strictly: a file Nagios
// would not have written is an error, and an error blocks healing.
#pragma once

#include <cstdint>
#include <functional>
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
};

struct StatusData {
    std::int64_t created = 0;  ///< info { created= }: when Nagios wrote the file (epoch seconds)
    std::vector<ServiceStatus> services;  ///< those the filter kept, in file order
};

using ServiceFilter = std::function<bool(const std::string& host, const std::string& service)>;

/// Reads status.dat, keeping the services `keep` accepts. Throws StatusError.
StatusData read_status(std::istream& in, const ServiceFilter& keep, const Limits& limits = {});
StatusData read_status_file(const std::string& path, const ServiceFilter& keep,
                            const Limits& limits = {});

/// The members (host, service description) of service group `group` in objects.cache.
/// Throws StatusError, also when the group is not defined.
std::vector<std::pair<std::string, std::string>> read_servicegroup(std::istream& in,
                                                                    const std::string& group,
                                                                    const Limits& limits = {});
std::vector<std::pair<std::string, std::string>> read_servicegroup_file(const std::string& path,
                                                                         const std::string& group,
                                                                         const Limits& limits = {});

}  // namespace heal::nagios
