// Two worker threads beside the io thread: the store thread uses the state store (SQLite), the
// audit thread the audit log, each there and only there. Waiting for a lock another process
// holds on either (SQLite's busy timeout, the audit log's write lock, each bounded) then holds
// up no TLS handshake, status request or watch round on the io thread, and a held database
// does not hold up the audit records of requests that need no store. A coroutine hands its
// work over and waits for the answer; the audit gate keeps its meaning (no start record, no
// execve), because the coroutine waits for that record.
#pragma once

#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <type_traits>
#include <utility>

namespace heal {

namespace detail {
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> run_on(boost::asio::thread_pool& pool, F f) {
    using R = std::invoke_result_t<F&>;
    auto work = [f = std::move(f)]() mutable -> boost::asio::awaitable<R> { co_return f(); };
    co_return co_await boost::asio::co_spawn(pool.get_executor(), std::move(work), boost::asio::use_awaitable);
}
}  // namespace detail

/// Runs f() on the store thread and resumes the calling coroutine, on its own executor, with
/// f's result (or its exception). f may use st.store and st.store_error and what the caller's
/// frame holds; nothing else of `st`.
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> on_store(ListenerState& st, F f) {
    return detail::run_on(st.store_thread, std::move(f));
}

/// The same on the audit thread: f may use st.audit (write with audit_now()).
template <class F>
boost::asio::awaitable<std::invoke_result_t<F&>> on_audit(ListenerState& st, F f) {
    return detail::run_on(st.audit_thread, std::move(f));
}

/// On the audit thread: writes `record` now (the lock waited for up to 2 s), then what was
/// kept back. False when it could not be written.
bool audit_now(ListenerState& st, const boost::json::object& record);

/// On the audit thread, a record that gates nothing: written now when the log's lock comes
/// within 200 ms, else kept back (with its time) and written once the lock is free.
void audit_or_keep(ListenerState& st, boost::json::object record);

/// At most this many records that gate nothing are kept back at once.
inline constexpr std::size_t max_records_kept = 10000;

/// A record that gates nothing (a refused connection, a failed handshake, a status or info
/// request, an action closed as lost): handed to the audit thread without waiting. There it
/// waits for the log's lock at most 200 ms; while another process holds the lock it is kept
/// back (with its time) and written once the lock is free, so that it never makes a record
/// that gates an action wait. Past max_records_kept more are dropped, counted and logged.
void audit_later(ListenerState& st, boost::json::object record);

}  // namespace heal
