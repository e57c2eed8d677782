// watch_check: a service's status as an in-process probe with check_worker's client
// (checks/probe.hpp) on the daemon's io thread: no process per round, and a slow, endless or
// hostile answer waits on its own deadline while every other service and request goes on.
#pragma once

#include "checks/probe.hpp"
#include "listener/action_runner.hpp"
#include "listener/config.hpp"

#include <boost/asio/awaitable.hpp>

namespace heal {

/// At most this much of an HTTP answer's body is read: a health document or a page to find a
/// text in, never a download.
inline constexpr std::size_t max_check_body = 64 * 1024;

/// What the probe's answer means, as a status script's run would say it: exit 0 (OK),
/// 1 (WARNING) or 2 (CRITICAL), one plugin-style output line, and the reply's message
/// (`verdict`) when not OK. Pure: every rule has a unit test.
ActionResult check_result(const WatchCheck& c, const plugin::ProbeResult& r);

/// Probes `c` once, within `timeout_s`, on the caller's executor; an http(s) check takes its
/// TLS context and a kept-alive connection from `kept` when given, and gives them back.
boost::asio::awaitable<ActionResult> run_check(const WatchCheck& c, double timeout_s,
                                               std::shared_ptr<plugin::Kept> kept = {});

}  // namespace heal
