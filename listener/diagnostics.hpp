// Diagnostics captured before a restart or stop (`diagnose = COMMAND`): one file per request,
// state_dir/diagnostics/<request id>.log, mode 0640, pruned by age and then by total size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace heal {

/// Largest diagnose output kept (the rest is read and dropped).
inline constexpr std::size_t max_diagnostics_bytes = 1 << 20;

std::string diagnostics_dir(const std::string& state_dir);

/// A request id as the listener makes them (lower-case UUID): the only names ever used for files.
bool is_request_id(const std::string& id);

/// Writes dir/<id>.log (created 0640, never overwriting, flushed to disk); "" or why not.
std::string write_diagnostics(const std::string& dir, const std::string& id, const std::string& text);

/// Deletes *.log files older than `keep_s`, then the oldest until the rest fit in `max_bytes`.
/// Returns the bytes kept.
std::uint64_t prune_diagnostics(const std::string& dir, double keep_s, std::uint64_t max_bytes);

/// Bytes of all kept diagnostics.
std::uint64_t diagnostics_bytes(const std::string& dir);

/// The stored text of `id` (at most `cap` bytes), or nullopt when there is none.
std::optional<std::string> read_diagnostics(const std::string& dir, const std::string& id,
                                            std::size_t cap);

}  // namespace heal
