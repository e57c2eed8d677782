#include "checks/probe.hpp"

#include "checks/http_response.hpp"

#include "common/connect.hpp"
#include "common/run.hpp"
#include "common/tls_errors.hpp"
#include "gen/version.hpp"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include "common/tls.hpp"

#include <boost/beast/ssl.hpp>

#include <optional>
#include <sstream>

namespace heal::plugin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_line = 4096;

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}


std::string where(const Target& t) {
    return (t.address.empty() ? t.host : t.address) + ":" + std::to_string(t.port);
}

http::request<http::string_body> make_request(const Target& t, const HttpRequest& hr) {
    http::request<http::string_body> req;
    req.method_string(hr.method);
    // Through a proxy, plain HTTP asks for the whole URL (RFC 9112 3.2.2).
    const bool via_proxy = !t.tls && !t.proxy_host.empty();
    req.target(via_proxy ? "http://" + authority(t) + hr.path : hr.path);
    req.version(static_cast<int>(hr.version));
    req.set(http::field::host, authority(t));
    req.set(http::field::user_agent,
            hr.user_agent.empty() ? std::string("check_worker/" HEAL_VERSION) : hr.user_agent);
    if (!hr.keep_alive) req.set(http::field::connection, "close");
    if (hr.decompress) req.set(http::field::accept_encoding, "gzip, deflate");
    if (via_proxy && !t.proxy_authorization.empty())
        req.set(http::field::proxy_authorization, t.proxy_authorization);
    if (!hr.body.empty()) {
        req.set(http::field::content_type, hr.content_type);
        req.body() = hr.body;
        req.prepare_payload();
    }
    for (const auto& [name, value] : hr.headers) req.set(name, value);
    return req;
}

/// The request as bytes on the wire: what a Kept sends every round without serializing anew.
std::string wire_bytes(const http::request<http::string_body>& req) {
    std::ostringstream out;
    out << req;
    return std::move(out).str();
}

/// Sends the request (`wire`, its bytes made once, when given) and reads the answer into `r`.
template <class Stream>
asio::awaitable<void> http_exchange(Stream& s, beast::tcp_stream& tcp_layer, const Target& t,
                                    const HttpRequest& hr, Clock::time_point deadline, ProbeResult& r,
                                    const std::string* wire = nullptr) {
    tcp_layer.expires_at(deadline);
    const auto sending = Clock::now();
    boost::system::error_code wec;
    if (wire) {
        std::tie(wec, std::ignore) = co_await asio::async_write(s, asio::buffer(*wire), as_tuple(use_awaitable));
    } else {
        auto req = make_request(t, hr);
        std::tie(wec, std::ignore) = co_await http::async_write(s, req, as_tuple(use_awaitable));
    }
    const auto sent = Clock::now();
    r.timings.request = seconds_between(sending, sent);
    if (wec) {
        r.timed_out = wec == beast::error::timeout;
        r.error = "cannot send the request to " + where(t) + ": " + error_text(wec);
        co_return;
    }
    std::string leftover;
    ReadOptions ro{hr.max_body, hr.method == "HEAD", hr.headers_only, false};
    std::string why = co_await read_response(s, ro, r, leftover);
    if (r.first_byte_at != Clock::time_point{}) {
        r.timings.first_byte = seconds_between(sent, r.first_byte_at);
        r.timings.transfer = seconds_between(r.first_byte_at, Clock::now());
    }
    if (!why.empty()) {
        r.error = r.timed_out ? "timed out waiting for the response from " + where(t)
                              : "invalid HTTP response from " + where(t) + ": " + why;
        co_return;
    }
    if (hr.decompress && !r.content_encoding.empty() && !r.body_over_limit && !hr.headers_only) {
        why = inflate_body(r.body, r.content_encoding, hr.max_body);
        if (!why.empty()) r.error = why + " (from " + where(t) + ")";
        r.body_bytes = r.body.size();
    }
}

/// --haproxy-protocol: the PROXY protocol's version 1 line, naming this connection's two ends.
std::string proxy_v1_line(const tcp::socket& sock) {
    boost::system::error_code ec1, ec2;
    auto local = sock.local_endpoint(ec1), remote = sock.remote_endpoint(ec2);
    if (ec1 || ec2) return {};
    return std::string("PROXY ") + (local.address().is_v4() ? "TCP4 " : "TCP6 ") + local.address().to_string() +
           " " + remote.address().to_string() + " " + std::to_string(local.port()) + " " +
           std::to_string(remote.port()) + "\r\n";
}

