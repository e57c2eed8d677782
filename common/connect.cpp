#include "common/connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace heal {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

/// getaddrinfo's answer, shared between the lookup thread and the coroutine (whichever goes last
/// frees it).
struct Lookup {
    std::mutex m;
    int rc = 0;
    addrinfo* res = nullptr;
    ~Lookup() {
        if (res) ::freeaddrinfo(res);
    }
};

/// Resolves on a detached thread that is never joined: getaddrinfo cannot be cancelled, and
/// asio's resolver joins its thread when the io_context goes, so a DNS server that never
/// answers held heal-ctl and check_worker for seconds past -t. Here the deadline simply
/// abandons the lookup; the thread wakes the coroutine through a socketpair and never touches
/// the io_context, so it may outlive it (and dies with the process).
asio::awaitable<std::string> resolve(const std::string& host, unsigned short port, Family family,
                                     std::vector<tcp::endpoint>& out) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        co_return std::string("socketpair: ") + std::strerror(errno);
    auto lookup = std::make_shared<Lookup>();
    asio::posix::stream_descriptor wake(co_await asio::this_coro::executor, sv[0]);
    try {
        std::thread([lookup, host, port, family, fd = sv[1]] {
            addrinfo hints{};
            hints.ai_family = family == Family::v4 ? AF_INET : family == Family::v6 ? AF_INET6 : AF_UNSPEC;
            hints.ai_socktype = SOCK_STREAM;
            hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
            addrinfo* res = nullptr;
            int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
            {
                std::lock_guard<std::mutex> lock(lookup->m);
                lookup->rc = rc;
                lookup->res = res;
            }
            char done = 1;
            [[maybe_unused]] auto n = ::send(fd, &done, 1, MSG_NOSIGNAL);  // reader may be gone
            ::close(fd);
        }).detach();
    } catch (const std::system_error& e) {
        ::close(sv[1]);
        co_return std::string("cannot start the name lookup: ") + e.what();
    }
    co_await wake.async_wait(asio::posix::descriptor_base::wait_read, as_tuple(use_awaitable));
    std::lock_guard<std::mutex> lock(lookup->m);
    if (lookup->rc != 0) co_return "cannot resolve " + host + ": " + ::gai_strerror(lookup->rc);
    for (auto* a = lookup->res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET)
            out.emplace_back(asio::ip::make_address_v4(ntohl(
                                 reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr.s_addr)),
                             port);
        else if (a->ai_family == AF_INET6) {
            asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
            out.emplace_back(asio::ip::make_address_v6(b), port);
        }
    }
    if (out.empty())
        co_return "cannot resolve " + host + ": no " +
                  (family == Family::v4 ? "IPv4" : family == Family::v6 ? "IPv6" : "IPv4 or IPv6") +
                  " address";
    co_return "";
}

}  // namespace

asio::awaitable<std::string> connect_tcp(boost::beast::tcp_stream& stream, const std::string& host,
                                         unsigned short port,
                                         const std::optional<asio::ip::address>& bind,
                                         std::chrono::steady_clock::time_point deadline,
                                         bool& timed_out, Family family) {
    const std::string where = host + ":" + std::to_string(port);
    timed_out = false;
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(host, ec);
    if (!ec) {
        if ((family == Family::v4 && !literal.is_v4()) || (family == Family::v6 && !literal.is_v6()))
            co_return "cannot connect to " + where + ": not an " +
                      (family == Family::v4 ? "IPv4" : "IPv6") + " address";
        endpoints.emplace_back(literal, port);
    } else {
        if (auto err = co_await resolve(host, port, family, endpoints); !err.empty()) co_return err;
    }
    ec = asio::error::host_not_found;
    for (const auto& ep : endpoints) {
        if (bind && bind->is_v4() != ep.address().is_v4()) continue;
        stream.close();
        stream.socket().open(ep.protocol());
        if (bind) {
            stream.socket().bind(tcp::endpoint(*bind, 0), ec);
            if (ec) co_return "cannot bind to " + bind->to_string() + ": " + ec.message();
        }
        stream.expires_at(deadline);
        std::tie(ec) = co_await stream.async_connect(ep, as_tuple(use_awaitable));
        if (!ec) break;
        if (ec == boost::beast::error::timeout) break;
    }
    if (ec) {
        timed_out = ec == boost::beast::error::timeout;
        co_return "cannot connect to " + where + ": " + (timed_out ? "timed out" : ec.message());
    }
    stream.socket().set_option(tcp::no_delay(true));
    co_return "";
}

}  // namespace heal
