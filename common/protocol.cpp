#include "protocol.hpp"

#include "text.hpp"

#include <boost/json.hpp>

#include <array>

namespace heal {

namespace json = boost::json;

namespace {
constexpr std::array<std::string_view, 4> verbs = {"start", "stop", "restart", "status"};
}

bool is_known_verb(std::string_view verb) {
    for (auto v : verbs)
        if (v == verb) return true;
    return false;
}

bool is_valid_service_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(name.front())) return false;
    for (char c : name)
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

std::optional<Request> parse_request(std::string_view line, Refusal& refusal) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos) {
        refusal = {"malformed_request", "request contains a NUL byte"};
        return std::nullopt;
    }
    if (line.size() >= max_request_bytes) {
        refusal = {"request_too_long",
                   "request longer than " + std::to_string(max_request_bytes - 1) + " bytes"};
        return std::nullopt;
    }
    auto sp1 = line.find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        refusal = {"malformed_request",
                   "malformed request '" + printable(line, 80) +
                       "' (expected 'HEAL/1 VERB SERVICE')"};
        return std::nullopt;
    }
    auto version = line.substr(0, sp1);
    Request r{std::string(line.substr(sp1 + 1, sp2 - sp1 - 1)), std::string(line.substr(sp2 + 1))};
    if (version != protocol_version) {
        refusal = {"unsupported_version", "unsupported protocol version '" +
                                              printable(version, 40) + "' (this listener speaks " +
                                              std::string(protocol_version) + ")"};
        return std::nullopt;
    }
    if (!is_known_verb(r.verb)) {
        refusal = {"unknown_verb", "unknown verb '" + printable(r.verb, 40) +
                                       "' (allowed: start, stop, restart, status)"};
        return std::nullopt;
    }
    if (!is_valid_service_name(r.service)) {
        refusal = {"bad_service_name", "bad service name '" + printable(r.service, 80) +
                                           "' (letters, digits, '.', '_', '-'; at most 64)"};
        return std::nullopt;
    }
    return r;
}

std::string format_request(std::string_view verb, std::string_view service) {
    return std::string(protocol_version) + " " + std::string(verb) + " " + std::string(service) +
           "\n";
}

json::object to_json(const Reply& r) {
    json::object o;
    o["id"] = r.id;
    o["outcome"] = r.outcome;
    o["reason"] = r.reason;
    o["message"] = r.message;
    o["verb"] = r.verb;
    o["service"] = r.service;
    o["exit_code"] = r.exit_code ? json::value(*r.exit_code) : json::value(nullptr);
    o["signal"] = r.signal ? json::value(*r.signal) : json::value(nullptr);
    o["output"] = r.output;
    o["truncated"] = r.truncated;
    o["duration_ms"] = r.duration_ms;
    if (!r.running_id.empty()) o["running_id"] = r.running_id;
    return o;
}

std::string to_json_line(const Reply& r) { return json::serialize(to_json(r)) + "\n"; }

namespace {

bool get_string(const json::object& o, const char* key, std::string& out, std::string& error,
                bool required = true) {
    auto* v = o.if_contains(key);
    if (!v) {
        if (required) error = std::string("missing field '") + key + "'";
        return !required;
    }
    if (!v->is_string()) {
        error = std::string("field '") + key + "' is not a string";
        return false;
    }
    out = std::string(v->as_string());
    return true;
}

bool get_opt_int(const json::object& o, const char* key, std::optional<int>& out,
                 std::string& error) {
    auto* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_int64() || v->as_int64() < -1000000 || v->as_int64() > 1000000) {
        error = std::string("field '") + key + "' is not a small integer";
        return false;
    }
    out = static_cast<int>(v->as_int64());
    return true;
}

}  // namespace

std::optional<Reply> parse_reply(std::string_view text, std::string& error) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) {
        error = "reply is not JSON: " + ec.message();
        return std::nullopt;
    }
    if (!v.is_object()) {
        error = "reply is not a JSON object";
        return std::nullopt;
    }
    const auto& o = v.as_object();
    Reply r;
    if (!get_string(o, "id", r.id, error) || !get_string(o, "outcome", r.outcome, error) ||
        !get_string(o, "reason", r.reason, error, false) ||
        !get_string(o, "message", r.message, error, false) ||
        !get_string(o, "verb", r.verb, error, false) ||
        !get_string(o, "service", r.service, error, false) ||
        !get_string(o, "output", r.output, error, false) ||
        !get_string(o, "running_id", r.running_id, error, false) ||
        !get_opt_int(o, "exit_code", r.exit_code, error) ||
        !get_opt_int(o, "signal", r.signal, error))
        return std::nullopt;
    if (r.outcome != "ok" && r.outcome != "failed" && r.outcome != "timed_out" &&
        r.outcome != "refused") {
        error = "unknown outcome '" + printable(r.outcome, 40) + "'";
        return std::nullopt;
    }
    if (auto* t = o.if_contains("truncated")) {
        if (!t->is_bool()) {
            error = "field 'truncated' is not a boolean";
            return std::nullopt;
        }
        r.truncated = t->as_bool();
    }
    if (auto* d = o.if_contains("duration_ms")) {
        if (!d->is_int64()) {
            error = "field 'duration_ms' is not an integer";
            return std::nullopt;
        }
        r.duration_ms = d->as_int64();
    }
    return r;
}

}  // namespace heal
