// Operator-facing log lines: stderr by default (systemd's journal picks them up), syslog when
// stderr is not ours to use (inetd mode, where fd 2 is the client's socket).
#pragma once

#include <exception>
#include <string_view>

namespace heal::log {

enum class Level { error, warning, info };

void use_syslog(const char* ident);
void write(Level level, std::string_view message);

inline void error(std::string_view m) { write(Level::error, m); }
inline void warning(std::string_view m) { write(Level::warning, m); }
inline void info(std::string_view m) { write(Level::info, m); }

/// The completion handler of a detached coroutine (asio::co_spawn): what escaped it is logged
/// as an internal error, and the process goes on.
void escaped(std::exception_ptr e);

}  // namespace heal::log
