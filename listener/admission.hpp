// Admission: what happens to a connection before any TLS work, and how refusals of peers not
// yet known are recorded. A flood from one source (outside the allowlist, or failing its
// handshakes) must not fill the disk with records or the CPU with handshakes: the first such
// refusal of a source in a 10 s window is logged and audited at once, the rest are counted
// into one record when the window ends; a source whose handshakes keep failing is closed
// before TLS for the rest of its window.
#pragma once

#include "listener/state.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>

namespace heal {

inline constexpr std::int64_t denial_window_ms = 10'000;
/// Handshakes of one source that failed on what it sent (a certificate refused, not TLS) in a
/// window, after which it is refused before TLS. A peer that only connects and closes or
/// stalls (check_tcp, a port scan, a network hiccup) is aggregated but never capped.
inline constexpr unsigned max_failed_handshakes = 10;

/// Allowlist, the failed-handshake rate, max_connections, checked before any TLS work. Audits
/// and logs a refusal (aggregated per source, see above). `count_caps` is false under inetd,
/// where xinetd's instances/per_source/cps do that job (each instance is its own process).
/// An address at its max_per_source is admitted `queued`: it waits for one of its connections
/// to end (serve_connection), within io_timeout, instead of being closed at once (a Nagios
/// server's burst of checks must not lose half of them).
bool admit(ListenerState& st, const Runtime& rt, const boost::asio::ip::tcp::endpoint& peer,
           std::uint64_t conn, bool count_caps, bool* queued = nullptr);

/// A queued connection whose io_timeout passed: closed before TLS, logged and audited as
/// too_many_connections (aggregated per source, see above).
void refuse_queued(ListenerState& st, const Runtime& rt, const boost::asio::ip::tcp::endpoint& peer,
                   std::uint64_t conn);

/// A refusal of a source not yet known: true when it is the first of `source` for `reason`
/// in the current window (log and audit it now); false when it was counted for the window's
/// closing record, with `why` counted per reason. `strike`: a handshake that failed on what
/// the peer sent (see above).
bool first_in_window(ListenerState& st, const std::string& source, Reason reason, bool strike = false,
                     const std::string& why = "");

/// Writes the aggregated counts of windows that have ended (all of them when `all`).
void flush_denials(ListenerState& st, bool all = false);

}  // namespace heal
