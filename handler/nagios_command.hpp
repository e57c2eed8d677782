// Telling Nagios: one external command line into its command FIFO (nagios.cmd).
#pragma once

#include <string>
#include <string_view>

namespace heal::nagios {

/// Writes "[EPOCH] COMMAND\n" to the FIFO in one write (atomic: under PIPE_BUF), never blocking
/// longer than `timeout_s` on a Nagios that does not read it. Returns "" or why it failed.
std::string send_command(const std::string& fifo, std::string_view command, double timeout_s = 5);

/// Text safe as a command's last field: no ';' (it separates fields), no control characters,
/// valid UTF-8, cut at `max_len` bytes.
std::string command_field(std::string_view text, std::size_t max_len = 1000);

}  // namespace heal::nagios
