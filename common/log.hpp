// Operator-facing log lines: stderr by default (systemd's journal picks them up), syslog when
// stderr is not ours to use (inetd mode, where fd 2 is the client's socket).
#pragma once

#include <exception>
#include <string>
#include <string_view>

namespace heal::log {

enum class Level { error, warning, info };

void use_syslog(const char* ident);
void write(Level level, std::string_view message);

inline void error(std::string_view m) { write(Level::error, m); }
inline void warning(std::string_view m) { write(Level::warning, m); }
inline void info(std::string_view m) { write(Level::info, m); }

/// The completion handler of a detached coroutine (asio::co_spawn): what escaped it is logged
/// as an internal error ("WHERE: internal error: ..." when `where` is given), and the process
/// goes on.
void escaped(std::exception_ptr e);
void escaped_at(std::exception_ptr e, std::string_view where);

/// escaped() naming where: asio::co_spawn(ex, loop(), log::escaped_in("watch web")).
inline auto escaped_in(std::string where) {
    return [where = std::move(where)](std::exception_ptr e) { escaped_at(e, where); };
}

}  // namespace heal::log
