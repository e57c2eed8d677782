// Runs one configured script: execve (no shell), fixed argv and environment, own process
// group, output captured up to a cap; on timeout the whole group is killed, and every other
// process of the action too (process_tree.hpp).
//
// A Script is forked first and held at a gate before execve: the audit gate records the start
// (with the script's pid) and only then lets it run; if the record cannot be written the
// script is killed before it ever executed anything.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace heal {

inline constexpr std::size_t max_output_bytes = 64 * 1024;

struct ActionSpec {
    std::vector<std::string> argv;  ///< argv[0]: the absolute path executed
    std::string verb, service, request_id, peer;
    double timeout = 30;  ///< seconds
    std::size_t max_output = max_output_bytes;  ///< output kept; the rest is read and dropped
    std::vector<std::string> env;  ///< more NAME=VALUE entries (the report command's HEAL_*)
    /// When the script exits, what is left of its process group is killed (the report command:
    /// nothing it started outlives it). Restarts leave theirs: a restart starts daemons.
    bool end_group = false;
};

struct ActionResult {
    std::string exec_error;  ///< non-empty: the script could not be started at all
    std::optional<int> exit_code;
    std::optional<int> signal;
    bool timed_out = false;
    /// On timeout: processes of the action found outside the script's process group (moved
    /// to another group or session, or detached) and killed too, and any still alive after.
    std::vector<pid_t> killed_outside_group, survivors;
    std::string output;  ///< stdout and stderr, interleaved as written
    bool truncated = false;
    std::int64_t duration_ms = 0;
    /// An in-process check's (watch_check) own words for a result that is not OK: the reply's
    /// message instead of "script exited with status 2".
    std::string verdict;
};

class Script {
public:
    /// gated: fork; the child waits at the gate until run() (start, stop, restart: the audit
    /// gate records the start, with the pid, before anything runs). now: posix_spawn, running
    /// at once, at a cost that does not grow with the listener's size (status, verify and
    /// diagnose runs, which record nothing before they run). Same process group, signal, fd,
    /// cwd and environment guarantees either way.
    enum class Start { gated, now };
    /// On failure, error() says why and nothing runs.
    explicit Script(const ActionSpec& spec, Start start = Start::gated);
    /// Not released: the child is killed and reaped without having executed anything.
    ~Script();
    Script(const Script&) = delete;
    Script& operator=(const Script&) = delete;

    const std::string& error() const { return error_; }
    pid_t pid() const { return pid_; }
    /// The child's start time (/proc/PID/stat field 22): with the pid, who it is after a crash.
    /// Start::gated only (0 for Start::now: nothing records such a run).
    unsigned long long start_time() const { return start_time_; }

    /// Opens the gate and waits for the script; completes when the script itself exits (or is
    /// killed on timeout), not when every descendant has closed its output.
    boost::asio::awaitable<ActionResult> run();

private:
    ActionSpec spec_;
    std::string error_;
    pid_t pid_ = -1;
    unsigned long long start_time_ = 0;
    int go_fd_ = -1, out_fd_ = -1, err_fd_ = -1;
    bool released_ = false;
};

/// argv as given; environment = PATH, LANG=C, HEAL_VERB, HEAL_SERVICE,
/// HEAL_REQUEST_ID, HEAL_PEER and spec.env. cwd = "/". stdin = /dev/null. Spawned at once (Start::now) and run.
boost::asio::awaitable<ActionResult> run_action(const ActionSpec& spec);

/// Every signal to its default disposition, none blocked. Async-signal-safe: the listener
/// starts with it (an inherited SIGCHLD = SIG_IGN would make every script look successful),
/// and every script gets it before execve.
void default_signals();

/// One past the highest descriptor number in use at most (RLIMIT_NOFILE, capped), for
/// cloexec_from_3's fallback. Not async-signal-safe: call it before fork.
int fd_limit();

/// Marks every descriptor from 3 up close-on-exec: close_range(2), or fcntl on each up to
/// `limit` on kernels before 5.11. Async-signal-safe, so the child may call it before execve.
void cloexec_from_3(int limit);

/// Start time of a live process (0 when there is none): see Script::start_time().
unsigned long long process_start_time(pid_t pid);

}  // namespace heal
