#include "common/audit_log.hpp"

#include "common/log.hpp"
#include "common/text.hpp"

#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace heal {

namespace {

/// What is wrong with a file found at the audit log's path, or "".
std::string file_problem(const struct stat& st) {
    if (S_ISLNK(st.st_mode)) return "is a symbolic link (heal never follows one there)";
    if (S_ISDIR(st.st_mode)) return "is a folder, not a file";
    if (S_ISFIFO(st.st_mode)) return "is a FIFO, not a regular file (opening it would block)";
    if (!S_ISREG(st.st_mode)) return "is not a regular file";
    if (st.st_nlink != 1)
        return "has " + std::to_string(st.st_nlink) + " hard links (a link to another file?)";
    return "";
}

/// Opens for appending: O_NOFOLLOW (a symbolic link fails with ELOOP), O_NONBLOCK (a FIFO never
/// blocks the open), then the file itself is checked. -1 with `error` in words.
int open_append(const std::string& path, std::string& error) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                    0640);
    if (fd < 0) {
        struct stat st {};
        error = (errno == ELOOP || errno == ENXIO || errno == EISDIR) && ::lstat(path.c_str(), &st) == 0
                    ? file_problem(st)
                    : std::string(std::strerror(errno));
        if (error.empty()) error = std::strerror(errno);
        return -1;
    }
    struct stat st {};
    error = ::fstat(fd, &st) != 0 ? std::string(std::strerror(errno)) : file_problem(st);
    if (!error.empty()) {
        ::close(fd);
        return -1;
    }
    ::fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);  // back to blocking writes
    return fd;
}

/// How long an append waits for the audit file's lock before the record is refused.
constexpr auto max_lock_wait = std::chrono::milliseconds(2000);

/// Holds a write lock on the whole audit file for one append, so that writers of all heal
/// processes take turns and a failed append can be cut off again before anyone appends after
/// it. An open-file-description lock (fcntl F_OFD_SETLK), not flock(2): a write lock needs the
/// file open for writing, so a process that may only read the log (a shipper, a human with
/// less) cannot hold heal back with one, and the flock(2) locks readers do take never meet it.
/// The wait is bounded (a reader's fcntl read lock would conflict): past max_lock_wait the lock
/// is not held and the record is refused.
struct FileLock {
    int fd;
    bool held = false;
    FileLock(int f, std::chrono::milliseconds wait) : fd(f) {
        const auto give_up = std::chrono::steady_clock::now() + wait;
        for (auto pause = std::chrono::milliseconds(1);; pause = std::min(pause * 2, std::chrono::milliseconds(20))) {
            struct flock l {};
            l.l_type = F_WRLCK;
            l.l_whence = SEEK_SET;  // the whole file, however long it grows
            if (::fcntl(fd, F_OFD_SETLK, &l) == 0) {
                held = true;
                return;
            }
            if (errno != EAGAIN && errno != EACCES && errno != EINTR) return;
            if (std::chrono::steady_clock::now() + pause > give_up) return;
            std::this_thread::sleep_for(pause);
        }
    }
    ~FileLock() {
        if (!held) return;
        struct flock l {};
        l.l_type = F_UNLCK;
        l.l_whence = SEEK_SET;
        ::fcntl(fd, F_OFD_SETLK, &l);
    }
};

}  // namespace

std::string audit_log_problem(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (auto why = file_problem(st); !why.empty()) return why;
        if (::access(path.c_str(), W_OK) != 0) return std::string("is not writable: ") + std::strerror(errno);
        return "";
    }
    if (errno != ENOENT) return std::strerror(errno);
    if (::access(dir_of(path).c_str(), W_OK | X_OK) != 0)
        return std::string("cannot be created: ") + std::strerror(errno);
    return "";
}

AuditLog::AuditLog(std::string path) : path_(std::move(path)) {
    std::string error;
    fd_ = open_append(path_, error);
    if (fd_ < 0) throw std::runtime_error("cannot open audit log '" + path_ + "': " + error);
}

AuditLog::~AuditLog() {
    if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::write(const boost::json::object& record) {
    return try_write(record, max_lock_wait) == Written::ok;
}

AuditLog::Written AuditLog::try_write(const boost::json::object& record, std::chrono::milliseconds lock_wait) {
    boost::json::object line;
    const auto* ts = record.if_contains("ts");
    line["ts"] = ts ? *ts : boost::json::value(utc_iso(now_ms()));
    for (const auto& kv : record) line.insert(kv);
    std::string text = boost::json::serialize(line) + "\n";

    // The gate writes where the operator looks: an open file that was deleted or replaced at
    // its path (rm, mv, a link planted) is reopened at the path, safely, or the record is refused.
    if (!at_path()) {
        std::string error;
        int fd = open_append(path_, error);
        if (fd < 0) {
            if (failures_++ == 0)
                log::error("audit log '" + path_ + "': the open file was deleted or replaced, and the path cannot be "
                           "opened: " + error + "; start, stop and restart are refused (audit_unavailable) until it can");
            return Written::failed;
        }
        ::close(fd_);
        fd_ = fd;
        log::warning("audit log '" + path_ + "': the open file was deleted or replaced; reopened at its path");
    }

    int err = 0;
    {
        FileLock lock(fd_, lock_wait);
        if (!lock.held) {
            if (failures_++ == 0)
                log::error("audit log '" + path_ + "': another process holds a lock on it for more than " +
                           (lock_wait.count() % 1000 ? std::to_string(lock_wait.count()) + " ms" : std::to_string(lock_wait.count() / 1000) + " s") + "; start, stop and restart are refused "
                           "(audit_unavailable) until it lets go");
            return Written::lock_busy;
        }
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
        return Written::failed;
    }
    if (failures_ > 0) {
        log::warning("audit log '" + path_ + "' is writable again; " + std::to_string(failures_) +
                     " record(s) could not be written meanwhile");
        failures_ = 0;
    }
    return Written::ok;
}

bool AuditLog::at_path() const {
    struct stat open {}, at {};
    if (::fstat(fd_, &open) != 0 || open.st_nlink == 0) return false;
    if (::lstat(path_.c_str(), &at) != 0) return false;
    return open.st_dev == at.st_dev && open.st_ino == at.st_ino;
}

bool AuditLog::reopen() {
    std::string error;
    int fd = open_append(path_, error);
    if (fd < 0) {
        log::error("cannot reopen audit log '" + path_ + "': " + error + " (still writing to the old file)");
        return false;
    }
    ::close(fd_);
    fd_ = fd;
    return true;
}

}  // namespace heal
