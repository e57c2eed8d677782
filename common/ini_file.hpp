// A thin, strict wrapper over inih: every error names the file and line.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace heal {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Called for every key; returns "" to accept, or what was wrong ("unknown key 'x' in [y]").
using IniHandler =
    std::function<std::string(std::string_view section, std::string_view key, std::string_view value)>;

/// inih's line buffer is 200 bytes: longer lines are refused, never split.
inline constexpr std::size_t max_ini_line = 199;
inline constexpr std::size_t max_ini_bytes = 1 << 20;

/// Parses `path`, calling `handler` per key. Throws ConfigError "FILE:LINE: message" on the
/// first problem: unreadable file, a line too long, an empty or duplicate section, syntax
/// error, a handler complaint, or a duplicate key.
void parse_ini_file(const std::string& path, const IniHandler& handler);

}  // namespace heal
