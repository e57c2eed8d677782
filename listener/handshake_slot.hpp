// Taking turns at the TLS handshake. A handshake is CPU work: run all of a burst's at once and
// each takes as long as all of them (500 at once finished together, and only then did any
// action start; with 16 at a time, half the replies are in by 57% of the burst), and each
// holds its record and handshake buffers (40 KiB) meanwhile. So at most max_handshakes run at
// once and at most half of them for one address (clients that connect and stall until their
// io_timeout cannot hold up everyone else's); the rest wait in order of arrival, within their
// io_timeout.
#pragma once

#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace heal {

inline constexpr unsigned max_handshakes = 16;
inline constexpr unsigned max_handshakes_per_source = max_handshakes / 2;

/// One slot, held from acquire() until destruction; the next eligible waiter is woken then.
class HandshakeSlot {
public:
    /// `counted` false (inetd: one connection per process): acquire() never waits.
    HandshakeSlot(ListenerState& st, std::string source, bool counted);
    ~HandshakeSlot();
    HandshakeSlot(const HandshakeSlot&) = delete;
    HandshakeSlot& operator=(const HandshakeSlot&) = delete;

    /// False when `deadline` passed while waiting.
    boost::asio::awaitable<bool> acquire(std::chrono::steady_clock::time_point deadline);

private:
    bool source_full(const std::string& source) const;
    bool free_for_me() const;
    /// A waiter that could take a slot were one free goes first; waiters of an address at its
    /// share do not hold up other addresses.
    bool someone_eligible_waits() const;

    ListenerState& st_;
    std::string source_;
    bool counted_, held_ = false;
};

}  // namespace heal
