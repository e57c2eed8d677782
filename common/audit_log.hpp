// The audit trail: one JSON line per record, appended by heal-listener and every --inetd
// instance alike (a state-changing action runs only after its "start" record was written), and
// by heal-alert-receiver (a heal is asked for only after its decision was written).
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <string>

namespace heal {

/// Why `path` cannot be the audit log, in words, or "" when it can: it must be a regular file
/// with one link (or not exist yet in a folder this user can write). A symbolic link, a FIFO,
/// a folder, a device or a file hard-linked elsewhere is refused: the listener opens the log as
/// root, in a folder its unprivileged user may own, and must never append to what a link
/// points at. Used by --check-config and at every open.
std::string audit_log_problem(const std::string& path);

class AuditLog {
public:
    /// Opens (creating, mode 0640) for appending, never through a symbolic link and only a
    /// regular file (see audit_log_problem). Throws std::runtime_error naming the file.
    explicit AuditLog(std::string path);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    /// Adds "ts" (UTC, milliseconds) first and appends the record as one line, under a write
    /// lock on the file shared with every other heal process (fcntl F_OFD_SETLK: a process that
    /// can only read the log cannot take it), waited for at most 2 s, else the record is refused. First, when the open file is no
    /// longer the one at the path (deleted, renamed away, replaced by a link), the path is
    /// reopened as at start (no link, a regular file), or the record is refused: a record never
    /// goes to a file nobody can find. Returns false when the whole line
    /// could not be written; a partial line is cut off again, so the file never holds a record
    /// glued to a fragment. The first failure of an episode is logged, and the recovery.
    bool write(const boost::json::object& record);

    enum class Written { ok, lock_busy, failed };
    /// write(), with the lock waited for at most `lock_wait`: lock_busy when another process
    /// held it that long (nothing was written: the record may be tried again), failed for any
    /// other failure. A record that carries "ts" keeps it (one kept back and written later).
    Written try_write(const boost::json::object& record, std::chrono::milliseconds lock_wait);

    /// Reopens the same path (after logrotate moved the file). Keeps the old fd on failure.
    bool reopen();

    const std::string& path() const { return path_; }

private:
    /// The open file is still the one at the path (linked, same device and inode).
    bool at_path() const;
    std::string path_;
    int fd_ = -1;
    unsigned failures_ = 0;  ///< records lost in the current episode
};

}  // namespace heal
