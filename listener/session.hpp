// One connection, from allowlist check to reply (the request path; what it shares with the rest
// of the process is listener/state.hpp). Shared by the daemon and --inetd mode.
// The request path: admit (allowlist, caps) -> TLS handshake -> read -> parse -> identify ->
// gather guard state (guard.hpp) -> decide (decide.hpp) -> audit gate -> run -> audit -> reply.
#pragma once

#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>

namespace heal {

struct Record;

/// Gather, decide, then the verb's own work: every request goes this one way, a remote one
/// and the watch loop's (watch.hpp) alike. `rec.reply` holds the outcome; not yet audited.
boost::asio::awaitable<void> dispatch(ListenerState& st, const Runtime& rt, const Request& req,
                                      const Identity& who, Record& rec, const std::string& tag);

/// Serves one admitted connection; releases its connection count when done. `queued`: admitted
/// at its address's max_per_source, it first waits its turn (within io_timeout).
boost::asio::awaitable<void> serve_connection(ListenerState& st, RuntimePtr rt,
                                              boost::asio::ip::tcp::socket socket,
                                              boost::asio::ip::tcp::endpoint peer,
                                              std::uint64_t conn, bool counted, bool queued = false);

}  // namespace heal
