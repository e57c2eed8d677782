#include "listener/handshake_slot.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace heal {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;

HandshakeSlot::HandshakeSlot(ListenerState& st, std::string source, bool counted)
    : st_(st), source_(std::move(source)), counted_(counted) {}

HandshakeSlot::~HandshakeSlot() {
    if (!held_) return;
    --st_.handshakes;
    if (--st_.handshakes_per_source[source_] == 0) st_.handshakes_per_source.erase(source_);
    for (auto it = st_.handshake_queue.begin(); it != st_.handshake_queue.end();) {
        auto turn = it->turn.lock();
        if (!turn) {
            it = st_.handshake_queue.erase(it);  // gave up waiting
            continue;
        }
        if (!source_full(it->source)) {
            st_.handshake_queue.erase(it);
            turn->cancel();  // its turn
            break;
        }
        ++it;
    }
}

asio::awaitable<bool> HandshakeSlot::acquire(std::chrono::steady_clock::time_point deadline) {
    if (counted_ && (!free_for_me() || someone_eligible_waits())) {
        auto turn = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, deadline);
        st_.handshake_queue.push_back({turn, source_});
        for (;;) {
            auto [ec] = co_await turn->async_wait(as_tuple(use_awaitable));
            if (!ec) co_return false;  // the deadline, not our turn
            if (free_for_me()) break;
            st_.handshake_queue.push_front({turn, source_});  // a newcomer took the slot
        }
    }
    ++st_.handshakes;
    ++st_.handshakes_per_source[source_];
    held_ = true;
    co_return true;
}

bool HandshakeSlot::source_full(const std::string& source) const {
    auto it = st_.handshakes_per_source.find(source);
    return it != st_.handshakes_per_source.end() && it->second >= max_handshakes_per_source;
}

bool HandshakeSlot::free_for_me() const {
    return st_.handshakes < max_handshakes && !source_full(source_);
}

bool HandshakeSlot::someone_eligible_waits() const {
    for (const auto& w : st_.handshake_queue)
        if (!w.turn.expired() && !source_full(w.source)) return true;
    return false;
}

}  // namespace heal
