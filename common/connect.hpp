// Connecting a TCP stream, shared by heal-ctl and the check plugins.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace heal {

/// Which addresses a name may resolve to (-4 / -6 of the checks).
enum class Family { any, v4, v6 };

/// Connects `stream` to host:port before `deadline`, trying each address in turn. A literal
/// address is used as it is (asio's resolver would start a thread for it). With `bind`, only
/// addresses of its family are tried, from that local address; with `family`, only addresses of
/// that family. Returns "" or why not, e.g. "cannot connect to web1:5669: Connection refused";
/// `timed_out` tells a timeout apart.
boost::asio::awaitable<std::string> connect_tcp(boost::beast::tcp_stream& stream,
                                                const std::string& host, unsigned short port,
                                                const std::optional<boost::asio::ip::address>& bind,
                                                std::chrono::steady_clock::time_point deadline,
                                                bool& timed_out, Family family = Family::any);

}  // namespace heal
