// The heal wire protocol, version 1 (documented in heal-listener(8)).
//
//   client -> server   one line:  "HEAL/1 VERB SERVICE [force]\n", "HEAL/1 info\n" or
//                                  "HEAL/1 info SERVICE\n"
//                                  or "HEAL/1 diagnostics REQUEST-ID\n"
//                                  or "HEAL/1 history SERVICE|* [LIMIT [SINCE-SECONDS]]\n"
//                                  (CRLF accepted, at most 256 bytes)
//   server -> client   one line:  a JSON object (the Reply below) + "\n", then TLS close_notify.
//
// One request per connection. The line format is deliberately typable in `openssl s_client`.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace heal {

inline constexpr std::string_view protocol_version = "HEAL/1";
inline constexpr std::size_t max_request_bytes = 256;  // including the newline
inline constexpr std::size_t max_reply_bytes = 8 << 20;  // diagnostics: up to 1 MiB, escaped
inline constexpr unsigned short default_port = 5669;

/// start, stop and restart change a service (guarded, locked, budgeted); status reads it;
/// info and reset are answered by the listener itself, without a script.
/// diagnostics fetches what `diagnose` kept for a request (its id in place of SERVICE).
/// history lists recent actions and refusals (SERVICE or * for all, then a limit and an age).
/// pause and resume (admins): a hold on a service (or every service) for a time, during which
/// only admins' heals run; resume ends it early.
enum class Verb { start, stop, restart, status, info, reset, diagnostics, history, pause, resume };
std::string_view to_string(Verb v);
std::optional<Verb> parse_verb(std::string_view s);
/// Verbs a [service] section maps to a script.
bool is_script_verb(Verb v);
bool is_state_changing(Verb v);

/// [A-Za-z0-9][A-Za-z0-9._-]{0,63}
bool is_valid_service_name(std::string_view name);

/// What became of a request. Stable strings on the wire and in the audit log.
enum class Outcome { ok, failed, timed_out, refused, dry_run, lost };
std::string_view to_string(Outcome o);
std::optional<Outcome> parse_outcome(std::string_view s);

/// Why a request was refused or failed. Stable strings on the wire and in the audit log;
/// `other` stands for a reason this build does not know (a newer listener's).
enum class Reason {
    none,
    // before or at the request
    not_allowed, too_many_connections, tls_handshake_failed, request_too_long, request_timeout,
    malformed_request, unsupported_version, unknown_verb, bad_service_name,
    // decisions
    unknown_service, verb_not_allowed, not_authorized, busy, global_cap, budget_exhausted,
    cooldown, quarantined, state_unavailable, audit_unavailable, shutting_down, healthy_here, paused,
    // how an action ended
    cannot_execute, timeout, killed, exit_status, listener_died,
    // lookups
    not_found,
    other
};
std::string_view to_string(Reason r);
Reason parse_reason(std::string_view s);

struct Request {
    Verb verb = Verb::status;
    std::string service;  ///< empty for info about every service
    bool force = false;   ///< admins only: past budget, cooldown and quarantine
    unsigned limit = 50;  ///< history: at most this many lines (1-1000)
    std::uint64_t since_s = 0;  ///< history: only the last this many seconds (0: all kept)
    std::uint64_t for_s = 0;    ///< pause: how long the hold lasts (1 s to max_hold_s)
    std::string reason{};       ///< pause: why, in the operator's words (may be empty)
};

/// A hold lasts at most 7 days: one without an end is forgotten.
inline constexpr std::uint64_t max_hold_s = 7 * 86400;
/// A hold's reason: at most this many bytes of UTF-8 without control characters.
inline constexpr std::size_t max_hold_reason = 160;

/// "" or why `reason` cannot be a hold's reason (too long, a control byte, not UTF-8).
std::string hold_reason_error(std::string_view reason);

inline constexpr unsigned max_history = 1000;

/// Why a request was refused: a stable machine-readable code plus words for humans.
struct Refusal {
    Reason reason = Reason::none;
    std::string message;  ///< e.g. "unknown verb 'reboot' (allowed: start, stop, restart, status)"
};

/// Parses one request line, without its trailing "\n" (a trailing "\r" is tolerated).
/// Checks syntax and verb/name shape only; whether the service exists is the listener's business.
std::optional<Request> parse_request(std::string_view line, Refusal& refusal);

/// "HEAL/1 history SERVICE|* LIMIT SINCE\n".
std::string format_history_request(std::string_view service, unsigned limit, std::uint64_t since_s);

/// "HEAL/1 pause SERVICE|* SECONDS[ REASON]\n": the reason is the rest of the line, blanks and all.
std::string format_pause_request(std::string_view service, std::uint64_t for_s, std::string_view reason);

/// "HEAL/1 VERB SERVICE[ force]\n"; for info, "HEAL/1 info[ SERVICE]\n".
std::string format_request(std::string_view verb, std::string_view service, bool force = false);

struct Reply {
    std::string id;  ///< request id (UUID), also in the audit log
    Outcome outcome = Outcome::refused;
    Reason reason = Reason::none;
    std::string reason_text;  ///< the wire string when `reason` is `other`
    std::string message;      ///< human words for the outcome
    std::string verb;
    std::string service;
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::string output;  ///< script stdout+stderr, at most 64 KiB
    bool truncated = false;
    std::int64_t duration_ms = 0;
    bool forced = false;
    std::string running_id;   ///< for reason "busy": the id of the action holding the service
    std::string shared_with;  ///< status only: the id of the request whose script run this shares
    std::optional<boost::json::object> info;  ///< the info verb's answer
    std::optional<boost::json::array> history;  ///< the history verb's answer, newest first
    /// `verify = yes` services, after a start or restart that succeeded: did status say healthy
    /// in time, after how long, and its last line.
    std::optional<bool> verified;
    std::optional<std::int64_t> healthy_after_ms;
    std::string verify_status;
    /// `diagnose = ...` services, restart and stop: the request id whose diagnostics were kept
    /// (heal-ctl diagnostics ID), and how the diagnose command ended.
    std::string diagnostics;
    std::string diagnose_status;
};

/// The reason as it goes on the wire ("" for none).
std::string_view reason_string(const Reply& r);

/// The reply as a JSON object: the one place that names the reply's fields (the audit record
/// builds on it).
boost::json::object to_json(const Reply& r);
std::string to_json_line(const Reply& r);
/// Strict: every field typed as documented; unknown fields ignored (forward compatibility).
std::optional<Reply> parse_reply(std::string_view text, std::string& error);

}  // namespace heal