/// -x with TLS: asks the proxy for a tunnel to the target (RFC 9110 9.3.6). "" when open.
asio::awaitable<std::string> open_tunnel(beast::tcp_stream& s, const Target& t, Clock::time_point deadline,
                                         bool& timed_out) {
    const std::string to = url_host(t.host) + ":" + std::to_string(t.port);
    std::string ask = "CONNECT " + to + " HTTP/1.1\r\nHost: " + to + "\r\n";
    if (!t.proxy_authorization.empty()) ask += "Proxy-Authorization: " + t.proxy_authorization + "\r\n";
    ask += "\r\n";
    const std::string proxy = "the proxy " + t.proxy_host + ":" + std::to_string(t.proxy_port);
    s.expires_at(deadline);
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(ask), as_tuple(use_awaitable));
    if (wec) {
        timed_out = wec == beast::error::timeout;
        co_return "cannot ask " + proxy + " for a tunnel: " + error_text(wec);
    }
    ProbeResult answer;
    std::string leftover;
    std::string why = co_await read_response(s, ReadOptions{0, false, false, true}, answer, leftover);
    timed_out = answer.timed_out;
    if (!why.empty()) co_return "no tunnel through " + proxy + ": " + why;
    if (answer.status < 200 || answer.status > 299)
        co_return proxy + " refused a tunnel to " + to + ": " + answer.status_line;
    if (!leftover.empty()) co_return proxy + " sent data before the TLS handshake";
    co_return std::string();
}

template <class Stream>
asio::awaitable<void> line_exchange(Stream& s, beast::tcp_stream& tcp_layer, const Target& t,
                                    const std::string& send, Clock::time_point deadline,
                                    ProbeResult& r) {
    tcp_layer.expires_at(deadline);
    if (!send.empty()) {
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(send), as_tuple(use_awaitable));
        if (wec) {
            r.error = "cannot send to " + where(t) + ": " + error_text(wec);
            co_return;
        }
    }
    std::string data;
    auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(data, max_line), '\n',
                                                   as_tuple(use_awaitable));
    if (ec == asio::error::not_found) {
        r.error = "no newline in the first " + std::to_string(max_line) + " bytes from " + where(t);
    } else if (ec && data.empty()) {
        r.timed_out = ec == beast::error::timeout;
        r.error = r.timed_out ? "timed out waiting for a line from " + where(t)
                              : "no line from " + where(t) + ": " + error_text(ec);
    } else {
        r.line = data.substr(0, ec ? data.size() : n);  // a last line without '\n' still counts
    }
}

/// check_worker's words for a certificate that fails verification.
TlsAdvice advice(const Target& t) {
    TlsAdvice a;
    if (!t.ca_option.empty()) {  // another program's options
        a.untrusted = t.ca.empty() ? "not signed by a CA in the system store; give its CA with " + t.ca_option
                                   : "not signed by the CA in " + t.ca + " (" + t.ca_option + ")";
        a.wrong_name = "give one of them with " + t.name_option;
        return a;
    }
    a.untrusted = t.ca.empty() ? "not signed by a CA in the system store; give its CA with --ca FILE, or --insecure"
                               : "not signed by a CA in --ca " + t.ca;
    a.wrong_name = "give one of them with -H; -I ADDRESS still says where to connect";
    return a;
}

}  // namespace

/// One connection of a probe: TCP, and TLS over it when asked.
struct Connection {
    explicit Connection(asio::any_io_executor ex) : tcp(std::move(ex)) {}
    beast::tcp_stream tcp;
    std::shared_ptr<ssl::context> ctx;  // outlives `tls`, which uses it
    std::optional<beast::ssl_stream<beast::tcp_stream&>> tls;
    std::optional<heal::CertValidity> cert;  // of the handshake, for every answer over it
    unsigned rounds = 0;                     // requests it carried
};

struct Kept {
    unsigned max_rounds = 1;
    std::string request;  // its bytes, made at the first probe
    std::shared_ptr<ssl::context> ctx;  // built at the first probe
    std::unique_ptr<Connection> idle;   // between two probes
};

std::shared_ptr<Kept> make_kept(unsigned max_rounds) {
    auto k = std::make_shared<Kept>();
    k->max_rounds = std::max(1u, max_rounds);
    return k;
}

