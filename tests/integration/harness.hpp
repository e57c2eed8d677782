// Test harness: run the real binaries as a user would, capture what they print.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace heal::test {

/// Folder with the built binaries ($HEAL_BUILD, default "build") and the source tree ($HEAL_SRC).
std::string build_dir();
std::string src_dir();

struct RunResult {
    int exit_code = -1;  ///< -1: killed by our timeout or a signal
    std::string output;  ///< stdout and stderr
    double seconds = 0;
    long max_rss_kib = 0;  ///< peak resident memory of the child
};

/// A child process with its output going to a pipe we read when it finishes.
class Child {
public:
    /// `stdio_fd`: a descriptor to pass as the child's 0, 1 and 2 (inetd style).
    /// `log_file`: append stdout and stderr there instead of to a pipe (long-running servers).
    explicit Child(const std::vector<std::string>& argv, int stdio_fd = -1,
                   const std::string& log_file = "");
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    pid_t pid() const { return pid_; }
    /// Waits up to `timeout` seconds, then SIGKILLs.
    RunResult wait(double timeout = 20);
    void signal(int sig);

private:
    pid_t pid_ = -1;
    int out_fd_ = -1;
    double started_ = 0;
    bool done_ = false;
};

RunResult run(const std::vector<std::string>& argv, double timeout = 20);

/// A fresh folder under /tmp, removed when the object goes.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& text, int mode = 0644);
std::string read_file(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);

/// A loopback TCP port held bound but not listening for the object's lifetime: a connection to
/// it is refused, and nobody else can be given it meanwhile (unlike a port picked and released).
class ClosedPort {
public:
    ClosedPort();
    ~ClosedPort();
    ClosedPort(const ClosedPort&) = delete;
    ClosedPort& operator=(const ClosedPort&) = delete;
    unsigned short port() const { return port_; }

private:
    int fd_;
    unsigned short port_ = 0;
};
bool process_alive(pid_t pid);
double now_seconds();
/// Polls `pred` every 20 ms for up to `timeout` seconds.
template <class F>
bool eventually(F pred, double timeout = 5);

}  // namespace heal::test

#include <thread>
template <class F>
bool heal::test::eventually(F pred, double timeout) {
    double end = now_seconds() + timeout;
    while (now_seconds() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}
