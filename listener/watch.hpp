// The local watch loop (Warden/Monit mode): the daemon runs each watched service's status every
// `watch` interval and, after `heal_after` non-OK results in a row, heals it as the client
// `watch` through dispatch() — the same decide(), kernel lock, audit gate and store as a remote
// request. --inetd instances never watch. After every heal, refusal and quarantine (and the
// recovery that follows one) the `report` command tells the monitoring server.
#pragma once

#include "listener/record.hpp"
#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace heal {

/// Watches `service` until the listener stops or the service is no longer watched in `current`
/// (read again on every round: a SIGHUP reload takes effect at the next one).
boost::asio::awaitable<void> watch_loop(ListenerState& st, const RuntimePtr& current, std::string service);

/// Starts a loop for every watched service of `rt` that has none running.
void start_watches(ListenerState& st, const RuntimePtr& current, boost::asio::any_io_executor ex);

/// Wakes every loop's wait so that it sees `st.stopping` and ends.
void stop_watches(ListenerState& st);

/// `at` rounded up to the next tick of a grid of interval/10 (at most 100 ms) on the monotonic
/// clock: the rounds of many loops come due together and the daemon wakes once for all of them
/// (1,000 services watched every second: at most 10 wake-ups a second for their timers, not
/// 1,000). Each host's clock has its own phase, and each round keeps its +-10% jitter.
std::chrono::steady_clock::time_point on_tick(std::chrono::steady_clock::time_point at, double interval_s);

/// The Nagios state (0-3) a watch result stands for: OK healed (verified), WARNING ran but not
/// yet seen healthy or held back for now (cooldown, busy, cap, dry run), CRITICAL failed or
/// quarantined.
int watch_state(const Reply& r);

/// What the loop does after one status run.
enum class WatchAction {
    nothing,          ///< healthy, or not yet heal_after failures in a row
    report_recovery,  ///< healthy again after a problem the monitoring server was told of
    heal,             ///< heal_after failures in a row: heal, unless held (pause, quarantine)
};

/// One status run's result (`ok`) against the loop's memory `c` (updated): pure, unit-tested.
WatchAction watch_step(WatchCount& c, bool ok, unsigned heal_after);

/// A heal the loop ran, as the report tells it: its Nagios state (a heal again while the
/// service was never seen OK since the last one is a crash loop, CRITICAL), and `why` the words
/// that say so ("" otherwise). Updates `c`. Pure, unit-tested.
int healed_state(WatchCount& c, const Reply& r, std::string& why);

/// The report command's environment for one result: HEAL_OUTCOME, HEAL_REASON, HEAL_ID,
/// HEAL_MESSAGE (one printable line) and HEAL_STATE.
std::vector<std::string> report_env(const Reply& r, int state);

}  // namespace heal
