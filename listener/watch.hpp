// The local watch loop (Warden/Monit mode): the daemon runs each watched service's status every
// `watch` interval and, after `heal_after` non-OK results in a row, heals it as the client
// `watch` through dispatch() — the same decide(), kernel lock, audit gate and store as a remote
// request. --inetd instances never watch. After every heal, refusal and quarantine (and the
// recovery that follows one) the `report` command tells the monitoring server.
#pragma once

#include "record.hpp"
#include "session.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace heal {

/// Watches `service` until the listener stops or the service is no longer watched in `current`
/// (read again on every round: a SIGHUP reload takes effect at the next one).
boost::asio::awaitable<void> watch_loop(ListenerState& st, const RuntimePtr& current, std::string service);

/// Starts a loop for every watched service of `rt` that has none running.
void start_watches(ListenerState& st, const RuntimePtr& current, boost::asio::any_io_executor ex);

/// Wakes every loop's wait so that it sees `st.stopping` and ends.
void stop_watches(ListenerState& st);

/// The Nagios state (0-3) a watch result stands for: OK healed, WARNING held back for now
/// (cooldown, busy, cap, dry run), CRITICAL failed or quarantined.
int watch_state(const Reply& r);

/// The report command's environment for one result: HEAL_OUTCOME, HEAL_REASON, HEAL_ID,
/// HEAL_MESSAGE (one printable line) and HEAL_STATE.
std::vector<std::string> report_env(const Reply& r, int state);

}  // namespace heal
