#include "listener/action_runner.hpp"

#include "common/clock.hpp"
#include "listener/process_tree.hpp"

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace heal {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;

namespace {

/// Owns a file descriptor until it is handed to asio.
struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd& operator=(Fd&&) = delete;
    int release() { return std::exchange(fd, -1); }
    void reset() {
        if (fd >= 0) ::close(std::exchange(fd, -1));
    }
};

struct Output {
    std::string text;
    std::size_t cap = max_output_bytes;
    bool truncated = false;
    bool eof = false;
};

/// Reads whatever is available without blocking; stops after `budget` bytes so a flooding
/// grandchild cannot keep us here.
void drain(int fd, Output& out, std::size_t budget) {
    char buf[16384];
    while (budget > 0) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            budget -= std::min<std::size_t>(budget, static_cast<std::size_t>(n));
            std::size_t room = out.cap - out.text.size();
            out.text.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
            if (static_cast<std::size_t>(n) > room) out.truncated = true;
        } else if (n == 0) {
            out.eof = true;
            return;
        } else if (errno != EINTR) {
            return;  // EAGAIN: nothing more for now
        }
    }
}

/// Everything execve needs, built before fork: the child may only make async-signal-safe calls.
struct ExecImage {
    std::vector<std::string> storage;
    std::vector<char*> argv, envp;
    int max_fd = 1024;  ///< for the close-on-exec fallback
    ExecImage(const ActionSpec& s) {
        storage = s.argv;
        for (const char* v : {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "LANG=C"})
            storage.emplace_back(v);
        storage.push_back("HEAL_VERB=" + s.verb);
        storage.push_back("HEAL_SERVICE=" + s.service);
        storage.push_back("HEAL_REQUEST_ID=" + s.request_id);
        storage.push_back("HEAL_PEER=" + s.peer);
        for (const auto& e : s.env) storage.push_back(e);
        for (std::size_t i = 0; i < s.argv.size(); ++i) argv.push_back(storage[i].data());
        argv.push_back(nullptr);
        max_fd = fd_limit();
        for (std::size_t i = s.argv.size(); i < storage.size(); ++i) envp.push_back(storage[i].data());
        envp.push_back(nullptr);
    }
};

/// The last steps of both ways to start a script: stdio, cwd, no listener descriptor, execve.
[[noreturn]] void exec_script(const ExecImage& image, int devnull, int out_w, int err_w) {
    if (::dup2(devnull, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(out_w, 2) < 0 || ::chdir("/") < 0) {
        int e = errno;
        [[maybe_unused]] auto n = ::write(err_w, &e, sizeof e);
        ::_exit(127);
    }
    // Nothing of the listener's (sockets, keys, the audit log) leaks into the script. Every fd
    // is close-on-exec already; this is the second line of defence.
    cloexec_from_3(image.max_fd);
    // glibc's own signals (32 and 33: thread cancellation, setxid) are out of sigaction's reach;
    // they can arrive ignored (under a sanitizer's runtime, say) and execve keeps an ignored
    // signal ignored. The system call sets them to default like every other.
    struct KernelSigaction {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)();
        unsigned long mask;
    } dfl{SIG_DFL, 0, nullptr, 0};
    for (int sig = 32; sig < SIGRTMIN; ++sig) ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
    ::execve(image.argv[0], image.argv.data(), image.envp.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(err_w, &e, sizeof e);
    ::_exit(127);
}

[[noreturn]] void exec_child(const ExecImage& image, int devnull, int out_w, int err_w, int go_r,
                             int go_w) {
    ::setpgid(0, 0);
    default_signals();  // undo the listener's SIG_IGN of SIGPIPE
    // The gate: run nothing until the parent has recorded the start. EOF (the parent died or
    // gave up) ends the child without executing anything.
    ::close(go_w);
    char go = 0;
    ssize_t got;
    while ((got = ::read(go_r, &go, 1)) < 0 && errno == EINTR) {
    }
    if (got != 1) ::_exit(126);
    exec_script(image, devnull, out_w, err_w);
}

struct SpawnArgs {
    const ExecImage* image;
    int devnull, out_w, err_w;
};

/// The child of clone(CLONE_VM | CLONE_VFORK): it runs on its own stack in the listener's
/// memory while the listener waits for its execve, so it only makes system calls and touches
/// nothing but what SpawnArgs points to (built before the clone).
int spawned_child(void* p) {
    const auto& a = *static_cast<const SpawnArgs*>(p);
    ::setpgid(0, 0);
    default_signals();  // dispositions first, then the mask the parent blocked is lifted
    exec_script(*a.image, a.devnull, a.out_w, a.err_w);
}

struct KillState {
    pid_t pid;
    std::string request_id;
    bool exited = false;
    bool timed_out = false;
    std::vector<pid_t> outside_group{};
};

void close_fd(int& fd) {
    if (fd >= 0) ::close(std::exchange(fd, -1));
}

}  // namespace

