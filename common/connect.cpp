#include "connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <vector>

namespace heal {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

asio::awaitable<std::string> connect_tcp(boost::beast::tcp_stream& stream, const std::string& host,
                                         unsigned short port,
                                         const std::optional<asio::ip::address>& bind,
                                         std::chrono::steady_clock::time_point deadline,
                                         bool& timed_out) {
    const std::string where = host + ":" + std::to_string(port);
    timed_out = false;
    std::vector<tcp::endpoint> endpoints;
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(host, ec);
    if (!ec) {
        endpoints.emplace_back(literal, port);
    } else {
        tcp::resolver resolver(co_await asio::this_coro::executor);
        auto [rec, results] = co_await resolver.async_resolve(
            host, std::to_string(port), tcp::resolver::numeric_service, as_tuple(use_awaitable));
        if (rec) co_return "cannot resolve " + host + ": " + rec.message();
        for (const auto& r : results) endpoints.push_back(r.endpoint());
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
