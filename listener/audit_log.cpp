#include "audit_log.hpp"

#include "log.hpp"
#include "text.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace heal {

namespace {

int open_append(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/// Holds the audit file's flock for one append: writers of all heal processes take turns, so a
/// failed append can be cut off again before anyone appends after it.
struct FileLock {
    int fd;
    explicit FileLock(int f) : fd(f) {
        while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
    ~FileLock() { ::flock(fd, LOCK_UN); }
};

}  // namespace

AuditLog::AuditLog(std::string path) : path_(std::move(path)), fd_(open_append(path_)) {
    if (fd_ < 0)
        throw std::runtime_error("cannot open audit log '" + path_ + "': " + std::strerror(errno));
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::write(const boost::json::object& record) {
    boost::json::object line;
    line["ts"] = utc_iso(now_ms());
    for (const auto& kv : record) line.insert(kv);
    std::string text = boost::json::serialize(line) + "\n";

    int err = 0;
    {
        FileLock lock(fd_);
        struct stat st {};
        bool regular = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
        ssize_t n = ::write(fd_, text.data(), text.size());
        if (n != static_cast<ssize_t>(text.size())) {
            err = n < 0 ? errno : ENOSPC;  // a short write means the disk filled up
            // Cut our fragment off: nobody else appends while we hold the lock.
            if (n > 0 && regular && ::ftruncate(fd_, st.st_size) != 0)
                log::error("audit log '" + path_ + "': cannot cut off a partial record: " +
                           std::strerror(errno));
        }
    }
    if (err) {
        if (failures_++ == 0)
            log::error("audit log '" + path_ + "': write failed: " + std::strerror(err) +
                       "; start, stop and restart are refused (audit_unavailable) until it "
                       "can be written again");
        return false;
    }
    if (failures_ > 0) {
        log::warning("audit log '" + path_ + "' is writable again; " + std::to_string(failures_) +
                     " record(s) could not be written meanwhile");
        failures_ = 0;
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
