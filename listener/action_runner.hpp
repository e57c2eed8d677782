// Runs one configured script: execve (no shell), fixed argv and environment, own process
// group, output captured up to a cap, whole group killed on timeout.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace heal {

inline constexpr std::size_t max_output_bytes = 64 * 1024;

struct ActionSpec {
    std::string script;  ///< absolute path
    std::string verb, service, request_id, peer;
    double timeout = 30;  ///< seconds
};

struct ActionResult {
    std::string exec_error;  ///< non-empty: the script could not be started at all
    std::optional<int> exit_code;
    std::optional<int> signal;
    bool timed_out = false;
    std::string output;  ///< stdout and stderr, interleaved as written
    bool truncated = false;
    std::int64_t duration_ms = 0;
};

/// argv = { script, verb }; environment = PATH, LANG=C, HEAL_VERB, HEAL_SERVICE,
/// HEAL_REQUEST_ID, HEAL_PEER. cwd = "/". stdin = /dev/null.
/// Completes when the script itself exits (or is killed on timeout), not when every
/// descendant has closed its output: a daemon it started may keep the pipe.
boost::asio::awaitable<ActionResult> run_action(const ActionSpec& spec);

}  // namespace heal
