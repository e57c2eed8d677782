#include "session.hpp"

#include "action_runner.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "text.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <chrono>

namespace heal {

namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::size_t audit_output_excerpt = 512;

std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

std::string source_key(const tcp::endpoint& peer) { return unmap(peer.address()).to_string(); }

std::string conn_tag(std::uint64_t conn, const tcp::endpoint& peer) {
    return "#" + std::to_string(conn) + " " + endpoint_text(peer);
}

/// Everything known about one request, in audit-record shape.
struct Record {
    std::uint64_t conn = 0;
    std::string peer;
    PeerCertificate cert;
    Reply reply;
    std::string request;  ///< the raw request line, sanitised, for refused requests
    bool timed_out = false;

    json::object to_json() const {
        json::object o = heal::to_json(reply);
        o.erase("output");  // the audit keeps an excerpt, the reply the whole (capped) output
        o["output_excerpt"] = valid_utf8(reply.output, audit_output_excerpt);
        o["conn"] = conn;
        o["peer"] = peer;
        o["subject"] = cert.subject;
        o["fingerprint_sha256"] = cert.sha256;
        o["timed_out"] = timed_out;
        if (!request.empty()) o["request"] = request;
        return o;
    }
};

void audit(ListenerState& st, const Record& rec) {
    if (st.audit) st.audit->write(rec.to_json());
}

void refuse(Reply& r, std::string reason, std::string message) {
    r.outcome = "refused";
    r.reason = std::move(reason);
    r.message = std::move(message);
}

/// Releases the service for the next action whatever way the coroutine ends.
class ServiceClaim {
public:
    ServiceClaim(ListenerState& st, std::string service, const std::string& id)
        : st_(st), service_(std::move(service)) {
        st_.running[service_] = id;
    }
    ServiceClaim(const ServiceClaim&) = delete;
    ServiceClaim& operator=(const ServiceClaim&) = delete;
    ~ServiceClaim() { st_.running.erase(service_); }

private:
    ListenerState& st_;
    std::string service_;
};

struct ConnectionCount {
    ListenerState& st;
    std::string source;
    bool counted;
    ~ConnectionCount() {
        if (!counted) return;
        --st.connections;
        if (--st.per_source[source] == 0) st.per_source.erase(source);
    }
};

void apply_result(Reply& r, const ActionResult& a, Record& rec) {
    r.exit_code = a.exit_code;
    r.signal = a.signal;
    // JSON carries text: bytes that are not UTF-8 (Latin-1, binary) become U+FFFD, within the cap.
    bool cut = false;
    r.output = valid_utf8(a.output, max_output_bytes, &cut);
    r.truncated = a.truncated || cut;
    r.duration_ms = a.duration_ms;
    rec.timed_out = a.timed_out;
    if (!a.exec_error.empty()) {
        r.outcome = "failed";
        r.reason = "cannot_execute";
        r.message = a.exec_error;
    } else if (a.timed_out) {
        r.outcome = "timed_out";
        r.reason = "timeout";
        r.message = "timed out after " + std::to_string(a.duration_ms) +
                    " ms; the script's process group was killed";
    } else if (a.exit_code && *a.exit_code == 0) {
        r.outcome = "ok";
        r.message = "done";
    } else {
        r.outcome = "failed";
        if (a.signal) {
            r.reason = "killed";
            r.message = "script killed by signal " + std::to_string(*a.signal);
        } else {
            r.reason = "exit_status";
            r.message = "script exited with status " + std::to_string(a.exit_code.value_or(-1));
        }
    }
}

}  // namespace

RuntimePtr make_runtime(const std::string& config_path) {
    auto rt = std::make_shared<Runtime>();
    rt->cfg = load_listener_config(config_path);
    rt->tls = make_server_context(rt->cfg.cert, rt->cfg.key, rt->cfg.client_ca);
    return rt;
}

bool admit(ListenerState& st, const Runtime& rt, const tcp::endpoint& peer, std::uint64_t conn,
           bool count_caps) {
    Record rec;
    rec.conn = conn;
    rec.peer = endpoint_text(peer);
    if (!rt.cfg.allow.allows(peer.address())) {
        refuse(rec.reply, "not_allowed", "peer address is not on the allowlist");
    } else if (count_caps && st.connections >= rt.cfg.max_connections) {
        refuse(rec.reply, "too_many_connections",
               "max_connections (" + std::to_string(rt.cfg.max_connections) + ") reached");
    } else if (count_caps && st.per_source[source_key(peer)] >= rt.cfg.max_per_source) {
        refuse(rec.reply, "too_many_connections",
               "max_per_source (" + std::to_string(rt.cfg.max_per_source) + ") reached");
    } else {
        if (count_caps) {
            ++st.connections;
            ++st.per_source[source_key(peer)];
        }
        return true;
    }
    if (count_caps && st.per_source[source_key(peer)] == 0) st.per_source.erase(source_key(peer));
    rec.reply.id = new_uuid();
    log::warning(conn_tag(conn, peer) + " denied: " + rec.reply.message);
    audit(st, rec);
    return false;
}

