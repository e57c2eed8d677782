#include "listener/admission.hpp"

#include "common/log.hpp"
#include "listener/record.hpp"
#include "listener/store_thread.hpp"
#include "common/text.hpp"

#include <algorithm>

namespace heal {

using tcp = boost::asio::ip::tcp;

namespace {

using Denials = decltype(ListenerState::denials);

/// The closing record of a window that counted refusals it did not write one by one.
void write_window(ListenerState& st, const Denials::value_type& entry) {
    const auto& [key, w] = entry;
    const auto& [source, reason] = key;
    if (w.suppressed == 0) return;
    Record rec;
    rec.peer = source;
    rec.reply.id = new_uuid();
    const std::string n = std::to_string(w.suppressed);
    std::string reasons;
    for (const auto& [why, count] : w.why)
        reasons += (reasons.empty() ? ": " : "; ") + std::to_string(count) + "x " + why;
    refuse(rec.reply, reason,
           reason == Reason::not_allowed
               ? n + " more connection(s) from " + source + " refused: peer address is not on the allowlist"
               : n + " more failed TLS handshake(s) from " + source +
                     (w.before_tls ? " (" + std::to_string(w.before_tls) + " of them closed before TLS: more than " +
                                         std::to_string(max_failed_handshakes) + " failed within " +
                                         format_duration(denial_window_ms / 1000.0) + ")"
                                   : "") +
                     reasons);
    auto o = rec.to_json();
    o["count"] = w.suppressed;
    if (!w.why.empty()) {
        boost::json::object by;
        for (const auto& [why, count] : w.why) by[why] = count;
        o["reasons"] = std::move(by);
    }
    audit_later(st, std::move(o));
}

constexpr std::size_t max_reasons_kept = 8;

}  // namespace

bool first_in_window(ListenerState& st, const std::string& source, Reason reason, bool strike,
                     const std::string& why) {
    const auto now = now_ms();
    const auto key = std::make_pair(source, reason);
    auto it = st.denials.find(key);
    if (it != st.denials.end() && now < it->second.until_ms) {
        ++it->second.suppressed;
        it->second.strikes += strike;
        if (!why.empty()) {
            auto& w = it->second.why;
            ++w[w.count(why) || w.size() < max_reasons_kept ? why : "other"];
        }
        return false;
    }
    if (it != st.denials.end()) write_window(st, *it);
    st.denials[key] = DenialWindow{now + denial_window_ms, 0, 0, strike ? 1u : 0u, {}};
    return true;
}

void flush_denials(ListenerState& st, bool all) {
    const auto now = now_ms();
    for (auto it = st.denials.begin(); it != st.denials.end();) {
        if (!all && now < it->second.until_ms) {
            ++it;
            continue;
        }
        write_window(st, *it);
        it = st.denials.erase(it);
    }
}

bool admit(ListenerState& st, const Runtime& rt, const tcp::endpoint& peer, std::uint64_t conn,
           bool count_caps, bool* queued) {
    Record rec;
    rec.conn = conn;
    rec.peer = endpoint_text(peer);
    const std::string source = source_key(peer);
    if (!rt.cfg.allow.allows(peer.address())) {
        if (!first_in_window(st, source, Reason::not_allowed)) return false;
        refuse(rec.reply, Reason::not_allowed, "peer address is not on the allowlist");
    } else if (auto failing = st.denials.find({source, Reason::tls_handshake_failed});
               failing != st.denials.end() && now_ms() < failing->second.until_ms &&
               failing->second.strikes >= max_failed_handshakes) {
        // Its handshakes keep failing: no more TLS work for it this window, counted quietly.
        ++failing->second.suppressed;
        ++failing->second.before_tls;
        return false;
    } else if (count_caps && st.connections >= rt.cfg.max_connections) {
        refuse(rec.reply, Reason::too_many_connections,
               "max_connections (" + std::to_string(rt.cfg.max_connections) + ") reached");
    } else {
        if (count_caps) {
            ++st.connections;
            st.peak_connections = std::max(st.peak_connections, st.connections);
            // At its max_per_source: it waits its turn (serve_connection), within io_timeout.
            const bool full = st.per_source[source] >= rt.cfg.max_per_source;
            if (!full) ++st.per_source[source];
            if (queued) *queued = full;
        }
        return true;
    }
    if (count_caps && st.per_source[source] == 0) st.per_source.erase(source);
    rec.reply.id = new_uuid();
    log::warning(conn_tag(conn, peer) + " denied: " + rec.reply.message);
    auto o = rec.to_json();
    if (rec.reply.reason == Reason::not_allowed) o["count"] = 1;
    audit_later(st, std::move(o));
    return false;
}

void refuse_queued(ListenerState& st, const Runtime& rt, const tcp::endpoint& peer, std::uint64_t conn) {
    const std::string source = source_key(peer);
    if (!first_in_window(st, source, Reason::too_many_connections)) return;
    Record rec;
    rec.conn = conn;
    rec.peer = endpoint_text(peer);
    rec.reply.id = new_uuid();
    refuse(rec.reply, Reason::too_many_connections,
           "max_per_source (" + std::to_string(rt.cfg.max_per_source) + ") connections from " + source +
               " for longer than io_timeout (" + format_duration(rt.cfg.io_timeout) + ")");
    log::warning(conn_tag(conn, peer) + " denied: " + rec.reply.message);
    audit_later(st, rec.to_json());
}

}  // namespace heal
