// Small string helpers shared by every binary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace heal {

std::string_view trim(std::string_view s);

/// Splits "a, b,c" on commas, trimming blanks; empty items are kept so callers can reject them.
std::vector<std::string> split_list(std::string_view s);

/// Parses a whole decimal number in [min, max]; false on anything else (sign, junk, overflow).
bool parse_uint(std::string_view s, unsigned long long min, unsigned long long max,
                unsigned long long& out);

/// Parses seconds as a decimal ("30", "0.5") in (0, max]; false on anything else.
bool parse_seconds(std::string_view s, double max, double& out);

/// Parses a duration: a decimal number with an optional unit ms, s, m, h or d ("90", "250ms", "5m",
/// "1.5h", "30d") into seconds in [0, max] (0 only when `allow_zero`); false on anything else.
bool parse_duration(std::string_view s, double max, double& out, bool allow_zero = false);

/// Seconds as the shortest exact duration word: 3600 -> "1h", 90 -> "90s", 0.5 -> "0.5s".
/// For durations as configured (budgets, timeouts).
std::string format_duration(double seconds);

/// Seconds as measured, for people: "0.12 s", "29.9 s" (two decimals below 10, one above).
/// For times that passed or are left (healthy after, cooldown left, a call's timeout).
std::string seconds_text(double seconds);

/// Parses "yes"/"no" (also true/false, on/off, 1/0).
bool parse_bool(std::string_view s, bool& out);

/// The first line of a script's or a peer's output, cleaned for a one-line message (printable,
/// at most 200 bytes; "" when silent).
std::string first_line(std::string_view text);

/// Text from a peer made safe for a one-line message and for JSON: control characters become
/// '?', invalid UTF-8 becomes U+FFFD, and it is cut at `max_len` bytes (then "..." follows).
std::string printable(std::string_view s, std::size_t max_len = 200);

/// The one filter for text from a peer shown to people: valid UTF-8 (invalid bytes become
/// U+FFFD), and every control character but those in `keep` becomes `replacement`: C0, DEL,
/// and C1 (U+0080-U+009F, which some terminals obey like ESC sequences).
std::string without_controls(std::string_view s, std::string_view keep = "", char replacement = '?');

/// Multi-line text from a peer made safe for a terminal or a Nagios long output: like
/// printable() but newlines and tabs stay; ESC, NUL, CR, other C0 and C1 controls and DEL
/// become '?'. Not cut.
std::string terminal_safe(std::string_view s);

/// Valid UTF-8 for JSON: each invalid byte becomes U+FFFD. At most `max_bytes` long, never cut
/// inside a character; `cut` (if given) says whether anything was left out.
std::string valid_utf8(std::string_view s, std::size_t max_bytes = std::string::npos,
                       bool* cut = nullptr);

/// A decimal number, [-]DIGITS[.DIGITS] or [-].DIGITS (no exponent, no "inf" or "nan"), read
/// whole by strtod in the "C" locale (no program of heal calls setlocale), at most 40 bytes.
/// Not std::from_chars: libstdc++'s floating-point one alone needs libm, which check_worker
/// then loads at every start (Makefile).
bool parse_decimal(std::string_view s, double& out);

/// Wall-clock milliseconds since the epoch (the state store's and the audit's clock).
std::int64_t now_ms();

/// Seconds (a parsed duration) as whole milliseconds, rounded: the one conversion the guards,
/// their messages and `info` share, so they never disagree by a millisecond.
std::int64_t to_ms(double seconds);

/// "2026-11-21T19:58:03.123Z"
std::string utc_iso(std::int64_t ms);

/// A random version-4 UUID from OpenSSL's CSPRNG.
std::string new_uuid();

/// Absolute directory of a file path (relative paths are taken from the current directory).
std::string dir_of(const std::string& path);

/// `value` if absolute, else `dir/value`.
std::string resolve_path(const std::string& dir, std::string_view value);

}  // namespace heal
