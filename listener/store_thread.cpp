#include "listener/store_thread.hpp"

#include "common/log.hpp"
#include "common/text.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace heal {

namespace {

using Clock = std::chrono::steady_clock;
using Written = AuditLog::Written;

/// How long a record that gates nothing waits for the lock; past it, it is kept back.
constexpr std::chrono::milliseconds later_wait{200};
/// After the lock was found held: what comes meanwhile is kept back without waiting, and the
/// kept records are tried again this often.
constexpr std::chrono::milliseconds busy_for{500};

void keep_back(ListenerState& st, boost::json::object record);

/// Writes what was kept back, oldest first, while the lock is free.
void write_kept(ListenerState& st) {
    while (!st.audit_backlog.empty() && st.audit) {
        const Written w = st.audit->try_write(st.audit_backlog.front(), later_wait);
        if (w == Written::lock_busy) {
            st.audit_busy_until = Clock::now() + busy_for;
            break;
        }
        st.audit_backlog.pop_front();  // written, or failed for good (AuditLog logged it)
    }
    if (st.audit_backlog.empty() || st.audit_retry_set) return;
    if (st.audit_closing) {
        log::error("audit log: " + std::to_string(st.audit_backlog.size()) + " record(s) that gate nothing not "
                   "written: another process still held the log's lock when the listener stopped");
        st.audit_backlog.clear();
        return;
    }
    st.audit_retry_set = true;  // try again shortly, even if no record comes to trigger it
    auto timer = std::make_shared<boost::asio::steady_timer>(st.audit_thread.get_executor(), busy_for);
    timer->async_wait([&st, timer](boost::system::error_code) {
        st.audit_retry_set = false;
        write_kept(st);
    });
}

void keep_back(ListenerState& st, boost::json::object record) {
    if (st.audit_backlog.size() >= max_records_kept) {
        if (st.records_dropped++ % 1000 == 0)
            log::error("audit log: a record that gates nothing dropped (" + std::to_string(st.records_dropped) +
                       " so far): " + std::to_string(max_records_kept) + " wait for another process to let go of its lock");
        return;
    }
    st.audit_backlog.push_back(std::move(record));
    write_kept(st);
}

}  // namespace

bool audit_now(ListenerState& st, const boost::json::object& record) {
    if (!st.audit || !st.audit->write(record)) return false;
    if (!st.audit_backlog.empty()) write_kept(st);  // the lock is free again
    return true;
}

void audit_later(ListenerState& st, boost::json::object record) {
    if (st.records_handed.load() >= max_records_kept) {
        log::error("audit log: a record that gates nothing dropped: " + std::to_string(max_records_kept) +
                   " wait for the audit thread");
        return;
    }
    if (!record.contains("ts")) record["ts"] = utc_iso(now_ms());  // when it happened, not when written
    ++st.records_handed;
    boost::asio::post(st.audit_thread, [&st, record = std::move(record)]() mutable {
        --st.records_handed;
        audit_or_keep(st, std::move(record));
    });
}

void audit_or_keep(ListenerState& st, boost::json::object record) {
    if (!st.audit) return;
    if (!record.contains("ts")) record["ts"] = utc_iso(now_ms());
    if (!st.audit_backlog.empty() || Clock::now() < st.audit_busy_until) return keep_back(st, std::move(record));
    if (st.audit->try_write(record, later_wait) == Written::lock_busy) {
        st.audit_busy_until = Clock::now() + busy_for;
        keep_back(st, std::move(record));
    }
}

}  // namespace heal
