#include "common/protocol.hpp"

#include "common/text.hpp"

#include <boost/json.hpp>

#include <array>
#include <utility>

namespace heal {

namespace json = boost::json;

namespace {

template <class E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Verb, 10> verb_names{{{Verb::start, "start"},
                                     {Verb::stop, "stop"},
                                     {Verb::restart, "restart"},
                                     {Verb::status, "status"},
                                     {Verb::info, "info"},
                                     {Verb::reset, "reset"},
                                     {Verb::diagnostics, "diagnostics"},
                                     {Verb::history, "history"},
                                     {Verb::pause, "pause"},
                                     {Verb::resume, "resume"}}};

constexpr Names<Outcome, 6> outcome_names{{{Outcome::ok, "ok"},
                                           {Outcome::failed, "failed"},
                                           {Outcome::timed_out, "timed_out"},
                                           {Outcome::refused, "refused"},
                                           {Outcome::dry_run, "dry_run"},
                                           {Outcome::lost, "lost"}}};

constexpr Names<Reason, 29> reason_names{{{Reason::none, ""},
                                          {Reason::not_allowed, "not_allowed"},
                                          {Reason::too_many_connections, "too_many_connections"},
                                          {Reason::tls_handshake_failed, "tls_handshake_failed"},
                                          {Reason::request_too_long, "request_too_long"},
                                          {Reason::request_timeout, "request_timeout"},
                                          {Reason::malformed_request, "malformed_request"},
                                          {Reason::unsupported_version, "unsupported_version"},
                                          {Reason::unknown_verb, "unknown_verb"},
                                          {Reason::bad_service_name, "bad_service_name"},
                                          {Reason::unknown_service, "unknown_service"},
                                          {Reason::verb_not_allowed, "verb_not_allowed"},
                                          {Reason::not_authorized, "not_authorized"},
                                          {Reason::busy, "busy"},
                                          {Reason::global_cap, "global_cap"},
                                          {Reason::budget_exhausted, "budget_exhausted"},
                                          {Reason::cooldown, "cooldown"},
                                          {Reason::quarantined, "quarantined"},
                                          {Reason::state_unavailable, "state_unavailable"},
                                          {Reason::audit_unavailable, "audit_unavailable"},
                                          {Reason::shutting_down, "shutting_down"},
                                          {Reason::healthy_here, "healthy_here"},
                                          {Reason::paused, "paused"},
                                          {Reason::cannot_execute, "cannot_execute"},
                                          {Reason::timeout, "timeout"},
                                          {Reason::killed, "killed"},
                                          {Reason::exit_status, "exit_status"},
                                          {Reason::listener_died, "listener_died"},
                                          {Reason::not_found, "not_found"}}};

template <class E, std::size_t N>
std::string_view name_of(const Names<E, N>& names, E e) {
    for (const auto& [value, name] : names)
        if (value == e) return name;
    return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const Names<E, N>& names, std::string_view s) {
    for (const auto& [value, name] : names)
        if (name == s) return value;
    return std::nullopt;
}

}  // namespace

std::string_view to_string(Verb v) { return name_of(verb_names, v); }
std::optional<Verb> parse_verb(std::string_view s) { return value_of(verb_names, s); }
bool is_script_verb(Verb v) {
    return v == Verb::start || v == Verb::stop || v == Verb::restart || v == Verb::status;
}
bool is_state_changing(Verb v) { return v == Verb::start || v == Verb::stop || v == Verb::restart; }

std::string_view to_string(Outcome o) { return name_of(outcome_names, o); }
std::optional<Outcome> parse_outcome(std::string_view s) { return value_of(outcome_names, s); }

std::string_view to_string(Reason r) { return name_of(reason_names, r); }
Reason parse_reason(std::string_view s) { return value_of(reason_names, s).value_or(Reason::other); }

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
    auto refuse = [&](Reason reason, std::string message) {
        refusal = {reason, std::move(message)};
        return std::nullopt;
    };
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos)
        return refuse(Reason::malformed_request, "request contains a NUL byte");
    if (line.size() >= max_request_bytes)
        return refuse(Reason::request_too_long,
                      "request longer than " + std::to_string(max_request_bytes - 1) + " bytes");
    // A pause's reason is free text: the rest of the line after "HEAL/1 pause SERVICE SECONDS ".
    std::string_view reason;
    bool has_reason = false;
    if (line.starts_with(std::string(protocol_version) + " pause ")) {
        std::size_t at = 0;  // the 4th blank, after SECONDS
        for (int blank = 0; blank < 4 && at != std::string_view::npos; ++blank)
            at = line.find(' ', blank == 0 ? 0 : at + 1);
        if (at != std::string_view::npos) {
            reason = line.substr(at + 1);
            has_reason = true;
            line = line.substr(0, at);
        }
    }
    // Words separated by single blanks: 2 (info), 3 (VERB SERVICE) or 4 (VERB SERVICE force).
    std::vector<std::string_view> words;
    for (std::size_t at = 0;;) {
        auto sp = line.find(' ', at);
        words.push_back(line.substr(at, sp == std::string_view::npos ? sp : sp - at));
        if (sp == std::string_view::npos) break;
        at = sp + 1;
    }
    bool empty_word = false;
    for (auto w : words) empty_word |= w.empty();
    auto malformed = [&] {
        return refuse(Reason::malformed_request,
                      "malformed request '" + printable(line, 80) +
                          "' (expected 'HEAL/1 VERB SERVICE', 'HEAL/1 VERB SERVICE force', "
                          "'HEAL/1 info' or 'HEAL/1 info SERVICE')");
    };
    if (empty_word || words.size() < 2 || words.size() > 5) return malformed();
    if (words.size() == 2 && words[1] != "info") return malformed();  // "restart web"
    if (words[0] != protocol_version)
        return refuse(Reason::unsupported_version,
                      "unsupported protocol version '" + printable(words[0], 40) +
                          "' (this listener speaks " + std::string(protocol_version) + ")");
    auto verb = parse_verb(words[1]);
    if (!verb)
        return refuse(Reason::unknown_verb,
                      "unknown verb '" + printable(words[1], 40) +
                          "' (allowed: start, stop, restart, status, info, reset, diagnostics, "
                          "history, pause, resume)");
    Request r;
    r.verb = *verb;
    if (r.verb == Verb::info) {  // "info" for every service, "info SERVICE" for one
        if (words.size() > 3) return malformed();
        if (words.size() == 3) {
            r.service = std::string(words[2]);
            if (!is_valid_service_name(r.service))
                return refuse(Reason::bad_service_name,
                              "bad service name '" + printable(r.service, 80) +
                                  "' (letters, digits, '.', '_', '-'; at most 64)");
        }
        return r;
    }
    if (words.size() < 3) return malformed();
    r.service = std::string(words[2]);
    // SERVICE, or * for every service (kept as ""): the history, pause and resume lines.
    auto service_or_all = [&]() -> std::optional<Request> {
        if (r.service == "*") {
            r.service.clear();
            return r;
        }
        if (!is_valid_service_name(r.service))
            return refuse(Reason::bad_service_name,
                          "bad service name '" + printable(r.service, 80) +
                              "' (letters, digits, '.', '_', '-'; at most 64; or * for all)");
        return r;
    };
    if (r.verb == Verb::pause || r.verb == Verb::resume) {
        const bool pause = r.verb == Verb::pause;
        if (words.size() != (pause ? 4u : 3u))
            return refuse(Reason::malformed_request, pause ? "expected 'HEAL/1 pause SERVICE|* SECONDS[ REASON]'"
                                                           : "expected 'HEAL/1 resume SERVICE|*'");
        if (pause) {
            unsigned long long n = 0;
            if (!parse_uint(words[3], 1, max_hold_s, n))
                return refuse(Reason::malformed_request, "pause: SECONDS is a number from 1 to " +
                                                             std::to_string(max_hold_s) + " (7 days)");
            r.for_s = n;
            if (has_reason) {
                if (auto why = hold_reason_error(reason); !why.empty())
                    return refuse(Reason::malformed_request, "pause: REASON " + why);
                r.reason = std::string(reason);
            }
        }
        return service_or_all();
    }
    if (r.verb == Verb::history) {
        unsigned long long n = 0;
        if (words.size() >= 4) {
            if (!parse_uint(words[3], 1, max_history, n))
                return refuse(Reason::malformed_request,
                              "history: LIMIT is a number from 1 to " + std::to_string(max_history));
            r.limit = static_cast<unsigned>(n);
        }
        if (words.size() == 5) {
            if (!parse_uint(words[4], 0, 100ull * 365 * 86400, n))
                return refuse(Reason::malformed_request, "history: SINCE is a number of seconds");
            r.since_s = n;
        }
        return service_or_all();
    }
    if (words.size() == 5) return malformed();
    if (words.size() == 4) {
        if (words[3] != "force") return malformed();
        if (!is_state_changing(r.verb))
            return refuse(Reason::malformed_request,
                          "'force' applies to start, stop and restart only");
        r.force = true;
    }
    if (!is_valid_service_name(r.service))
        return refuse(Reason::bad_service_name,
                      "bad service name '" + printable(r.service, 80) +
                          "' (letters, digits, '.', '_', '-'; at most 64)");
    return r;
}