namespace {

/// Opens `c` to `t` (TCP, the PROXY line, a tunnel, the TLS handshake): "" or why not, in
/// `r.error`.
asio::awaitable<void> open(Connection& c, const Target& t, Clock::time_point deadline, ProbeResult& r,
                           Kept* kept) {
    auto& tcp_layer = c.tcp;
    const auto started = Clock::now();
    const bool proxied = !t.proxy_host.empty();
    r.error = co_await connect_tcp(tcp_layer, proxied ? t.proxy_host : t.address.empty() ? t.host : t.address,
                                   proxied ? t.proxy_port : t.port, std::nullopt, deadline, r.timed_out, t.family);
    if (!r.error.empty()) co_return;
    r.timings.connect = seconds_between(started, Clock::now());
    if (t.haproxy) {
        tcp_layer.expires_at(deadline);
        auto [ec, n] = co_await asio::async_write(tcp_layer, asio::buffer(proxy_v1_line(tcp_layer.socket())),
                                                  as_tuple(use_awaitable));
        if (ec) {
            r.timed_out = ec == beast::error::timeout;
            r.error = "cannot send the PROXY protocol line: " + ec.message();
            co_return;
        }
    }
    if (!t.tls) co_return;
    if (proxied) {
        r.error = co_await open_tunnel(tcp_layer, t, deadline, r.timed_out);
        if (!r.error.empty()) co_return;
    }
    if (kept && kept->ctx) {
        c.ctx = kept->ctx;
    } else {
        try {
            c.ctx = make_client_context(t.ca, t.cert, t.key, !t.insecure);
            if (t.tls13_only) SSL_CTX_set_min_proto_version(c.ctx->native_handle(), TLS1_3_VERSION);
        } catch (const TlsError& e) {
            r.error = e.what();
            co_return;
        }
        if (kept) kept->ctx = c.ctx;
    }
    auto& s = c.tls.emplace(tcp_layer, *c.ctx);
    boost::system::error_code aec;
    bool is_ip = (asio::ip::make_address(t.host, aec), !aec);
    if (!t.insecure)
        set_expected_peer(s.native_handle(), t.host);
    else if (!is_ip)
        SSL_set_tlsext_host_name(s.native_handle(), t.host.c_str());
    tcp_layer.expires_at(deadline);
    const auto shaking = Clock::now();
    auto [ec] = co_await s.async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
    r.timings.tls = seconds_between(shaking, Clock::now());
    if (ec) {
        r.timed_out = ec == beast::error::timeout;
        r.error = "TLS handshake with " + where(t) + " failed: " +
                  (r.timed_out ? std::string("timed out") : describe_handshake_failure(s.native_handle(), ec, {}, advice(t)));
        co_return;
    }
    c.cert = peer_certificate(s.native_handle()).validity;
}

/// Connects (or takes `kept`'s idle connection), wraps in TLS if asked, and hands the stream to
/// `body`; gives the connection back to `kept` when the answer leaves it reusable.
template <class Body>
asio::awaitable<void> session(const Target& t, Clock::time_point deadline, ProbeResult& r, Body body,
                              std::shared_ptr<Kept> kept = {}) {
    auto ex = co_await asio::this_coro::executor;
    const auto started = Clock::now();
    std::unique_ptr<Connection> c;
    if (kept) c = std::move(kept->idle);  // a server that closed it meanwhile: asked anew below
    for (;;) {
        const bool reused = c != nullptr;
        if (!c) {
            c = std::make_unique<Connection>(ex);
            co_await open(*c, t, deadline, r, kept.get());
            if (!r.error.empty()) co_return;
        }
        r.cert = c->cert;
        if (c->tls)
            co_await body(*c->tls, c->tcp);
        else
            co_await body(c->tcp, c->tcp);
        // The server closed an idle connection just as it was asked again: ask once more, anew.
        if (reused && !r.error.empty() && !r.timed_out && r.first_byte_at == Clock::time_point{}) {
            r = ProbeResult{};
            c.reset();
            continue;
        }
        break;
    }
    r.seconds = seconds_between(started, Clock::now());
    if (kept && r.error.empty() && r.reusable && ++c->rounds < kept->max_rounds) kept->idle = std::move(c);
}

template <class Make>
ProbeResult run(Clock::time_point deadline, Make make) {
    ProbeResult r;
    auto started = Clock::now();
    auto outcome = run_with_deadline(make(r), deadline);
    if (!outcome.exception.empty()) r.error = outcome.exception;
    if (!outcome.finished) {
        r = ProbeResult{};
        r.timed_out = true;
        r.error = "timed out";
        r.seconds = seconds_between(started, Clock::now());
    }
    return r;
}

/// A name to look up before connecting (the lookup has no deadline of its own; every socket
/// operation has: the stream's expiry, set to the deadline before each).
bool needs_lookup(const Target& t) {
    boost::system::error_code ec;
    asio::ip::make_address(t.proxy_host.empty() ? t.address.empty() ? t.host : t.address : t.proxy_host, ec);
    return bool(ec);
}

/// The exchange `make(r)` makes, raced against a timer at `deadline` on the caller's executor
/// when it starts with a name lookup: whichever ends first cancels the other (a lookup
/// abandoned, a socket closed). To an address, the stream's own expiry bounds it.
template <class Make>
asio::awaitable<ProbeResult> run_async(const Target& t, Clock::time_point deadline, Make make) {
    using namespace asio::experimental::awaitable_operators;
    ProbeResult r;
    const auto started = Clock::now();
    if (!needs_lookup(t)) {
        co_await make(r);
        if (!r.error.empty()) r.seconds = seconds_between(started, Clock::now());  // how long it tried
        co_return r;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    bool finished = true;
    try {
        // as_tuple: the timer cancelled when the exchange wins is no exception (they cost a probe ~10 us)
        auto which = co_await (make(r) || timer.async_wait(as_tuple(use_awaitable)));
        finished = which.index() == 0;
    } catch (const std::exception& e) {
        r.error = e.what();
    }
    if (!finished) {
        r = ProbeResult{};
        r.timed_out = true;
        r.error = "timed out";
        r.seconds = seconds_between(started, Clock::now());
    }
    co_return r;
}

}  // namespace

std::string url_host(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string authority(const Target& t) {
    const std::string h = url_host(t.host);
    unsigned short dflt = t.tls ? 443 : 80, port = t.vhost_port ? t.vhost_port : t.port;
    return port == dflt ? h : h + ":" + std::to_string(port);
}

ProbeResult probe_http(const Target& t, const HttpRequest& req, Clock::time_point deadline) {
    return run(deadline, [&](ProbeResult& r) {
        return session(t, deadline, r, [&](auto& s, beast::tcp_stream& tcp_layer) {
            return http_exchange(s, tcp_layer, t, req, deadline, r);
        });
    });
}

ProbeResult probe_line(const Target& t, const std::string& send, Clock::time_point deadline) {
    return run(deadline, [&](ProbeResult& r) {
        return session(t, deadline, r, [&](auto& s, beast::tcp_stream& tcp_layer) {
            return line_exchange(s, tcp_layer, t, send, deadline, r);
        });
    });
}

asio::awaitable<ProbeResult> async_probe_http(Target t, HttpRequest req, Clock::time_point deadline,
                                              std::shared_ptr<Kept> kept) {
    req.keep_alive = kept && kept->max_rounds > 1;
    if (kept && kept->request.empty()) kept->request = wire_bytes(make_request(t, req));
    const std::string* wire = kept ? &kept->request : nullptr;
    co_return co_await run_async(t, deadline, [&](ProbeResult& r) {
        return session(
            t, deadline, r,
            [&](auto& s, beast::tcp_stream& tcp_layer) {
                return http_exchange(s, tcp_layer, t, req, deadline, r, wire);
            },
            kept);
    });
}

asio::awaitable<ProbeResult> async_probe_connect(Target t, Clock::time_point deadline) {
    co_return co_await run_async(t, deadline, [&](ProbeResult& r) {
        return session(t, deadline, r, [](auto&, beast::tcp_stream&) -> asio::awaitable<void> { co_return; });
    });
}

asio::awaitable<ProbeResult> async_probe_line(Target t, std::string send, Clock::time_point deadline) {
    co_return co_await run_async(t, deadline, [&](ProbeResult& r) {
        return session(t, deadline, r, [&](auto& s, beast::tcp_stream& tcp_layer) {
            return line_exchange(s, tcp_layer, t, send, deadline, r);
        });
    });
}

}  // namespace heal::plugin
