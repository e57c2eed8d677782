#include "common/client.hpp"

#include "common/address.hpp"
#include "common/clock.hpp"
#include "common/connect.hpp"
#include "common/run.hpp"
#include "common/text.hpp"
#include "common/tls.hpp"
#include "common/tls_errors.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <cstdio>

namespace heal {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

asio::awaitable<void> exchange(const ClientOptions& o, const std::string& request,
                               ssl::context& ctx, std::chrono::steady_clock::time_point deadline,
                               CallResult& out) {
    auto ex = co_await asio::this_coro::executor;
    const std::string where = o.host + ":" + std::to_string(o.port);

    std::optional<asio::ip::address> bind_addr;
    if (!o.bind.empty()) {
        boost::system::error_code ec;
        bind_addr = asio::ip::make_address(o.bind, ec);
        if (ec) {
            out.error = "bad --bind address '" + printable(o.bind) + "'";
            co_return;
        }
    }

    beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
    auto& tcp_layer = beast::get_lowest_layer(stream);
    bool timed_out = false;
    out.error = co_await connect_tcp(tcp_layer, o.host, o.port, bind_addr, deadline, timed_out);
    if (!out.error.empty()) co_return;
    boost::system::error_code ec;

    try {
        set_expected_peer(stream.native_handle(), o.server_name.empty() ? o.host : o.server_name);
    } catch (const TlsError& e) {
        out.error = e.what();
        co_return;
    }
    tcp_layer.expires_at(deadline);
    std::tie(ec) = co_await stream.async_handshake(ssl::stream_base::client, as_tuple(use_awaitable));
    if (ec) {
        // Not one byte came back for our ClientHello: the listener closed before any TLS work.
        const bool before_tls = BIO_number_read(SSL_get_rbio(stream.native_handle())) == 0;
        out.error = "TLS handshake with " + where + " failed: " +
                    (ec == beast::error::timeout ? std::string("timed out")
                     : before_tls && (ec == boost::asio::error::eof || ec == ssl::error::stream_truncated ||
                                      ec == boost::asio::error::connection_reset)
                         ? std::string("the listener closed the connection before TLS: is this host on its "
                                       "allowlist? Or it had max_per_source connections from here for longer "
                                       "than its io_timeout (a burst), or max_connections in all, or this "
                                       "host's handshakes kept failing; its log and audit log say which")
                         : describe_handshake_failure(stream.native_handle(), ec,
                                                      "is this host on the listener's allowlist, "
                                                      "and is our certificate signed by its "
                                                      "client_ca?"));
        co_return;
    }

    out.server_cert = peer_certificate(stream.native_handle()).validity;
    tcp_layer.expires_at(deadline);
    std::tie(ec, std::ignore) =
        co_await asio::async_write(stream, asio::buffer(request), as_tuple(use_awaitable));
    if (ec) {
        out.error = "cannot send the request to " + where + ": " + error_text(ec);
        co_return;
    }

    std::string reply;
    tcp_layer.expires_at(deadline);
    std::size_t n = 0;
    std::tie(ec, n) = co_await asio::async_read_until(
        stream, asio::dynamic_buffer(reply, max_reply_bytes), '\n', as_tuple(use_awaitable));
    if (ec) {
        if (ec == beast::error::timeout)
            out.error = "timed out waiting for the reply from " + where +
                        " (the action may still be running there; heal-ctl never re-sends)";
        else if (auto alert = describe_peer_alert(ec, stream.native_handle()); !alert.empty())
            out.error = alert;
        else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
            out.error = "connection to " + where + " closed without a reply";
        else
            out.error = "cannot read the reply from " + where + ": " + error_text(ec);
        co_return;
    }
    std::string perr;
    auto parsed = parse_reply(std::string_view(reply).substr(0, n - 1), perr);
    if (!parsed) {
        out.error = "unreadable reply from " + where + ": " + perr;
        co_return;
    }
    out.answered = true;
    out.reply = std::move(*parsed);

    // Polite close; the answer is already in hand, so a slow or failed shutdown does not matter.
    tcp_layer.expires_after(std::chrono::milliseconds(500));
    co_await stream.async_shutdown(as_tuple(use_awaitable));
}

}  // namespace

CallResult call_listener(const ClientOptions& options, const std::string& request_line) {
    CallResult out;
    std::shared_ptr<ssl::context> ctx;
    try {
        ctx = make_client_context(options.ca, options.cert, options.key);
        if (!options.crl.empty()) out.warnings = add_crls(*ctx, options.crl, options.crl_refuse_stale);
    } catch (const TlsError& e) {
        out.error = e.what();
        return out;
    }
    auto deadline = std::chrono::steady_clock::now() + steady_duration(options.timeout);
    // 600 ms past the exchange's own deadline: room for the polite TLS shutdown after a reply.
    auto run = run_with_deadline(exchange(options, request_line, *ctx, deadline, out),
                                 deadline + std::chrono::milliseconds(600));
    if (!run.exception.empty()) {
        out.answered = false;
        out.error = run.exception;
    } else if (!run.finished && !out.answered) {
        out.error = "timed out after " + seconds_text(options.timeout);
    }
    return out;
}

}  // namespace heal
