#include "listener/record.hpp"

#include "common/address.hpp"
#include "common/text.hpp"

namespace heal {

namespace json = boost::json;

namespace {
constexpr std::size_t audit_output_excerpt = 512;
}

json::object Record::to_json(bool start) const {
    json::object o;
    o["record"] = start ? "start" : "final";
    for (const auto& kv : heal::to_json(reply)) o.insert(kv);
    o.erase("output");  // the audit keeps an excerpt, the reply the whole (capped) output
    o.erase("info");
    o.erase("history");
    if (start) {
        for (const char* k : {"outcome", "reason", "message", "exit_code", "signal", "truncated", "duration_ms"})
            o.erase(k);
    } else {
        if (reply.verb != "diagnostics")  // a read of kept diagnostics: on record, not copied
            o["output_excerpt"] = valid_utf8(reply.output, audit_output_excerpt);
        o["timed_out"] = timed_out;
    }
    o["conn"] = conn;
    o["peer"] = peer;
    o["client"] = client;
    o["subject"] = cert.subject;
    o["fingerprint_sha256"] = cert.sha256;
    if (!verify_error.empty()) o["verify_error"] = verify_error;
    if (pid) o["pid"] = *pid;
    if (!request.empty()) o["request"] = request;
    if (!trigger.empty()) o["trigger"] = trigger;
    if (hold) {
        boost::json::object h;
        h["service"] = hold->service.empty() ? "*" : hold->service;
        h["since"] = utc_iso(hold->since_ms);
        h["until"] = utc_iso(hold->until_ms);
        h["by"] = hold->by;
        h["reason"] = hold->reason;
        o["hold"] = std::move(h);
    }
    return o;
}

void refuse(Reply& r, Reason reason, std::string message) {
    r.outcome = Outcome::refused;
    r.reason = reason;
    r.message = std::move(message);
}

std::string source_key(const boost::asio::ip::tcp::endpoint& peer) { return unmap(peer.address()).to_string(); }

std::string conn_tag(std::uint64_t conn, const boost::asio::ip::tcp::endpoint& peer) {
    return "#" + std::to_string(conn) + " " + endpoint_text(peer);
}

}  // namespace heal
