#include "listener/tls_connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>

#include <cerrno>
#include <stdexcept>

namespace heal {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::as_tuple;
using asio::use_awaitable;

TlsConnection::TlsConnection(asio::ip::tcp::socket socket, asio::ssl::context& ctx)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {
    ssl_ = SSL_new(ctx.native_handle());
    if (!ssl_) throw std::runtime_error("SSL_new: out of memory");
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ec || SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) {
        SSL_free(ssl_);
        throw std::runtime_error("SSL_set_fd failed");
    }
    SSL_set_accept_state(ssl_);
}

TlsConnection::~TlsConnection() { SSL_free(ssl_); }

template <class Op>
asio::awaitable<TlsConnection::error_code> TlsConnection::drive(Op op, Clock::time_point deadline) {
    for (;;) {
        ERR_clear_error();
        errno = 0;  // read below only for SSL_ERROR_SYSCALL: it must be this call's
        int r = op();
        if (r > 0) co_return error_code{};
        int err = SSL_get_error(ssl_, r);
        asio::socket_base::wait_type wait;
        if (err == SSL_ERROR_WANT_READ) {
            wait = asio::socket_base::wait_read;
        } else if (err == SSL_ERROR_WANT_WRITE) {
            wait = asio::socket_base::wait_write;
        } else if (err == SSL_ERROR_ZERO_RETURN) {
            co_return asio::error::eof;
        } else if (err == SSL_ERROR_SSL) {
            unsigned long e = ERR_peek_last_error();
            // The peer closed in the middle of a record: what asio calls a truncated stream.
            if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                co_return asio::ssl::error::stream_truncated;
            co_return error_code(static_cast<int>(e), asio::error::get_ssl_category());
        } else {  // SSL_ERROR_SYSCALL: the socket failed, or closed without close_notify
            int sys = errno;
            co_return sys ? error_code(sys, asio::error::get_system_category())
                          : error_code(asio::ssl::error::stream_truncated);
        }
        if (Clock::now() >= deadline) co_return asio::error::timed_out;
        timer_.expires_at(deadline);
        auto which = co_await (socket_.async_wait(wait, as_tuple(use_awaitable)) ||
                               timer_.async_wait(as_tuple(use_awaitable)));
        if (which.index() == 1) co_return asio::error::timed_out;
        if (auto [ec] = std::get<0>(which); ec) co_return ec;
    }
}

asio::awaitable<TlsConnection::error_code> TlsConnection::handshake(Clock::time_point deadline) {
    co_return co_await drive([this] { return SSL_accept(ssl_); }, deadline);
}

asio::awaitable<std::pair<TlsConnection::error_code, std::size_t>> TlsConnection::read_line(
    std::string& buf, std::size_t max, Clock::time_point deadline) {
    for (;;) {
        // As asio::read_until with a dynamic_buffer of `max`: a line must fit in max bytes.
        auto nl = buf.find('\n');
        if (nl != std::string::npos && nl < max) co_return std::pair{error_code{}, nl + 1};
        if (nl != std::string::npos || buf.size() >= max)
            co_return std::pair{error_code(asio::error::not_found), std::size_t{0}};
        // Wait for the bytes first: an SSL_read on an empty socket allocates OpenSSL's 16 KiB
        // read buffer and holds it while the client takes its time.
        if (SSL_pending(ssl_) == 0 && SSL_has_pending(ssl_) == 0) {
            if (Clock::now() >= deadline) co_return std::pair{error_code(asio::error::timed_out), std::size_t{0}};
            timer_.expires_at(deadline);
            auto which = co_await (socket_.async_wait(asio::socket_base::wait_read, as_tuple(use_awaitable)) ||
                                   timer_.async_wait(as_tuple(use_awaitable)));
            if (which.index() == 1) co_return std::pair{error_code(asio::error::timed_out), std::size_t{0}};
        }
        char chunk[512];
        std::size_t got = 0;
        auto ec = co_await drive([&] { return SSL_read_ex(ssl_, chunk, sizeof chunk, &got); }, deadline);
        if (ec) co_return std::pair{ec, std::size_t{0}};
        buf.append(chunk, got);
    }
}

asio::awaitable<TlsConnection::error_code> TlsConnection::write(std::string_view data,
                                                                Clock::time_point deadline) {
    while (!data.empty()) {
        std::size_t put = 0;
        auto ec = co_await drive([&] { return SSL_write_ex(ssl_, data.data(), data.size(), &put); }, deadline);
        if (ec) co_return ec;
        data.remove_prefix(put);
    }
    co_return error_code{};
}

asio::awaitable<TlsConnection::error_code> TlsConnection::shutdown(Clock::time_point deadline) {
    // 0 from SSL_shutdown: ours is sent, theirs not yet read; 1: both done.
    co_return co_await drive(
        [this] {
            int r = SSL_shutdown(ssl_);
            if (r == 0) {
                // Not an error: read on until the peer's close_notify (SSL_shutdown again).
                char c;
                std::size_t n = 0;
                int rr = SSL_read_ex(ssl_, &c, 1, &n);
                return rr;  // <= 0 with WANT_READ while waiting; ZERO_RETURN once it arrives
            }
            return r;
        },
        deadline);
}

asio::awaitable<void> TlsConnection::linger(Clock::time_point deadline) {
    error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    char drop[1024];
    while (!ec && Clock::now() < deadline) {
        timer_.expires_at(deadline);
        auto which = co_await (socket_.async_wait(asio::socket_base::wait_read, as_tuple(use_awaitable)) ||
                               timer_.async_wait(as_tuple(use_awaitable)));
        if (which.index() == 1) break;
        std::size_t n = socket_.read_some(asio::buffer(drop), ec);
        if (ec == asio::error::would_block) ec = {};
        else if (n == 0) break;
    }
}

}  // namespace heal
