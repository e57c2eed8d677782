// One connection, from allowlist check to reply. Shared by the daemon and --inetd mode.
#pragma once

#include "audit_log.hpp"
#include "config.hpp"
#include "tls.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace heal {

/// A configuration and the TLS context built from it; replaced whole on SIGHUP, while
/// connections in flight keep the one they started with.
struct Runtime {
    ListenerConfig cfg;
    std::shared_ptr<ssl::context> tls;
};
using RuntimePtr = std::shared_ptr<const Runtime>;

/// Throws ConfigError or TlsError.
RuntimePtr make_runtime(const std::string& config_path);

/// State that outlives configurations. Single-threaded: no locks.
struct ListenerState {
    std::unique_ptr<AuditLog> audit;
    std::map<std::string, std::string> running;  ///< service -> request id of its action
    std::map<std::string, unsigned> per_source;  ///< peer address -> open connections
    unsigned connections = 0;
    std::uint64_t next_connection_id = 0;
    bool stopping = false;
};

/// Allowlist and connection caps, checked before any TLS work. Audits and logs a denial.
/// `count_caps` is false under inetd, where xinetd's instances/per_source do that job.
bool admit(ListenerState& st, const Runtime& rt, const boost::asio::ip::tcp::endpoint& peer,
           std::uint64_t conn, bool count_caps);

/// Serves one admitted connection; releases its connection count when done.
boost::asio::awaitable<void> serve_connection(ListenerState& st, RuntimePtr rt,
                                              boost::asio::ip::tcp::socket socket,
                                              boost::asio::ip::tcp::endpoint peer,
                                              std::uint64_t conn, bool counted);

}  // namespace heal
