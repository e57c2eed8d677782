#include "listener/diagnostics.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

namespace heal {

namespace fs = std::filesystem;

std::string diagnostics_dir(const std::string& state_dir) { return state_dir + "/diagnostics"; }

bool is_request_id(const std::string& id) {
    if (id.size() != 36) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
    }
    return true;
}

std::string write_diagnostics(const std::string& dir, const std::string& id, const std::string& text) {
    if (!is_request_id(id)) return "not a request id: " + id;
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
        return "cannot create " + dir + ": " + std::strerror(errno);
    const std::string path = dir + "/" + id + ".log";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            std::string why = "cannot write " + path + ": " + std::strerror(errno);
            ::close(fd);
            ::unlink(path.c_str());
            return why;
        }
        done += static_cast<std::size_t>(n);
    }
    bool synced = ::fsync(fd) == 0;
    ::close(fd);
    return synced ? "" : "cannot flush " + path + ": " + std::strerror(errno);
}

std::uint64_t prune_diagnostics(const std::string& dir, double keep_s, std::uint64_t max_bytes) {
    struct File {
        fs::path path;
        fs::file_time_type mtime;
        std::uint64_t size;
    };
    std::vector<File> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() != ".log" || !e.is_regular_file(ec)) continue;
        auto size = e.file_size(ec);
        auto mtime = e.last_write_time(ec);
        if (!ec) files.push_back({e.path(), mtime, size});
    }
    std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.mtime > b.mtime; });
    const auto cutoff = fs::file_time_type::clock::now() -
                        std::chrono::duration_cast<fs::file_time_type::duration>(
                            std::chrono::duration<double>(keep_s));
    std::uint64_t kept = 0;
    bool keeping = true;
    for (const auto& f : files) {  // newest first: once one is too old or does not fit, it and
                                   // everything older go
        keeping = keeping && f.mtime >= cutoff && kept + f.size <= max_bytes;
        if (keeping)
            kept += f.size;
        else
            fs::remove(f.path, ec);
    }
    return kept;
}

std::uint64_t diagnostics_bytes(const std::string& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() != ".log" || !e.is_regular_file(ec)) continue;
        auto size = e.file_size(ec);
        if (!ec) total += size;
    }
    return total;
}

std::optional<std::string> read_diagnostics(const std::string& dir, const std::string& id,
                                            std::size_t cap) {
    if (!is_request_id(id)) return std::nullopt;
    int fd = ::open((dir + "/" + id + ".log").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string text;
    char buf[65536];
    ssize_t n;
    while (text.size() < cap && (n = ::read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        text.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), cap - text.size()));
    }
    ::close(fd);
    return text;
}

}  // namespace heal