std::string hold_reason_error(std::string_view reason) {
    if (reason.size() > max_hold_reason)
        return "is " + std::to_string(reason.size()) + " bytes; at most " + std::to_string(max_hold_reason);
    if (valid_utf8(reason) != reason) return "is not UTF-8";
    if (without_controls(reason) != reason) return "contains a control character";
    return {};
}

std::string format_pause_request(std::string_view service, std::uint64_t for_s, std::string_view reason) {
    std::string line = std::string(protocol_version) + " pause " + std::string(service.empty() ? "*" : service) +
                       " " + std::to_string(for_s);
    if (!reason.empty()) line += " " + std::string(reason);
    return line + "\n";
}

std::string format_history_request(std::string_view service, unsigned limit, std::uint64_t since_s) {
    return std::string(protocol_version) + " history " + std::string(service) + " " +
           std::to_string(limit) + " " + std::to_string(since_s) + "\n";
}

std::string format_request(std::string_view verb, std::string_view service, bool force) {
    std::string line = std::string(protocol_version) + " " + std::string(verb);
    if (!service.empty()) line += " " + std::string(service);
    if (force) line += " force";
    return line + "\n";
}

std::string_view reason_string(const Reply& r) {
    return r.reason == Reason::other ? std::string_view(r.reason_text) : to_string(r.reason);
}

