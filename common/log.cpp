#include "common/log.hpp"

#include "common/text.hpp"

#include <syslog.h>
#include <unistd.h>

#include <string>

namespace heal::log {

namespace {
bool syslog_on = false;
}

void use_syslog(const char* ident) {
    openlog(ident, LOG_PID, LOG_DAEMON);
    syslog_on = true;
}

void write(Level level, std::string_view raw) {
    const char* tag = level == Level::error ? "error: " : level == Level::warning ? "warning: " : "";
    // One record is one line: a newline, ESC or other control byte from a peer (an alert's
    // label, a script's output) becomes '?', so nobody writes a forged line or moves the cursor.
    const std::string message = without_controls(raw, "\t");
    if (syslog_on) {
        int prio = level == Level::error ? LOG_ERR : level == Level::warning ? LOG_WARNING : LOG_INFO;
        syslog(prio, "%s%.*s", tag, static_cast<int>(message.size()), message.data());
        return;
    }
    std::string line = std::string(tag) + std::string(message) + "\n";
    // One write() per line so lines from a busy daemon never interleave mid-line.
    [[maybe_unused]] auto n = ::write(2, line.data(), line.size());
}

void escaped(std::exception_ptr e) { escaped_at(e, {}); }

void escaped_at(std::exception_ptr e, std::string_view where) {
    if (!e) return;
    const std::string prefix = where.empty() ? "" : std::string(where) + ": ";
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        error(prefix + "internal error: " + ex.what());
    } catch (...) {
        error(prefix + "internal error: an exception of an unknown type");
    }
}

}  // namespace heal::log