void default_signals() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

int fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 65536;
    return static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 20));
}

void cloexec_from_3(int limit) {
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    for (int fd = 3; fd < limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

unsigned long long process_start_time(pid_t pid) {
    if (pid <= 0) return 0;
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    // "pid (comm) state ppid ..." — comm may hold blanks and parentheses: count from the last ')'.
    const char* p = std::strrchr(buf, ')');
    if (!p) return 0;
    ++p;
    for (int field = 3; field < 22 && p; ++field) p = std::strchr(p + 1, ' ');
    return p ? std::strtoull(p + 1, nullptr, 10) : 0;
}

/// Starts the script at once with clone(CLONE_VM | CLONE_VFORK), as posix_spawn does: no copy
/// of the listener's page tables, so a start costs the same whatever the listener's size (fork
/// of a 60 MB listener spent most of a 500-request burst copying and unmapping page tables).
/// Not posix_spawn itself: it leaves glibc's internal signals 32 and 33 ignored in the script.
/// Signals are blocked around the clone, so no listener handler runs in the child. Returns 0
/// or the errno of clone or execve.
int spawn_now(const ExecImage& image, int devnull, int out_w, pid_t& pid) {
    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) return errno;
    Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
    // One stack for every start, mapped once: the parent is suspended until the child has
    // called execve (CLONE_VFORK), so no two children ever use it at once. Mapping and unmapping
    // it per start cost a TLB shootdown on every CPU each time: a sixth of the listener's CPU
    // when the watch loop runs 200 status commands a second.
    constexpr std::size_t stack_size = 64 * 1024;
    static void* stack = MAP_FAILED;
    if (stack == MAP_FAILED) {
        stack = ::mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED) return errno;
    }
    SpawnArgs args{&image, devnull, out_w, err_w.fd};
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &old);
    const int saved_errno = errno;
    pid = ::clone(spawned_child, static_cast<char*>(stack) + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD,
                  &args);
    int clone_errno = pid < 0 ? errno : 0;
    errno = saved_errno;  // the child shared our errno
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) return clone_errno;
    // The child has called execve (or given up) by now: EOF, or its errno.
    err_w.reset();
    int exec_errno = 0;
    if (::read(err_r.fd, &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid = -1;
        return exec_errno;
    }
    return 0;
}

Script::Script(const ActionSpec& spec, Start start) : spec_(spec) {
    auto fail = [&](const char* what) { error_ = std::string(what) + ": " + std::strerror(errno); };
    ExecImage image(spec_);
    if (start == Start::now) {
        // Opened once: the watch loop starts hundreds of status runs a second.
        static const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) { fail("open /dev/null"); return; }
        int out_pipe[2];
        if (::pipe2(out_pipe, O_CLOEXEC) != 0) { fail("pipe2"); return; }
        Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
        pid_t pid = -1;
        if (int e = spawn_now(image, devnull, out_w.fd, pid); e != 0) {
            error_ = "cannot execute " + spec_.argv.front() + ": " + std::strerror(e);
            return;
        }
        pid_ = pid;  // no start time: nothing records a run started at once
        out_fd_ = out_r.release();
        return;
    }
    Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (devnull.fd < 0) { fail("open /dev/null"); return; }
    int out_pipe[2], err_pipe[2], go_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) { fail("pipe2"); return; }
    Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) { fail("pipe2"); return; }
    Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
    if (::pipe2(go_pipe, O_CLOEXEC) != 0) { fail("pipe2"); return; }
    Fd go_r(go_pipe[0]), go_w(go_pipe[1]);

    pid_t pid = ::fork();
    if (pid < 0) { fail("fork"); return; }
    if (pid == 0) exec_child(image, devnull.fd, out_w.fd, err_w.fd, go_r.fd, go_w.fd);
    // Also from the parent, so a timeout kill right away still finds the group.
    ::setpgid(pid, pid);
    pid_ = pid;
    start_time_ = process_start_time(pid);
    go_fd_ = go_w.release();
    out_fd_ = out_r.release();
    err_fd_ = err_r.release();
}

