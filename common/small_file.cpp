#include "common/small_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace heal {

namespace {

std::string kind(mode_t m) {
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISDIR(m)) return "a folder";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    if (S_ISSOCK(m)) return "a socket";
    return "not a plain file";
}

}  // namespace

int open_regular(const std::string& path, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        error = std::strerror(errno);
        return -1;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        error = "is not a regular file (" + kind(st.st_mode) + ")";
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, O_RDONLY);
    return fd;
}

std::string read_small_file(const std::string& path, std::size_t max_bytes, std::string& text) {
    std::string error;
    const int fd = open_regular(path, error);
    if (fd < 0) return error;
    text.clear();
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = std::strerror(errno);
            break;
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > max_bytes) {
            error = "is larger than " + std::to_string(max_bytes) + " bytes";
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!error.empty()) text.clear();
    return error;
}

std::string read_first_line(const std::string& path, std::size_t max_bytes, std::string& line) {
    std::string text;
    if (auto error = read_small_file(path, max_bytes, text); !error.empty()) return error;
    line = text.substr(0, text.find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return "";
}

}  // namespace heal
