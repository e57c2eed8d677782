#include "listener/session.hpp"

#include "listener/admission.hpp"
#include "common/clock.hpp"
#include "listener/decide.hpp"
#include "listener/guard.hpp"
#include "listener/handshake_slot.hpp"
#include "common/log.hpp"
#include "common/protocol.hpp"
#include "listener/record.hpp"
#include "listener/store_thread.hpp"
#include "common/text.hpp"
#include "listener/tls_connection.hpp"
#include "listener/verbs.hpp"

#include <boost/asio.hpp>

#include <malloc.h>

#include <algorithm>
#include <chrono>

namespace heal {

using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {



/// The first live waiter of `source` (a connection queued at max_per_source) takes its turn.
void wake_next(ListenerState& st, const std::string& source) {
    auto q = st.source_queue.find(source);
    if (q == st.source_queue.end()) return;
    while (!q->second.empty()) {
        auto turn = q->second.front().lock();
        q->second.pop_front();
        if (turn) {
            turn->cancel();
            break;
        }
    }
    if (q->second.empty()) st.source_queue.erase(q);
}

/// Waits, in order of arrival, for a connection of `source` to end; false when `deadline`
/// passed first. Takes the slot (per_source) on success.
asio::awaitable<bool> source_turn(ListenerState& st, const Runtime& rt, const std::string& source,
                                  std::chrono::steady_clock::time_point deadline) {
    auto turn = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, deadline);
    st.source_queue[source].push_back(turn);
    for (;;) {
        auto [ec] = co_await turn->async_wait(as_tuple(use_awaitable));
        if (!ec || st.stopping) co_return false;  // the deadline, not our turn
        if (st.per_source[source] < rt.cfg.max_per_source) break;
        turn->expires_at(deadline);
        st.source_queue[source].push_front(turn);  // someone else took it: first again
    }
    ++st.per_source[source];
    co_return true;
}

struct ConnectionCount {
    ListenerState& st;
    std::string source;
    bool counted;
    bool holds_source_slot = true;  ///< false while queued at max_per_source
    ~ConnectionCount() {
        if (!counted) return;
        --st.connections;
        if (holds_source_slot) {
            if (--st.per_source[source] == 0) st.per_source.erase(source);
            wake_next(st, source);
        }
        // The last connection of a burst gone: give its memory back. glibc keeps freed heap
        // for reuse; after 500 connections that is 30 MiB held for ever (and every fork copies
        // its page tables). Once per burst (16 or more connections at once): a trim walks the
        // heap, and trimming after every request cost 1.3 ms of CPU each once a burst had left
        // the heap large.
        if (st.connections == 0 && st.peak_connections >= 16) {
            st.peak_connections = 0;
            ::malloc_trim(0);
        }
    }
};

using Deadline = std::chrono::steady_clock::time_point;

/// The TLS handshake, taking turns (handshake_slot.hpp). On failure: refused, recorded (once
/// per source and window, admission.hpp) with OpenSSL's reason, and false.
asio::awaitable<bool> handshake(ListenerState& st, TlsConnection& tls, Record& rec, const tcp::endpoint& peer,
                                const std::string& tag, bool counted, Deadline deadline) {
    boost::system::error_code ec;
    {
        HandshakeSlot slot(st, source_key(peer), counted);
        // Not one ?: with a co_await in it: GCC 12 got that wrong (no slot was ever waited for).
        if (!co_await slot.acquire(deadline))
            ec = asio::error::timed_out;
        else
            ec = co_await tls.handshake(deadline);
    }
    if (!ec) {
        rec.cert = peer_certificate(tls.native_handle());
        co_return true;
    }
    std::string why = ec == asio::error::timed_out ? "timed out" : ec.message();
    // OpenSSL's reason for refusing the client's certificate (expired, not yet valid, revoked,
    // unknown CA, wrong purpose), for the log, the audit and whoever reads them.
    if (long v = SSL_get_verify_result(tls.native_handle()); v != X509_V_OK && ec != asio::error::timed_out) {
        rec.verify_error = X509_verify_cert_error_string(v);
        why += ": the client's certificate: " + rec.verify_error;
    }
    refuse(rec.reply, Reason::tls_handshake_failed, "TLS handshake failed: " + why);
    // Only what the peer sent counts toward the cap; closing or stalling does not.
    const bool strike = ec.category() == asio::error::get_ssl_category();
    if (first_in_window(st, source_key(peer), Reason::tls_handshake_failed, strike, why)) {
        log::warning(tag + " handshake: " + why);
        audit_later(st, rec.to_json());  // gates nothing: not waited for
    }
    if (ec != asio::error::timed_out)  // the alert must reach the client, not a reset
        co_await tls.linger(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(1)));
    co_return false;
}

