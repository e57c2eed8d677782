// Prometheus metrics of heal-listener: `GET /metrics` in the text exposition format, plain HTTP
// on [listener] metrics_listen (off by default), for metrics_allow peers (loopback by default).
// The counts come from the state store, so actions of --inetd instances count too.
#pragma once

#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace heal {

/// The whole /metrics text for this moment.
std::string render_metrics(ListenerState& st, const Runtime& rt);

/// One HTTP request on an admitted metrics connection: GET /metrics gets 200, another path 404,
/// another method 405; each phase within io_timeout, headers within 8 KiB, then closed.
boost::asio::awaitable<void> serve_metrics(ListenerState& st, RuntimePtr rt,
                                           boost::asio::ip::tcp::socket socket);

}  // namespace heal
