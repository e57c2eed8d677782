// Prometheus metrics of heal-listener: `GET /metrics` in the text exposition format, plain HTTP
// on [listener] metrics_listen (off by default), for metrics_allow peers (loopback by default).
// The counts come from the state store, so actions of --inetd instances count too.
#pragma once

#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/object.hpp>

#include <map>

#include <string>

namespace heal {

/// What /metrics reads of the state store: read on the store thread (store_thread.hpp).
struct StoreFacts {
    bool up = false;                           ///< the store is usable
    boost::json::object info;                  ///< service_info as anyone sees it
    std::string actions, refusals, durations;  ///< the samples of the store's counters
};
StoreFacts read_store_facts(ListenerState& st, const ListenerConfig& cfg,
                            const std::map<std::string, boost::json::value>& watches);

/// The whole /metrics text for this moment, on the io thread, with what the store said.
std::string render_metrics(ListenerState& st, const Runtime& rt, const StoreFacts& facts);

/// One HTTP request on an admitted metrics connection: GET /metrics gets 200, another path 404,
/// another method 405; each phase within io_timeout, headers within 8 KiB, then closed.
boost::asio::awaitable<void> serve_metrics(ListenerState& st, RuntimePtr rt,
                                           boost::asio::ip::tcp::socket socket);

}  // namespace heal
