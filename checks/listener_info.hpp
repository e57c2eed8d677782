// check_heal's verdict on a listener's `info` answer, pure (unit-tested): the state store, each
// service's quarantine, pause, budget and refusals, and perfdata worst first.
#pragma once

#include "common/plugin.hpp"

#include <boost/json/object.hpp>

#include <set>
#include <string>
#include <vector>

namespace heal::plugin {

/// What judge_info found: the services shown and watched, their perfdata worst first.
struct InfoJudged {
    unsigned shown = 0, watched = 0;
    std::vector<Perfdata> perf;
};

/// Raises `res` for what `info` says (CRITICAL: the store is not ok, a quarantine; WARNING: a
/// paused watch loop, more than half a budget used; UNKNOWN: a service asked for in `wanted`
/// that the listener does not have).
InfoJudged judge_info(Result& res, const boost::json::object& info, const std::set<std::string>& wanted);

/// Adds the perfdata (after what the caller added, e.g. cert_days) and the summary when all is
/// well; `host` names the listener.
void finish_info(Result& res, InfoJudged judged, const std::string& host);

}  // namespace heal::plugin
