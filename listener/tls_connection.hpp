// One server-side TLS connection driven straight on its socket: OpenSSL reads and writes the
// non-blocking descriptor itself, and the coroutine waits for readiness when OpenSSL asks.
//
// Why not asio::ssl::stream: it gives every connection two 17 KiB buffers of its own (zero-
// filled) plus a 2 x 17 KiB BIO pair, on top of OpenSSL's record buffers: about 100 KiB per
// connection, 60 MiB with 500 open. Here an idle connection keeps the SSL object and little
// else (SSL_MODE_RELEASE_BUFFERS), and no byte is copied between buffers on the way.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <openssl/ssl.h>

#include <chrono>
#include <string>
#include <string_view>

namespace heal {

class TlsConnection {
public:
    using Clock = std::chrono::steady_clock;
    using error_code = boost::system::error_code;

    /// Takes the accepted socket; throws std::runtime_error when OpenSSL cannot make the SSL.
    TlsConnection(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& ctx);
    ~TlsConnection();
    TlsConnection(const TlsConnection&) = delete;
    TlsConnection& operator=(const TlsConnection&) = delete;

    SSL* native_handle() { return ssl_; }

    /// Errors: OpenSSL's (asio's ssl category, so message() is OpenSSL's reason), asio::error::eof
    /// or ssl::error::stream_truncated for a peer that went away, asio::error::timed_out.
    boost::asio::awaitable<error_code> handshake(Clock::time_point deadline);
    /// Reads until a '\n' arrives (everything read stays in `buf`, also what follows it): the
    /// line's length with its '\n', or asio::error::not_found once more than `max` bytes came
    /// without one.
    boost::asio::awaitable<std::pair<error_code, std::size_t>> read_line(std::string& buf, std::size_t max,
                                                                         Clock::time_point deadline);
    boost::asio::awaitable<error_code> write(std::string_view data, Clock::time_point deadline);
    /// Sends close_notify and waits (until the deadline) for the peer's, or its close.
    boost::asio::awaitable<error_code> shutdown(Clock::time_point deadline);
    /// After a failed handshake: the alert is sent; send FIN and read and drop what the peer
    /// still sends until it closes or `deadline`. Closing at once would answer the request a
    /// TLS 1.3 client sends right after its Finished with a reset, and the client would see
    /// "connection reset" instead of the alert that says why.
    boost::asio::awaitable<void> linger(Clock::time_point deadline);

private:
    /// Runs `op` (SSL_accept, SSL_read_ex, ...) until it succeeds or fails for good, waiting
    /// for the socket whenever OpenSSL wants to read or write.
    template <class Op>
    boost::asio::awaitable<error_code> drive(Op op, Clock::time_point deadline);

    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer timer_;
    SSL* ssl_ = nullptr;
};

}  // namespace heal
