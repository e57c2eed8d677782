// How check_worker reads an HTTP response: the header block found and tidied by hand (bare-LF
// line ends and headers cut by the connection closing are accepted, as curl accepts them), then
// Beast's parser with its limits for everything else. Shared by the probe (from the network)
// and the fuzzer (from bytes).
#pragma once

#include "checks/probe.hpp"
#include "common/tls_errors.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace heal::plugin {

using ResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

/// TLS ended without close_notify: after a complete message, how many servers end.
inline bool tls_truncated(const boost::system::error_code& ec) {
    return ec == boost::asio::ssl::error::stream_truncated;
}

constexpr std::size_t max_header_bytes = 64 * 1024;

/// Where the header block in `data` ends: just past its empty line, whether lines end in CRLF
/// or a bare LF (RFC 9112 2.2 lets a recipient accept those); 0 when it has not ended yet.
std::size_t header_end(std::string_view data);

/// The header block as Beast's parser reads it: every bare LF made CRLF, and the empty line
/// added when the block was cut short by the connection closing.
std::string tidy_header_block(std::string_view block);

/// Inflates a body sent with Content-Encoding `encoding` (gzip, x-gzip or deflate) in place,
/// never to more than `limit` bytes: "" when done, else why not (a decompression bomb, a
/// corrupt or cut stream, an encoding we did not ask for).
std::string inflate_body(std::string& body, std::string_view encoding, std::size_t limit);

/// At most `max_body` bytes of body are ever held.
void limit_parser(ResponseParser& parser, std::size_t max_body);

/// Status, headers and body of a parsed response into `r`; `over_limit` when the body was cut
/// at the limit (the headers are complete). `raw_header` is the header block as received: its
/// size counts in the page size, and -d searches its lines as they came.
void take_response(ResponseParser& parser, bool over_limit, std::string_view raw_header,
                   ProbeResult& r);

struct ReadOptions {
    std::size_t max_body = 1 << 20;
    bool head = false;          ///< the request was HEAD: no body follows the headers
    bool headers_only = false;  ///< -N: stop after the headers
    bool tunnel = false;        ///< the answer to a CONNECT: a 2xx has no body either
};

/// Reads one response from `s` into `r` (interim 1xx responses skipped, at most 8): "" when
/// done ("" also when the body was cut at `max_body`), else what was wrong with it, in words,
/// with `r.timed_out` set when that was the stream's timeout. With `tunnel`, what came after
/// the answer is left in `leftover`, which is also where reading starts.
template <class Stream>
boost::asio::awaitable<std::string> read_response(Stream& s, const ReadOptions& o, ProbeResult& r,
                                                  std::string& leftover) {
    namespace asio = boost::asio;
    namespace http = boost::beast::http;
    constexpr int max_interim = 8;
    std::optional<ResponseParser> parser;
    std::string data = std::move(leftover);
    leftover.clear();
    for (int interim = 0;; ++interim) {
        // The header block, by hand: whatever its line ends, however the server closes.
        std::size_t end = header_end(data);
        bool closed = false;
        while (end == 0 && !closed) {
            if (data.size() > max_header_bytes) co_return "headers larger than 64 KiB";
            char chunk[4096];
            auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
            data.append(chunk, n);
            if (n > 0 && r.first_byte_at == std::chrono::steady_clock::time_point{})
                r.first_byte_at = std::chrono::steady_clock::now();
            if (ec == asio::error::eof || tls_truncated(ec)) {
                closed = true;
            } else if (ec) {
                r.timed_out = ec == boost::beast::error::timeout;
                co_return error_text(ec);
            }
            end = header_end(data);
        }
        if (end == 0) {  // closed before the empty line: the headers end there
            if (data.empty()) co_return "the connection closed without a response";
            if (data.rfind("HTTP/", 0) != 0) co_return "it does not start with HTTP/";
            end = data.size();
        }
        if (end > max_header_bytes) co_return "headers larger than 64 KiB";
        parser.emplace();
        limit_parser(*parser, o.max_body);
        // A HEAD's answer announces a body it does not send; a tunnel's 2xx has none (and its
        // refusal's body does not matter). Beast must be told before it reads the header.
        parser->skip(o.head || o.tunnel);
        boost::system::error_code ec;
        std::string block = tidy_header_block(std::string_view(data).substr(0, end));
        parser->put(asio::buffer(block), ec);
        const std::string raw_header = data.substr(0, end);
        if (ec == http::error::body_limit && parser->is_header_done()) {  // its Content-Length
            take_response(*parser, true, raw_header, r);
            co_return std::string();
        }
        if (!ec && !parser->is_header_done()) ec = http::error::partial_message;
        if (ec) co_return error_text(ec);
        data.erase(0, end);
        const unsigned code = parser->get().result_int();
        if (code >= 100 && code <= 199 && code != 101) {
            if (interim == max_interim)
                co_return "more than " + std::to_string(max_interim) + " interim (1xx) responses and no final one";
            continue;
        }
        bool over_limit = false;
        if (!o.headers_only && !parser->is_done()) {
            if (closed) {
                if (!data.empty()) parser->put(asio::buffer(data), ec);
                if (!ec && !parser->is_done()) parser->put_eof(ec);
            } else {
                boost::beast::flat_buffer buf;
                auto n = asio::buffer_copy(buf.prepare(data.size()), asio::buffer(data));
                buf.commit(n);
                std::tie(ec, std::ignore) = co_await http::async_read(s, buf, *parser, asio::as_tuple(asio::use_awaitable));
                // TLS without close_notify after a complete message is how many servers end.
                if (tls_truncated(ec) && parser->is_done()) ec = {};
                closed = ec || buf.size() != 0;  // what came after the answer: not ours to read
                data.clear();
            }
            over_limit = ec == http::error::body_limit;
            if (ec && !over_limit) {
                r.timed_out = ec == boost::beast::error::timeout;
                co_return error_text(ec);
            }
        } else if (o.tunnel) {
            leftover = std::move(data);
        }
        r.reusable = !closed && !over_limit && !o.headers_only && !o.tunnel && data.empty() && parser->is_done() &&
                     parser->keep_alive() && !parser->need_eof();
        take_response(*parser, over_limit, raw_header, r);
        co_return std::string();
    }
}

}  // namespace heal::plugin
