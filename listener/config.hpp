// heal.ini: what the listener listens on, who may talk to it, and what it may run.
#pragma once

#include "address.hpp"
#include "ini_file.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <string>
#include <vector>

namespace heal {

struct ServiceConfig {
    std::string name;
    std::map<std::string, std::string> scripts;  ///< verb -> absolute path
    double timeout = 0;                          ///< seconds; 0 = the listener default
};

struct ListenerConfig {
    std::string path;  ///< the file this came from
    std::vector<boost::asio::ip::tcp::endpoint> listen;
    Allowlist allow;
    std::string cert, key, client_ca, audit_log;
    double timeout = 30;     ///< default action timeout, seconds
    double io_timeout = 10;  ///< per network phase: handshake, request, reply, shutdown
    unsigned max_connections = 512;
    unsigned max_per_source = 32;
    std::map<std::string, ServiceConfig> services;

    double timeout_for(const ServiceConfig& s) const { return s.timeout > 0 ? s.timeout : timeout; }
};

/// Things that work but deserve an operator's look: running as root (every script then runs as
/// root), a private key that anyone on the host can read.
std::vector<std::string> config_warnings(const ListenerConfig& cfg);

/// Loads and validates `path`. Throws ConfigError naming the file, line and key.
/// Relative paths in the file are relative to the file's folder.
ListenerConfig load_listener_config(const std::string& path);

}  // namespace heal
