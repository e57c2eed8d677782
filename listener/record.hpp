// One request in the shape of its audit record, and the small words every step of the request
// path uses with it: refuse a reply, write the record, name the connection in the log.
#pragma once

#include "listener/decide.hpp"
#include "common/protocol.hpp"
#include "listener/state.hpp"
#include "common/tls.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace heal {

/// Everything known about one request, in audit-record shape.
struct Record {
    std::uint64_t conn = 0;
    std::string peer;
    PeerCertificate cert;
    std::string verify_error;  ///< why the peer's certificate was not accepted (OpenSSL's words)
    std::string client;        ///< the [client] section that matched
    Reply reply;
    std::string request;  ///< the raw request line, sanitised, for refused requests
    bool timed_out = false;
    std::optional<pid_t> pid;
    /// The watch loop's heals: what made it act ("3 failed status runs in a row: ...").
    std::string trigger;
    /// pause: the hold made; resume: the hold it ended (none when there was none).
    std::optional<Hold> hold;

    /// The final record of a request; `start` gives the record written before a script runs.
    boost::json::object to_json(bool start = false) const;
};

void refuse(Reply& r, Reason reason, std::string message);

/// The peer's address without its port, IPv4-mapped IPv6 unmapped: what allowlists and
/// per-source limits count by.
std::string source_key(const boost::asio::ip::tcp::endpoint& peer);

/// "#12 127.0.0.1:40222": every log line of a connection starts with it.
std::string conn_tag(std::uint64_t conn, const boost::asio::ip::tcp::endpoint& peer);

}  // namespace heal
