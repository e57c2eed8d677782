// The audit trail: one JSON line per request and per denial, written before the reply.
#pragma once

#include <boost/json/object.hpp>

#include <string>

namespace heal {

class AuditLog {
public:
    /// Opens (creating, mode 0640) for appending. Throws std::runtime_error naming the file.
    explicit AuditLog(std::string path);
    ~AuditLog();
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    /// Adds "ts" (UTC, milliseconds) first and appends the record as one write(2).
    /// A failed write is reported on the log and returns false; the request still gets its reply.
    bool write(const boost::json::object& record);

    /// Reopens the same path (after logrotate moved the file). Keeps the old fd on failure.
    bool reopen();

    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
};

/// "2026-11-21T19:58:03.123Z"
std::string utc_timestamp_ms();

}  // namespace heal
