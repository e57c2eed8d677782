// One network exchange with a worker's status endpoint: HTTP(S) GET, or a TCP status line.
#pragma once

#include "common/connect.hpp"
#include "common/cert_validity.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace heal::plugin {

struct Target {
    std::string host;      ///< Host header, SNI and the name the certificate must carry
    std::string address;   ///< where to connect (-I); host when empty
    unsigned short port = 0;
    unsigned short vhost_port = 0;  ///< the Host header's port when not `port` (-H HOST:PORT -p)
    bool tls = false;
    std::string ca, cert, key;
    bool insecure = false;  ///< skip certificate verification (off by default)
    bool tls13_only = false;  ///< -S1.3
    heal::Family family = heal::Family::any;  ///< -4 / -6
    bool haproxy = false;     ///< --haproxy-protocol: a PROXY v1 line first
    // -x: an HTTP proxy. Plain HTTP is asked of it by absolute URL; TLS through CONNECT.
    std::string proxy_host;   ///< "" for none
    unsigned short proxy_port = 0;
    std::string proxy_authorization;  ///< a Proxy-Authorization value, or ""
    /// What to tell the user when the certificate fails verification, in the caller's own
    /// option names: how to give the CA ("--ca FILE", "prometheus_ca in [receiver]") and the
    /// name ("-H", "--icinga2-name"). Empty: check_worker's.
    std::string ca_option, name_option;
};

struct HttpRequest {
    std::string method = "GET";
    std::string path = "/";
    std::string user_agent;  ///< "" for check_worker/VERSION
    std::string body;        ///< sent with Content-Length when not empty (-P)
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;  ///< set last: they win
    std::size_t max_body = 1 << 20;
    bool headers_only = false;  ///< -N: stop after the response headers
    unsigned version = 11;      ///< 11 or 10 (--http-version)
    bool decompress = false;    ///< --enable-automatic-decompression: gzip, deflate
    /// No "Connection: close": the connection may carry the next probe (set by the probe when
    /// it was given a Kept that reuses connections).
    bool keep_alive = false;
};

struct ProbeResult {
    std::string error;      ///< non-empty: no usable answer (refused, TLS, protocol, timeout)
    bool timed_out = false;
    double seconds = 0;     ///< connect to last byte
    /// Where the time went (check_http's -E), seconds each: connecting, the TLS handshake,
    /// sending the request, waiting for the first byte of the answer, reading the rest.
    struct Timings {
        double connect = 0, tls = 0, request = 0, first_byte = 0, transfer = 0;
    } timings;
    std::chrono::steady_clock::time_point first_byte_at{};  ///< set by read_response
    std::optional<heal::CertValidity> cert;  ///< the server certificate's dates (TLS only)
    // HTTP
    unsigned status = 0;
    std::string status_line;  ///< "HTTP/1.1 200 OK"
    std::string headers;      ///< the header lines as received (not the status line), for -d
    std::size_t header_bytes = 0;  ///< of the status line and headers as received
    std::string content_encoding;
    std::string location;
    std::string date, last_modified;  ///< the Date and Last-Modified headers, as sent
    std::string body;
    std::size_t body_bytes = 0;  ///< bytes of body received (== body.size())
    std::optional<std::uint64_t> declared_length;  ///< Content-Length, when the server sent one
    bool body_over_limit = false;
    /// The connection may carry another request: a complete answer framed by its length (or
    /// chunks), the server did not ask to close, and nothing came after it.
    bool reusable = false;
    // TCP
    std::string line;
};

/// What the probes of one target keep from one to the next (heal-listener's watch_check): the
/// TLS context, built (and its CA file read) once, and the last connection while the server
/// keeps it open, for at most `max_rounds` requests (HTTP keep-alive). A reused connection
/// that the server closed before answering is replaced by a new one within the same deadline.
struct Kept;
std::shared_ptr<Kept> make_kept(unsigned max_rounds);

/// A host as a URL or a CONNECT target writes it: an IPv6 address in brackets.
std::string url_host(const std::string& host);

/// "host", "host:8080", "[::1]:8080": the Host header and the authority of the URL.
std::string authority(const Target& t);

ProbeResult probe_http(const Target& t, const HttpRequest& req,
                       std::chrono::steady_clock::time_point deadline);
/// Sends `send` (may be empty) and reads one line of at most 4 KiB.
ProbeResult probe_line(const Target& t, const std::string& send,
                       std::chrono::steady_clock::time_point deadline);

/// The same on the caller's executor (heal-listener's watch_check): nothing blocks the thread,
/// and the deadline bounds the whole exchange, a name lookup that never answers included.
/// With `kept`, the TLS context and a kept connection are taken from it and given back.
boost::asio::awaitable<ProbeResult> async_probe_http(Target t, HttpRequest req,
                                                     std::chrono::steady_clock::time_point deadline,
                                                     std::shared_ptr<Kept> kept = {});
/// Connects (and with TLS, shakes hands) only: a tcp:// check that reads nothing.
boost::asio::awaitable<ProbeResult> async_probe_connect(Target t, std::chrono::steady_clock::time_point deadline);
boost::asio::awaitable<ProbeResult> async_probe_line(Target t, std::string send,
                                                     std::chrono::steady_clock::time_point deadline);

}  // namespace heal::plugin
