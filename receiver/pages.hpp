// Pages back to Alertmanager: a heal the receiver did not do (blocked by a guard) or that did
// not heal (refused, failed, no answer) becomes an alert of its own, HealBlocked or HealFailed,
// posted to Alertmanager's /api/v2/alerts, so that Alertmanager's routing reaches a human.
// Each is posted with an end an hour ahead and posted again ended when the problem resolves.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace heal::receiver {

struct Page {
    bool failed = false;  ///< HealFailed; false: HealBlocked
    std::string host, service, route;
    std::string guard;    ///< HealBlocked: which guard (fleet, budget, concurrency, prometheus, route, healthy_here, store); else ""
    std::string sentence; ///< the words the Nagios page would have
    std::string request_id;  ///< the listener's request id, when one was asked
    std::string fingerprint; ///< the alert this is about
};

/// The /api/v2/alerts body for `pages`: labels alertname, host, service, route, guard (when
/// set), severity=critical, heal_fingerprint; annotations summary (the sentence) and
/// request_id; startsAt now, endsAt now + `lasts_s` (0: ended now, which resolves it).
std::string alerts_body(const std::vector<Page>& pages, std::int64_t now_ms, double lasts_s);

}  // namespace heal::receiver
