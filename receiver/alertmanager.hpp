// Prometheus Alertmanager's webhook, payload version 4 (Alertmanager's docs, "webhook_config"),
// read strictly: the receiver acts on what it says, so anything that is not exactly that shape
// is refused with the field it is about, and nothing acts. Unknown fields are ignored (a newer
// Alertmanager may add some); missing or mistyped known ones are errors.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heal::alertmanager {

/// What one request may hold at most: bodies larger than this are refused before parsing.
inline constexpr std::size_t max_body_bytes = 1 << 20;
inline constexpr std::size_t max_alerts = 1000;
inline constexpr std::size_t max_labels = 64;          ///< labels (or annotations) per alert
inline constexpr std::size_t max_value_bytes = 4096;   ///< one label or annotation value

struct Alert {
    bool firing = false;  ///< "firing"; false: "resolved"
    std::map<std::string, std::string> labels, annotations;
    std::string fingerprint;  ///< Alertmanager's id of the alert: 16 hex digits
    std::string starts_at, ends_at, generator_url;
    std::int64_t starts_ms = 0;  ///< startsAt as epoch milliseconds
};

struct Webhook {
    std::string receiver, group_key, external_url;
    bool firing = false;  ///< the group's status
    std::size_t truncated_alerts = 0;  ///< alerts Alertmanager left out (max_alerts of its config)
    std::map<std::string, std::string> group_labels, common_labels;
    std::vector<Alert> alerts;
};

/// The body of one webhook call; nullopt with `error` naming the field and what is wrong
/// ("alerts[2].labels.instance: not a string").
std::optional<Webhook> parse_webhook(std::string_view body, std::string& error);

/// Prometheus' label name rule: [a-zA-Z_][a-zA-Z0-9_]*.
bool is_label_name(std::string_view name);

/// An RFC 3339 time as Alertmanager writes startsAt and endsAt ("2026-12-02T21:30:01.123Z",
/// up to nanoseconds, "Z" or "+HH:MM"): the problem's episode is keyed by it, so free text is
/// refused.
bool is_rfc3339(std::string_view s);
/// An RFC 3339 time (is_rfc3339) as epoch milliseconds, its zone applied; nullopt if not one.
std::optional<std::int64_t> rfc3339_ms(std::string_view s);

}  // namespace heal::alertmanager