/// One request line, parsed; nullopt with the reply refused otherwise. `can_reply` false when
/// the peer is gone.
asio::awaitable<std::optional<Request>> read_request(TlsConnection& tls, Record& rec, Deadline deadline,
                                                     bool& can_reply) {
    std::string buf;
    std::size_t n = 0;
    boost::system::error_code ec;
    // One byte of room for a CR before the newline: 255 bytes + CRLF is a valid request.
    std::tie(ec, n) = co_await tls.read_line(buf, max_request_bytes + 1, deadline);
    Reply& reply = rec.reply;
    if (ec == asio::error::timed_out) {  // a read that runs out of time still gets its reply
        refuse(reply, Reason::request_timeout, "no complete request line within the io_timeout");
    } else if (ec == asio::error::not_found) {
        refuse(reply, Reason::request_too_long, "request longer than " + std::to_string(max_request_bytes - 1) + " bytes");
    } else if (ec) {
        can_reply = false;
        refuse(reply, Reason::malformed_request,
               "connection closed before a complete request line (" + ec.message() + ")");
    } else if (n < buf.size()) {
        // One request per connection: a second one sent along is refused with the first, so
        // nothing is silently dropped and nothing runs on a confused client's behalf.
        refuse(reply, Reason::malformed_request,
               "more than one request on the connection (one request per connection); nothing was run");
        rec.request = printable(buf, max_request_bytes);
    } else {
        Refusal why;
        auto req = parse_request(std::string_view(buf).substr(0, n - 1), why);
        if (req) co_return req;
        refuse(reply, why.reason, why.message);
        rec.request = printable(std::string_view(buf).substr(0, n - 1), max_request_bytes);
    }
    co_return std::nullopt;
}

/// A refusal's marks in the store: the refused heal for history, a quarantine decide() imposed.
void record_refusal(ListenerState& st, const Request& req, const Verdict& v, Record& rec, const std::string& tag) {
    if (st.store && v.recorded)
        with_store(tag, "record the refusal " + rec.reply.id, [&] {
            st.store->refused(rec.reply.id, now_ms(), req.service.empty() ? "*" : req.service, req.verb, rec.client,
                              v.reason);
        });
    if (v.quarantine_now && with_store(tag, "quarantine " + req.service,
                                       [&] { st.store->quarantine(req.service, *v.quarantine_now); })
                                .empty())
        log::warning(tag + " " + req.service + " quarantined: " + v.quarantine_now->why);
}

/// `confirm = yes` (decide() said to confirm first): a remote restart or stop asks the service's
/// own status here, sharing a run in flight, while the service's lock is held. Exit 0 refuses the
/// request (true): the monitoring server and this host disagree. Nothing ran, no budget is used.
asio::awaitable<bool> healthy_here(ListenerState& st, const Runtime& rt, const Request& req, Record& rec) {
    Request status = req;
    status.verb = Verb::status;
    Record probe;
    probe.peer = rec.peer;
    probe.reply.id = rec.reply.id;
    co_await run_status(st, rt, status, probe);
    const Reply& said = probe.reply;
    if (said.outcome != Outcome::ok) {
        log::info("confirm " + req.service + " for " + rec.reply.id + ": status here says not healthy (" +
                  said.message + "); going on with the " + std::string(to_string(req.verb)));
        co_return false;
    }
    const std::string line = printable(said.output.substr(0, said.output.find('\n')), 200);
    refuse(rec.reply, Reason::healthy_here,
           req.service + " is healthy here: its status exited 0" + (line.empty() ? "" : " (" + line + ")") +
               "; the monitoring server sees it failing and this host does not (a network partition, or a "
               "check that is wrong?); nothing was run, no budget used; an admin acts anyway with --force");
    rec.reply.output = said.output;
    rec.reply.exit_code = said.exit_code;
    co_return true;
}

}  // namespace