json::object to_json(const Reply& r) {
    json::object o;
    o["id"] = r.id;
    o["outcome"] = to_string(r.outcome);
    o["reason"] = reason_string(r);
    o["message"] = r.message;
    o["verb"] = r.verb;
    o["service"] = r.service;
    o["exit_code"] = r.exit_code ? json::value(*r.exit_code) : json::value(nullptr);
    o["signal"] = r.signal ? json::value(*r.signal) : json::value(nullptr);
    o["output"] = r.output;
    o["truncated"] = r.truncated;
    o["duration_ms"] = r.duration_ms;
    o["forced"] = r.forced;
    if (!r.running_id.empty()) o["running_id"] = r.running_id;
    if (!r.shared_with.empty()) o["shared_with"] = r.shared_with;
    if (r.info) o["info"] = *r.info;
    if (r.history) o["history"] = *r.history;
    if (!r.diagnostics.empty()) o["diagnostics"] = r.diagnostics;
    if (!r.diagnose_status.empty()) o["diagnose_status"] = r.diagnose_status;
    if (r.verified) {
        o["verified"] = *r.verified;
        o["healthy_after_ms"] = r.healthy_after_ms ? json::value(*r.healthy_after_ms) : json::value(nullptr);
        o["verify_status"] = r.verify_status;
    }
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

bool get_bool(const json::object& o, const char* key, bool& out, std::string& error) {
    auto* v = o.if_contains(key);
    if (!v) return true;
    if (!v->is_bool()) {
        error = std::string("field '") + key + "' is not a boolean";
        return false;
    }
    out = v->as_bool();
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
    std::string outcome;
    if (!get_string(o, "id", r.id, error) || !get_string(o, "outcome", outcome, error) ||
        !get_string(o, "reason", r.reason_text, error, false) ||
        !get_string(o, "message", r.message, error, false) ||
        !get_string(o, "verb", r.verb, error, false) ||
        !get_string(o, "service", r.service, error, false) ||
        !get_string(o, "output", r.output, error, false) ||
        !get_string(o, "running_id", r.running_id, error, false) ||
        !get_string(o, "shared_with", r.shared_with, error, false) ||
        !get_string(o, "verify_status", r.verify_status, error, false) ||
        !get_string(o, "diagnostics", r.diagnostics, error, false) ||
        !get_string(o, "diagnose_status", r.diagnose_status, error, false) ||
        !get_opt_int(o, "exit_code", r.exit_code, error) ||
        !get_opt_int(o, "signal", r.signal, error) ||
        !get_bool(o, "truncated", r.truncated, error) || !get_bool(o, "forced", r.forced, error))
        return std::nullopt;
    auto parsed = parse_outcome(outcome);
    if (!parsed) {
        error = "unknown outcome '" + printable(outcome, 40) + "'";
        return std::nullopt;
    }
    r.outcome = *parsed;
    r.reason = parse_reason(r.reason_text);
    if (r.reason != Reason::other) r.reason_text.clear();
    if (auto* d = o.if_contains("duration_ms")) {
        if (!d->is_int64()) {
            error = "field 'duration_ms' is not an integer";
            return std::nullopt;
        }
        r.duration_ms = d->as_int64();
    }
    if (auto* ver = o.if_contains("verified"); ver && !ver->is_null()) {
        if (!ver->is_bool()) {
            error = "field 'verified' is not a boolean";
            return std::nullopt;
        }
        r.verified = ver->as_bool();
    }
    if (auto* h = o.if_contains("healthy_after_ms"); h && !h->is_null()) {
        if (!h->is_int64() || h->as_int64() < 0) {
            error = "field 'healthy_after_ms' is not a duration in milliseconds";
            return std::nullopt;
        }
        r.healthy_after_ms = h->as_int64();
    }
    if (auto* h = o.if_contains("history")) {
        if (!h->is_array()) {
            error = "field 'history' is not an array";
            return std::nullopt;
        }
        for (const auto& e : h->as_array())
            if (!e.is_object()) {
                error = "field 'history' holds something other than objects";
                return std::nullopt;
            }
        r.history = h->as_array();
    }
    if (auto* i = o.if_contains("info")) {
        if (!i->is_object()) {
            error = "field 'info' is not an object";
            return std::nullopt;
        }
        r.info = i->as_object();
    }
    return r;
}

}  // namespace heal
