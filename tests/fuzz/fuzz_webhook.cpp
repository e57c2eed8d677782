// Alertmanager webhook bodies as anyone might send them: parse_webhook gives a payload whose
// every promise holds (version 4, label names, 16-hex fingerprints, caps) or says why not. The
// same bytes as a Prometheus query answer: a finite number, or why not.
#include "receiver/alertmanager.hpp"
#include "receiver/routes.hpp"

#include <cmath>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace heal::alertmanager;
    std::string error;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto n = heal::receiver::parse_query_number(text, 0.0, error); n ? !std::isfinite(*n) : error.empty())
        std::abort();
    auto w = parse_webhook(text, error);
    if (!w) {
        if (error.empty()) std::abort();
        return 0;
    }
    if (w->alerts.size() > max_alerts) std::abort();
    for (const auto& a : w->alerts) {
        if (a.fingerprint.size() != 16 || a.labels.empty() || a.labels.size() > max_labels) std::abort();
        for (const auto& [k, v] : a.labels)
            if (!is_label_name(k) || v.size() > max_value_bytes) std::abort();
    }
    return 0;
}