Script::~Script() {
    if (pid_ > 0 && !released_) {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    close_fd(go_fd_);
    close_fd(out_fd_);
    close_fd(err_fd_);
}

asio::awaitable<ActionResult> Script::run() {
    ActionResult result;
    if (!error_.empty() || pid_ <= 0) {
        result.exec_error = error_.empty() ? "not started" : error_;
        co_return result;
    }
    auto ex = co_await asio::this_coro::executor;
    auto fail = [&](const char* what) {
        result.exec_error = std::string(what) + ": " + std::strerror(errno);
        return result;
    };
    released_ = true;
    auto started = std::chrono::steady_clock::now();
    const pid_t pid = pid_;
    char go = 'g';
    bool opened = go_fd_ < 0 || ::write(go_fd_, &go, 1) == 1;  // spawned at once: no gate
    close_fd(go_fd_);
    ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);

    // Debian 12's <sys/pidfd.h> lacks C linkage for C++, so call the syscall directly.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!opened || pidfd.fd < 0) {
        // Cannot watch it: do not leave it running unobserved.
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        pid_ = -1;
        co_return fail(opened ? "pidfd_open" : "starting the script");
    }

    auto ks = std::make_shared<KillState>(KillState{pid, spec_.request_id});
    asio::steady_timer timer(ex, steady_duration(spec_.timeout));
    timer.async_wait([ks](boost::system::error_code ec) {
        if (ec || ks->exited) return;
        ks->timed_out = true;
        ks->outside_group = kill_action(ks->pid, ks->request_id).outside_group;
    });

    asio::posix::stream_descriptor out_d(ex, std::exchange(out_fd_, -1));
    asio::posix::stream_descriptor exit_d(ex, pidfd.release());
    Output out;
    out.cap = spec_.max_output;
    for (;;) {
        if (out.eof) {
            co_await exit_d.async_wait(asio::posix::descriptor_base::wait_read, use_awaitable);
            break;
        }
        auto which = co_await (
            out_d.async_wait(asio::posix::descriptor_base::wait_read, use_awaitable) ||
            exit_d.async_wait(asio::posix::descriptor_base::wait_read, use_awaitable));
        if (which.index() == 1) break;
        drain(out_d.native_handle(), out, 1 << 20);
    }
    ks->exited = true;
    timer.cancel();

    int status = 0;
    pid_t reaped;
    while ((reaped = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    int wait_errno = reaped < 0 ? errno : 0;
    // The group outlives its reaped leader while members are left; its id is not reused until then.
    if (spec_.end_group) ::kill(-pid, SIGKILL);
    pid_ = -1;
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();
    // What the script wrote before exiting is in the pipe now; grandchildren may keep it open,
    // so take what is there and do not wait for EOF.
    if (!out.eof) drain(out_d.native_handle(), out, 1 << 20);
    out_d.close();

    int exec_errno = 0;
    if (err_fd_ >= 0 && ::read(err_fd_, &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
        result.exec_error = std::string("cannot execute ") + spec_.argv.front() + ": " +
                            std::strerror(exec_errno);
        co_return result;
    }
    if (wait_errno) {  // never "exited 0" for a child we could not reap
        result.exec_error = std::string("cannot learn how the script ended: waitpid: ") +
                            std::strerror(wait_errno);
        co_return result;
    }
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
    result.timed_out = ks->timed_out;
    if (ks->timed_out) {
        result.killed_outside_group = ks->outside_group;
        // SIGKILL is not instant for a process in an uninterruptible wait: look again briefly.
        for (int i = 0; i < 10; ++i) {
            result.survivors = action_processes(pid, spec_.request_id);
            if (result.survivors.empty()) break;
            timer.expires_after(std::chrono::milliseconds(10));
            co_await timer.async_wait(use_awaitable);
        }
    }
    result.output = std::move(out.text);
    result.truncated = out.truncated;
    co_return result;
}

asio::awaitable<ActionResult> run_action(const ActionSpec& spec) {
    Script script(spec, Script::Start::now);
    co_return co_await script.run();
}

}  // namespace heal
