#include "handler/nagios_command.hpp"

#include "common/clock.hpp"

#include "common/text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <limits.h>
#include <thread>

namespace heal::nagios {

std::string send_command(const std::string& fifo, std::string_view command, double timeout_s) {
    std::string line = "[" + std::to_string(std::time(nullptr)) + "] " + std::string(command) + "\n";
    if (line.size() > PIPE_BUF) return "command longer than PIPE_BUF";
    // O_NONBLOCK: no reader (Nagios down) is ENXIO at once, a full pipe is EAGAIN, never a hang.
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return "cannot open '" + fifo + "': " +
               (e == ENXIO ? std::string("Nagios is not reading it (not running?)") : std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        ::close(fd);
        return "'" + fifo + "' is not a FIFO (Nagios' command_file)";
    }
    auto deadline = std::chrono::steady_clock::now() + steady_duration(timeout_s);
    std::string error;
    for (;;) {
        ssize_t n = ::write(fd, line.data(), line.size());
        if (n == static_cast<ssize_t>(line.size())) break;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            continue;
        }
        error = n < 0 && errno == EAGAIN ? "Nagios did not read its command file within " +
                                               format_duration(timeout_s)
                : n < 0                  ? std::string(std::strerror(errno))
                                         : "short write";
        break;
    }
    ::close(fd);
    return error;
}

std::string command_field(std::string_view text, std::size_t max_len) {
    std::string s = printable(text, max_len);
    for (char& c : s)
        if (c == ';') c = ',';
    return s;
}

}  // namespace heal::nagios