asio::awaitable<void> dispatch(ListenerState& st, const Runtime& rt, const Request& req, const Identity& who,
                               Record& rec, const std::string& tag) {
    Reply& reply = rec.reply;
    const auto now = now_ms();
    Claim claim;  // the service lock and a slot, held until the script is reaped
    GuardState gs;
    // The store and the kernel locks, on the store thread; status and info need neither, and
    // never wait there behind a request that does.
    if (gathers(req.verb) && !(st.stopping && is_state_changing(req.verb)))
        gs = co_await on_store(st, [&] { return gather(st, rt.cfg, req, claim, now); });
    gs.stopping = st.stopping;
    const Verdict v = decide(req, who, rt.cfg, gs, now);
    if (v.decision == Decision::refuse) {
        refuse(reply, v.reason, v.message);
        if (v.reason == Reason::busy) reply.running_id = gs.running_id;
        co_await on_store(st, [&] { record_refusal(st, req, v, rec, tag); });
        co_return;
    }
    if (v.confirm_first) {
        const bool healthy = co_await healthy_here(st, rt, req, rec);  // no co_await in a condition (GCC 12)
        if (healthy) {
            Verdict here{Decision::refuse, Reason::healthy_here, reply.message, std::nullopt};
            here.recorded = true;
            co_await on_store(st, [&] { record_refusal(st, req, here, rec, tag); });
            co_return;
        }
    }
    if (v.decision == Decision::dry_run) {
        reply.outcome = Outcome::dry_run;
        reply.message = v.message;
        co_return;
    }
    switch (req.verb) {
        case Verb::info: {
            reply.outcome = Outcome::ok;
            reply.message = "info";
            auto watches = watch_infos(st, rt.cfg, req.service);  // the io thread's: read here
            reply.info = co_await on_store(st, [&] { return service_info(st, rt.cfg, who, now, req.service, watches); });
            break;
        }
        case Verb::reset: co_await on_store(st, [&] { serve_reset(st, req, gs, rec, tag); }); break;
        case Verb::pause:
        case Verb::resume: co_await on_store(st, [&] { serve_pause(st, rt.cfg, req, rec, tag); }); break;
        case Verb::diagnostics: serve_diagnostics(rt, req, gs, reply); break;
        case Verb::history: co_await on_store(st, [&] { serve_history(st, who, req, reply, tag); }); break;
        case Verb::status: co_await run_status(st, rt, req, rec); break;
        case Verb::start:
        case Verb::stop:
        case Verb::restart: co_await run_guarded(st, rt, req, rec, tag); break;
    }
}

asio::awaitable<void> serve_connection(ListenerState& st, RuntimePtr rt, tcp::socket socket,
                                       tcp::endpoint peer, std::uint64_t conn, bool counted, bool queued) {
    ConnectionCount count{st, source_key(peer), counted, !queued};
    const auto io_timeout = steady_duration(rt->cfg.io_timeout);
    auto deadline = [&io_timeout] { return std::chrono::steady_clock::now() + io_timeout; };
    if (queued) {
        if (!co_await source_turn(st, *rt, count.source, deadline())) {
            refuse_queued(st, *rt, peer, conn);
            co_return;  // closed before TLS
        }
        count.holds_source_slot = true;
    }
    const std::string tag = conn_tag(conn, peer);
    TlsConnection tls(std::move(socket), *rt->tls);
    Record rec;
    rec.conn = conn;
    rec.peer = endpoint_text(peer);
    Reply& reply = rec.reply;
    reply.id = new_uuid();

    if (!co_await handshake(st, tls, rec, peer, tag, counted, deadline())) co_return;  // no TLS: no reply
    bool can_reply = true;
    auto req = co_await read_request(tls, rec, deadline(), can_reply);
    if (req) {
        reply.verb = to_string(req->verb);
        reply.service = req->service;
        reply.forced = req->force;
        const Identity who = identify(rt->cfg, rec.cert.subject, rec.cert.cn, rec.cert.sha256);
        rec.client = who.name();
        co_await dispatch(st, *rt, *req, who, rec, tag);
    }
    if (reply.outcome == Outcome::refused)
        log::warning(tag + " " + reply.id + " refused: " + reply.message);
    else if (!(req && req->verb == Verb::status && !reply.shared_with.empty()))
        log::info(tag + " " + reply.id + " " + std::string(to_string(reply.outcome)) + ": " + reply.message);

    // Before the reply, what was done or refused is on record even if the reply is lost (when
    // another process holds the log's lock, kept back and written once it lets go). A read
    // (status, info, history, diagnostics) is not waited for: a held audit log delays no status.
    if (req && req->verb != Verb::status && req->verb != Verb::info && req->verb != Verb::history &&
        req->verb != Verb::diagnostics)
        co_await on_audit(st, [&] { audit_or_keep(st, rec.to_json()); });
    else if (req && reply.outcome != Outcome::refused)
        audit_later(st, rec.to_json());
    else  // a refusal, of a read or of what never parsed: on record before the reply
        co_await on_audit(st, [&] { audit_or_keep(st, rec.to_json()); });
    if (!can_reply) co_return;
    const std::string line = to_json_line(reply);
    if (auto ec = co_await tls.write(line, deadline())) {
        log::warning(tag + " " + reply.id + " reply not delivered: " + ec.message());
        co_return;
    }
    co_await tls.shutdown(deadline());
    // A client that closes without its own close_notify is common and harmless here.
}

}  // namespace heal
