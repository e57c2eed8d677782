// Pure decisions of check_worker: no I/O here, so every rule has a unit test.
#pragma once

#include "common/plugin.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace heal::plugin {

/// Spring Boot Actuator style health document. Only the top-level "status" decides the state
/// (UP ok; DOWN, OUT_OF_SERVICE critical; UNKNOWN unknown; anything else warning), so a nested
/// "UP" can never make a "DOWN" look healthy. Non-UP components are listed, nested ones too.
struct HealthVerdict {
    State state = critical;
    std::string status;                ///< the top-level status, "" when unreadable
    std::vector<std::string> failing;  ///< "db: DOWN", "db/primary: OUT_OF_SERVICE"
    std::string error;                 ///< why the document could not be read
};
HealthVerdict evaluate_health(std::string_view body);

/// HTTP status code lists: "200,204,300-399".
using CodeList = std::vector<std::pair<unsigned, unsigned>>;
std::optional<CodeList> parse_codes(std::string_view text, std::string& error);
bool code_listed(const CodeList& list, unsigned code);
/// Without -e: 2xx and 3xx OK, 4xx WARNING, everything else CRITICAL (as check_http).
State default_code_state(unsigned code);

/// -e: a list of status codes and ranges ("200,204,300-399") when every item is one; else, as
/// check_http, texts of which one must be in the status line ("HTTP/1.1 200", "200 OK").
struct Expect {
    CodeList codes;                    ///< when `strings` is empty
    std::vector<std::string> strings;
};
std::optional<Expect> parse_expect(std::string_view text, std::string& error);
bool expect_met(const Expect& e, unsigned code, std::string_view status_line);

/// "host:port" or "[v6]:port" of check_http's -H: the host and the port; nullopt when `text`
/// carries no port (a bare name, an IPv4 or IPv6 address). `error` says why a port is bad.
std::optional<std::pair<std::string, unsigned short>> split_host_port(std::string_view text,
                                                                      std::string& error);

/// -x: "[http://]host[:port]" (port 1080 by default, as curl); nullopt with `error` otherwise
/// (other schemes, user info, paths).
std::optional<std::pair<std::string, unsigned short>> parse_proxy(std::string_view text,
                                                                  std::string& error);
/// --noproxy: a comma-separated list of names, domains and addresses, or "*": true when `host`
/// is one of them or below one (curl's rule: "example.com" and ".example.com" both cover
/// "a.example.com").
bool no_proxy_for(std::string_view list, std::string_view host);

/// "\n", "\r", "\t", "\\" in --send text; anything else after '\' is an error.
std::optional<std::string> unescape(std::string_view text, std::string& error);

/// A Nagios-style status line "OK <message>" / "CRITICAL: <message>"; nullopt for anything else.
std::optional<std::pair<State, std::string>> parse_status_line(std::string_view line);

/// Base64 (RFC 4648, with padding), for Basic authentication (RFC 7617).
std::string base64(std::string_view bytes);

/// ASCII lower case (host names, URL schemes, option words).
std::string to_lower(std::string_view text);

/// -m MIN[:MAX] of check_http (page size in bytes) as a range that alerts outside MIN..MAX:
/// "100" -> "100:", "100:5000" -> "100:5000".
std::optional<Range> parse_pagesize(std::string_view text, std::string& error);

/// An HTTP date (RFC 9110: IMF-fixdate, and the obsolete RFC 850 and asctime forms) as seconds
/// since the epoch; nullopt for anything else.
std::optional<long long> parse_http_date(std::string_view text);

/// Where a redirect's Location points, resolved against the URL that answered with it.
struct Location {
    bool tls = false;
    std::string host;  ///< lower case; an IPv6 address without brackets
    unsigned short port = 0;
    std::string path;  ///< starts with '/', query included
};
/// "/path", "//host[:port]/path" or "http[s]://host[:port]/path"; nullopt for anything else
/// (relative paths, user info, other schemes, blanks or control characters).
std::optional<Location> parse_location(std::string_view loc, const Location& base);

}  // namespace heal::plugin
