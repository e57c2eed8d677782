#include "receiver/pages.hpp"

#include "common/text.hpp"

#include <boost/json.hpp>

namespace heal::receiver {

namespace json = boost::json;

std::string alerts_body(const std::vector<Page>& pages, std::int64_t now_ms, double lasts_s) {
    json::array out;
    for (const auto& p : pages) {
        json::object labels;
        labels["alertname"] = p.failed ? "HealFailed" : "HealBlocked";
        labels["host"] = p.host;
        labels["service"] = p.service;
        labels["route"] = p.route;
        if (!p.guard.empty()) labels["guard"] = p.guard;
        labels["severity"] = "critical";
        labels["heal_fingerprint"] = p.fingerprint;
        json::object annotations;
        annotations["summary"] = printable(p.sentence, 2000);
        if (!p.request_id.empty()) annotations["request_id"] = p.request_id;
        json::object a;
        a["labels"] = std::move(labels);
        a["annotations"] = std::move(annotations);
        a["startsAt"] = utc_iso(now_ms);
        a["endsAt"] = utc_iso(now_ms + static_cast<std::int64_t>(lasts_s * 1000));
        out.push_back(std::move(a));
    }
    return json::serialize(out);
}

}  // namespace heal::receiver
