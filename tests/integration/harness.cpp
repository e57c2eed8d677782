#include "tests/integration/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace heal::test {

std::string build_dir() {
    const char* b = std::getenv("HEAL_BUILD");
    return std::filesystem::absolute(b ? b : "build").string();
}

std::string src_dir() {
    const char* s = std::getenv("HEAL_SRC");
    return std::filesystem::absolute(s ? s : ".").string();
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Child::Child(const std::vector<std::string>& argv, int stdio_fd, const std::string& log_file) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    started_ = now_seconds();
    pid_ = ::fork();
    if (pid_ == 0) {
        if (stdio_fd >= 0) {
            ::dup2(stdio_fd, 0);
            ::dup2(stdio_fd, 1);
            ::dup2(stdio_fd, 2);
        } else {
            int devnull = ::open("/dev/null", O_RDONLY);
            int out = log_file.empty() ? p[1]
                                       : ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(devnull, 0);
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        ::execv(args[0], args.data());
        std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    ::close(p[1]);
    out_fd_ = p[0];
}

Child::~Child() {
    if (!done_) {
        ::kill(pid_, SIGKILL);
        wait(5);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
}

void Child::signal(int sig) { ::kill(pid_, sig); }

RunResult Child::wait(double timeout) {
    RunResult r;
    double end = now_seconds() + timeout;
    bool killed = false;
    // Read until the child exits and the pipe runs dry (or, for children that leave a
    // grandchild holding the pipe, until the child has exited and nothing is readable).
    for (;;) {
        int status = 0;
        rusage ru{};
        pid_t w = ::wait4(pid_, &status, WNOHANG, &ru);
        if (w == pid_) r.max_rss_kib = ru.ru_maxrss;
        pollfd pfd{out_fd_, POLLIN, 0};
        int ready = ::poll(&pfd, 1, w == pid_ ? 0 : 20);
        if (ready > 0) {
            char buf[8192];
            ssize_t n = ::read(out_fd_, buf, sizeof buf);
            if (n > 0) r.output.append(buf, static_cast<size_t>(n));
        }
        if (w == pid_) {
            // drain what is already there
            ::fcntl(out_fd_, F_SETFL, O_NONBLOCK);
            char buf[8192];
            ssize_t n;
            while ((n = ::read(out_fd_, buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
            r.exit_code = WIFEXITED(status) && !killed ? WEXITSTATUS(status) : -1;
            break;
        }
        if (!killed && now_seconds() > end) {
            ::kill(pid_, SIGKILL);
            killed = true;
        }
    }
    done_ = true;
    r.seconds = now_seconds() - started_;
    return r;
}

RunResult run(const std::vector<std::string>& argv, double timeout) {
    Child c(argv);
    return c.wait(timeout);
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/heal-test.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
    ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& text, int mode) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << text;
    }
    ::chmod(tmp.c_str(), static_cast<mode_t>(mode));
    std::filesystem::rename(tmp, path);  // atomic, so a running reader never sees half a file
}

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::vector<std::string> read_lines(const std::string& path) {
    std::vector<std::string> out;
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);) out.push_back(line);
    return out;
}

ClosedPort::ClosedPort() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("ClosedPort: cannot bind a loopback port");
    port_ = ntohs(a.sin_port);
}

ClosedPort::~ClosedPort() { ::close(fd_); }

bool process_alive(pid_t pid) {
    if (::kill(pid, 0) != 0) return false;
    // A zombie is dead for our purposes (its parent, maybe init, has not reaped it yet).
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close == std::string::npos || stat.size() < close + 3 || stat[close + 2] != 'Z';
}

}  // namespace heal::test