asio::awaitable<void> serve_connection(ListenerState& st, RuntimePtr rt, tcp::socket socket,
                                       tcp::endpoint peer, std::uint64_t conn, bool counted) {
    ConnectionCount count{st, source_key(peer), counted};
    const auto io_timeout = seconds(rt->cfg.io_timeout);
    const std::string tag = conn_tag(conn, peer);

    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *rt->tls);
    auto& tcp_layer = beast::get_lowest_layer(stream);

    Record rec;
    rec.conn = conn;
    rec.peer = endpoint_text(peer);
    Reply& reply = rec.reply;
    reply.id = new_uuid();

    tcp_layer.expires_after(io_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, as_tuple(use_awaitable));
    if (ec) {
        std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
        refuse(reply, "tls_handshake_failed", "TLS handshake failed: " + why);
        log::warning(tag + " handshake: " + why);
        audit(st, rec);
        co_return;  // no TLS, no way to say more
    }
    rec.cert = peer_certificate(stream.native_handle());

    std::string buf;
    std::size_t n = 0;
    tcp_layer.expires_after(io_timeout);
    std::tie(ec, n) = co_await asio::async_read_until(
        stream, asio::dynamic_buffer(buf, max_request_bytes), '\n', as_tuple(use_awaitable));
    bool can_reply = true;
    std::optional<Request> req;
    if (ec == asio::error::not_found) {
        refuse(reply, "request_too_long",
               "request longer than " + std::to_string(max_request_bytes - 1) + " bytes");
    } else if (ec == beast::error::timeout) {
        refuse(reply, "request_timeout", "no complete request line within the io_timeout");
    } else if (ec) {
        can_reply = false;
        refuse(reply, "malformed_request",
               "connection closed before a complete request line (" + ec.message() + ")");
    } else {
        Refusal why;
        req = parse_request(std::string_view(buf).substr(0, n - 1), why);
        if (!req) {
            refuse(reply, why.reason, why.message);
            rec.request = printable(std::string_view(buf).substr(0, n - 1), max_request_bytes);
        }
    }

    std::optional<ServiceClaim> claim;
    if (req) {
        reply.verb = req->verb;
        reply.service = req->service;
        auto svc = rt->cfg.services.find(req->service);
        if (svc == rt->cfg.services.end()) {
            refuse(reply, "unknown_service", "unknown service '" + req->service + "'");
        } else if (!svc->second.scripts.count(req->verb)) {
            refuse(reply, "verb_not_allowed",
                   "service '" + req->service + "' does not allow '" + req->verb + "'");
        } else if (auto busy = st.running.find(req->service); busy != st.running.end()) {
            refuse(reply, "busy", "service '" + req->service + "' is busy with action " +
                                      busy->second);
            reply.running_id = busy->second;
        } else if (st.stopping) {
            refuse(reply, "shutting_down", "the listener is shutting down");
        } else {
            claim.emplace(st, req->service, reply.id);
            ActionSpec spec{svc->second.scripts.at(req->verb), req->verb, req->service, reply.id,
                            rec.peer, rt->cfg.timeout_for(svc->second)};
            log::info(tag + " " + reply.id + " " + req->verb + " " + req->service + " by " +
                      (rec.cert.subject.empty() ? "?" : rec.cert.subject));
            ActionResult result = co_await run_action(spec);
            apply_result(reply, result, rec);
            claim.reset();
        }
    }
    if (reply.outcome == "refused")
        log::warning(tag + " " + reply.id + " refused: " + reply.message);
    else
        log::info(tag + " " + reply.id + " " + reply.outcome + ": " + reply.message);

    audit(st, rec);  // before the reply: what was done is on record even if the reply is lost
    if (!can_reply) co_return;

    std::string line = to_json_line(reply);
    tcp_layer.expires_after(io_timeout);
    std::tie(ec, n) = co_await asio::async_write(stream, asio::buffer(line), as_tuple(use_awaitable));
    if (ec) {
        log::warning(tag + " " + reply.id + " reply not delivered: " + ec.message());
        co_return;
    }
    tcp_layer.expires_after(io_timeout);
    std::tie(ec) = co_await stream.async_shutdown(as_tuple(use_awaitable));
    // A client that closes without its own close_notify is common and harmless here.
}

}  // namespace heal
