#include "probe.hpp"

#include "http_response.hpp"

#include "connect.hpp"
#include "run.hpp"
#include "tls.hpp"
#include "version.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <optional>

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

std::string where(const Target& t) {
    return (t.address.empty() ? t.host : t.address) + ":" + std::to_string(t.port);
}

template <class Stream>
asio::awaitable<void> http_exchange(Stream& s, beast::tcp_stream& tcp_layer, const Target& t,
                                    const HttpRequest& hr, Clock::time_point deadline,
                                    ProbeResult& r) {
    http::request<http::string_body> req;
    req.method_string(hr.method);
    req.target(hr.path);
    req.version(11);
    req.set(http::field::host, authority(t));
    req.set(http::field::user_agent,
            hr.user_agent.empty() ? std::string("check_worker/" HEAL_VERSION) : hr.user_agent);
    req.set(http::field::connection, "close");
    if (!hr.body.empty()) {
        req.set(http::field::content_type, hr.content_type);
        req.body() = hr.body;
        req.prepare_payload();
    }
    for (const auto& [name, value] : hr.headers) req.set(name, value);
    tcp_layer.expires_at(deadline);
    auto [wec, wn] = co_await http::async_write(s, req, as_tuple(use_awaitable));
    if (wec) {
        r.timed_out = wec == beast::error::timeout;
        r.error = "cannot send the request to " + where(t) + ": " + wec.message();
        co_return;
    }
    beast::flat_buffer buf;
    // Interim responses (100 Continue, 103 Early Hints: RFC 9110 15.2) come before the answer
    // and are skipped, at most max_interim of them; 101 would switch protocols, so it is final.
    constexpr int max_interim = 8;
    std::optional<ResponseParser> parser;
    boost::system::error_code ec;
    for (int interim = 0;; ++interim) {
        parser.emplace();
        limit_parser(*parser, hr.max_body);
        parser->skip(hr.method == "HEAD");  // a HEAD response announces a body it does not send
        std::tie(ec, std::ignore) = co_await http::async_read_header(s, buf, *parser, as_tuple(use_awaitable));
        const unsigned code = ec ? 0 : parser->get().result_int();
        if (code < 100 || code > 199 || code == 101) break;
        if (interim == max_interim) {
            r.error = "more than " + std::to_string(max_interim) + " interim (1xx) responses from " + where(t) +
                      " and no final one";
            co_return;
        }
    }
    if (!ec && !hr.headers_only && !parser->is_done())
        std::tie(ec, std::ignore) = co_await http::async_read(s, buf, *parser, as_tuple(use_awaitable));
    ResponseParser& parser_ref = *parser;
    bool over_limit = ec == http::error::body_limit && parser_ref.is_header_done();
    bool complete = parser_ref.is_done() || (hr.headers_only && parser_ref.is_header_done());
    if (ec && !over_limit && !(ec == asio::ssl::error::stream_truncated && complete)) {
        r.timed_out = ec == beast::error::timeout;
        r.error = r.timed_out ? "timed out waiting for the response from " + where(t)
                              : "invalid HTTP response from " + where(t) + ": " + ec.message();
        co_return;
    }
    take_response(parser_ref, over_limit, r);
}

template <class Stream>
asio::awaitable<void> line_exchange(Stream& s, beast::tcp_stream& tcp_layer, const Target& t,
                                    const std::string& send, Clock::time_point deadline,
                                    ProbeResult& r) {
    tcp_layer.expires_at(deadline);
    if (!send.empty()) {
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(send), as_tuple(use_awaitable));
        if (wec) {
            r.error = "cannot send to " + where(t) + ": " + wec.message();
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
                              : "no line from " + where(t) + ": " + ec.message();
    } else {
        r.line = data.substr(0, ec ? data.size() : n);  // a last line without '\n' still counts
    }
}

/// Connects, wraps in TLS if asked, and hands the stream to `body`.
template <class Body>
asio::awaitable<void> session(const Target& t, Clock::time_point deadline, ProbeResult& r,
                              Body body) {
    auto ex = co_await asio::this_coro::executor;
    auto started = Clock::now();
    beast::tcp_stream tcp_layer(ex);
    r.error = co_await connect_tcp(tcp_layer, t.address.empty() ? t.host : t.address, t.port,
                                   std::nullopt, deadline, r.timed_out, t.family);
    if (!r.error.empty()) co_return;
    if (!t.tls) {
        co_await body(tcp_layer, tcp_layer);
    } else {
        std::shared_ptr<ssl::context> ctx;
        try {
            ctx = make_client_context(t.ca, t.cert, t.key, !t.insecure);
            if (t.tls13_only) SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_3_VERSION);
        } catch (const TlsError& e) {
            r.error = e.what();
            co_return;
        }
        beast::ssl_stream<beast::tcp_stream&> s(tcp_layer, *ctx);
        boost::system::error_code aec;
        bool is_ip = (asio::ip::make_address(t.host, aec), !aec);
        if (!t.insecure)
            set_expected_peer(s.native_handle(), t.host);
        else if (!is_ip)
            SSL_set_tlsext_host_name(s.native_handle(), t.host.c_str());
        tcp_layer.expires_at(deadline);
        auto [ec] = co_await s.async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
        if (ec) {
            r.timed_out = ec == beast::error::timeout;
            r.error = "TLS handshake with " + where(t) + " failed: " +
                      (r.timed_out ? std::string("timed out")
                                   : describe_handshake_failure(s.native_handle(), ec));
            co_return;
        }
        r.cert_days = peer_certificate(s.native_handle()).days_left;
        co_await body(s, tcp_layer);
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
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
        r.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    }
    return r;
}

}  // namespace

std::string authority(const Target& t) {
    bool v6 = t.host.find(':') != std::string::npos;
    std::string h = v6 ? "[" + t.host + "]" : t.host;
    unsigned short dflt = t.tls ? 443 : 80;
    return t.port == dflt ? h : h + ":" + std::to_string(t.port);
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

}  // namespace heal::plugin
