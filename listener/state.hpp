// What the listener process shares between its connections, its watch loops and its server:
// the configuration in force, the audit log and the state store, and the counts and queues of
// what is in flight. Three threads: the io thread owns everything here but the store (`store`,
// `store_error`: the store thread's) and the audit log (`audit` and what waits for it: the audit
// thread's; store_thread.hpp), so that a lock another process holds on the database or the
// audit log never stalls a handshake, a status or a watch round. What must hold across
// processes (one action per service, budgets) lives in the state store and the kernel locks,
// not here.
#pragma once

#include "common/audit_log.hpp"
#include "common/tls.hpp"
#include "listener/action_runner.hpp"
#include "listener/config.hpp"
#include "listener/decide.hpp"
#include "listener/state_store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace heal::plugin {
struct Kept;  // checks/probe.hpp
}

namespace heal {

/// A configuration and the TLS context built from it; replaced whole on SIGHUP, while
/// connections in flight keep the one they started with.
struct Runtime {
    ListenerConfig cfg;
    std::shared_ptr<ssl::context> tls;
    std::optional<std::int64_t> cert_not_after;  ///< the listener's certificate, for /metrics
    /// Per service with an http(s) watch_check, what its probes keep from one round to the
    /// next (the TLS context, a kept-alive connection); a reload starts afresh. io thread only.
    mutable std::map<std::string, std::shared_ptr<plugin::Kept>> kept;
};
using RuntimePtr = std::shared_ptr<const Runtime>;

/// Throws ConfigError or TlsError.
RuntimePtr make_runtime(const std::string& config_path);

/// A status script run that concurrent status requests for the same service share.
struct StatusFlight {
    explicit StatusFlight(boost::asio::any_io_executor ex) : done(ex) {}
    std::string id;  ///< the request that runs the script
    std::optional<ActionResult> result;
    boost::asio::steady_timer done;  ///< cancelled when `result` is set: wakes every waiter
};

/// Refusals of one source for one reason before it is known (outside the allowlist, a failed
/// TLS handshake), aggregated into one record per 10 s (admission.hpp).
struct DenialWindow {
    std::int64_t until_ms = 0;
    unsigned suppressed = 0;  ///< not written yet: the window's closing record counts them
    unsigned before_tls = 0;  ///< of those, connections closed before any TLS work
    unsigned strikes = 0;     ///< handshakes that failed on what the peer sent (admission.hpp)
    /// Why the suppressed ones failed, counted per reason (OpenSSL's words; at most 8 kept,
    /// the rest counted as "other").
    std::map<std::string, unsigned> why;
};

/// One service's watch loop (watch.hpp), in the daemon's memory: what info, check_heal and
/// /metrics show of it.
/// The watch loop's memory of one service between status runs (watch_step's state).
struct WatchCount {
    unsigned failures = 0;          ///< non-OK status results in a row
    unsigned heals_unseen_ok = 0;   ///< heals that ran since the last OK status run
    bool reported_problem = false;  ///< the last report was not OK: a recovery gets one too
};

struct WatchState {
    bool running = false;  ///< a loop is on it
    std::shared_ptr<boost::asio::steady_timer> pause;  ///< its wait, cancelled on SIGTERM
    WatchCount count;  ///< failures in a row, heals not yet seen OK, a problem reported (watch.hpp)
    std::int64_t last_run_ms = 0;
    bool last_ok = true;
    std::string last_status;  ///< the first line of the last status run, or how it ended
    std::string holding;      ///< why it does not heal now (quarantine, pause); "" when it may
    std::string last_heal_id, last_heal_outcome;
    std::int64_t last_heal_ms = 0;
    std::map<std::string, std::uint64_t> runs;   ///< status runs by result (ok, failed)
    std::map<std::string, std::uint64_t> heals;  ///< heal attempts by outcome (ok, refused, ...)
};

/// State of this process (see the top of this file for which thread owns what).
struct ListenerState {
    ListenerState() = default;
    ListenerState(const ListenerState&) = delete;
    ListenerState& operator=(const ListenerState&) = delete;
    /// Every record handed over is written (or kept back for good) before the log closes.
    ~ListenerState() {
        store_thread.join();
        audit_closing = true;
        audit_thread.join();
    }

    // The audit thread's, once the io thread runs (on_audit, audit_later).
    std::unique_ptr<AuditLog> audit;
    /// Records that gate nothing, kept back while another process holds the log's lock.
    std::deque<boost::json::object> audit_backlog;
    std::chrono::steady_clock::time_point audit_busy_until{};  ///< the lock was found held: keep back
    bool audit_retry_set = false;
    std::atomic<bool> audit_closing{false};  ///< at exit: what is still kept back is given up
    std::uint64_t records_dropped = 0;
    std::atomic<unsigned> records_handed{0};  ///< handed to the audit thread, not yet taken
    // The store thread's, once the io thread runs (on_store).
    std::unique_ptr<StateStore> store;
    std::string store_error;  ///< why `store` is null
    std::map<std::string, std::shared_ptr<StatusFlight>> status_flights;
    std::map<std::string, unsigned> per_source;  ///< peer address -> connections being served
    /// Connections of an address at its max_per_source, waiting in order of arrival (within
    /// io_timeout) for one of its connections to end: its timer is cancelled on its turn.
    std::map<std::string, std::deque<std::weak_ptr<boost::asio::steady_timer>>> source_queue;
    std::map<std::pair<std::string, Reason>, DenialWindow> denials;  ///< (source, reason) -> window
    unsigned connections = 0;
    unsigned peak_connections = 0;  ///< most open at once since the last malloc_trim
    unsigned handshakes = 0;  ///< TLS handshakes in progress (handshake_slot.hpp)
    std::map<std::string, unsigned> handshakes_per_source;
    /// A connection waiting for a handshake slot: woken (its timer cancelled) on its turn.
    struct HandshakeWaiter {
        std::weak_ptr<boost::asio::steady_timer> turn;  ///< expired: it gave up (io_timeout)
        std::string source;
    };
    /// First come first served, except that a source at its share waits for its own slots.
    std::deque<HandshakeWaiter> handshake_queue;
    unsigned actions_in_flight = 0;
    std::map<std::string, WatchState> watches;  ///< by service; the daemon only
    unsigned reports_in_flight = 0;
    std::uint64_t next_connection_id = 0;
    bool stopping = false;
    /// The worker threads. Last: destroyed (their work finished, joined) before what they use.
    boost::asio::thread_pool store_thread{1};
    boost::asio::thread_pool audit_thread{1};
};

}  // namespace heal
