#include "audit_log.hpp"

#include "log.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace heal {

namespace {
int open_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}
}  // namespace

std::string utc_timestamp_ms() {
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

AuditLog::AuditLog(std::string path) : path_(std::move(path)), fd_(open_append(path_)) {
    if (fd_ < 0)
        throw std::runtime_error("cannot open audit log '" + path_ + "': " + std::strerror(errno));
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::write(const boost::json::object& record) {
    boost::json::object line;
    line["ts"] = utc_timestamp_ms();
    for (const auto& kv : record) line.insert(kv);
    std::string text = boost::json::serialize(line) + "\n";
    // O_APPEND + a single write keeps lines whole even if two processes (daemon and an inetd
    // instance) share the file.
    ssize_t n = ::write(fd_, text.data(), text.size());
    if (n != static_cast<ssize_t>(text.size())) {
        log::error("audit log '" + path_ + "': write failed: " +
                   (n < 0 ? std::strerror(errno) : "short write"));
        return false;
    }
    return true;
}

bool AuditLog::reopen() {
    int fd = open_append(path_);
    if (fd < 0) {
        log::error("cannot reopen audit log '" + path_ + "': " + std::strerror(errno) +
                   " (still writing to the old file)");
        return false;
    }
    ::close(fd_);
    fd_ = fd;
    return true;
}

}  // namespace heal
