// The heal wire protocol, version 1 (documented in heal-listener(8)).
//
//   client -> server   one line:  "HEAL/1 VERB SERVICE\n"   (CRLF accepted, at most 256 bytes)
//   server -> client   one line:  a JSON object (the Reply below) + "\n", then TLS close_notify.
//
// One request per connection. The line format is deliberately typable in `openssl s_client`.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace heal {

inline constexpr std::string_view protocol_version = "HEAL/1";
inline constexpr std::size_t max_request_bytes = 256;  // including the newline
inline constexpr std::size_t max_reply_bytes = 1 << 20;
inline constexpr unsigned short default_port = 5669;

bool is_known_verb(std::string_view verb);
/// [A-Za-z0-9][A-Za-z0-9._-]{0,63}
bool is_valid_service_name(std::string_view name);

struct Request {
    std::string verb;
    std::string service;
};

/// Why a request was refused: a stable machine-readable code plus words for humans.
struct Refusal {
    std::string reason;   ///< e.g. "unknown_verb"
    std::string message;  ///< e.g. "unknown verb 'reboot' (allowed: start, stop, restart, status)"
};

/// Parses one request line, without its trailing "\n" (a trailing "\r" is tolerated).
/// Checks syntax and verb/name shape only; whether the service exists is the listener's business.
std::optional<Request> parse_request(std::string_view line, Refusal& refusal);

std::string format_request(std::string_view verb, std::string_view service);

struct Reply {
    std::string id;       ///< request id (UUID), also in the audit log
    std::string outcome;  ///< "ok", "failed", "timed_out" or "refused"
    std::string reason;   ///< refusal/failure code, empty when ok
    std::string message;  ///< human words for the outcome
    std::string verb;
    std::string service;
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::string output;  ///< script stdout+stderr, at most 64 KiB
    bool truncated = false;
    std::int64_t duration_ms = 0;
    std::string running_id;  ///< for reason "busy": the id of the action holding the service
};

/// The reply as a JSON object: the one place that names the reply's fields (the audit record
/// builds on it).
boost::json::object to_json(const Reply& r);
std::string to_json_line(const Reply& r);
/// Strict: every field typed as documented; unknown fields ignored (forward compatibility).
std::optional<Reply> parse_reply(std::string_view text, std::string& error);

}  // namespace heal
