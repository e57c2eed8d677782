#include "receiver/alertmanager.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>

namespace heal::alertmanager {

namespace json = boost::json;

namespace {

struct Refused {
    std::string why;
};

[[noreturn]] void refuse(const std::string& where, const std::string& what) { throw Refused{where + ": " + what}; }

const json::value& field(const json::object& o, const char* key, const std::string& where) {
    const json::value* v = o.if_contains(key);
    if (!v) refuse(where.empty() ? key : where + "." + key, "missing");
    return *v;
}

std::string text(const json::object& o, const char* key, const std::string& where, bool required = true,
                 std::size_t max = max_value_bytes) {
    const std::string at = where.empty() ? key : where + "." + key;
    const json::value* v = o.if_contains(key);
    if (!v) {
        if (required) refuse(at, "missing");
        return {};
    }
    if (!v->is_string()) refuse(at, "not a string");
    if (v->as_string().size() > max) refuse(at, "longer than " + std::to_string(max) + " bytes");
    return std::string(v->as_string());
}

bool status(const json::object& o, const std::string& where) {
    const std::string s = text(o, "status", where);
    if (s == "firing") return true;
    if (s == "resolved") return false;
    refuse(where.empty() ? "status" : where + ".status", "'" + s.substr(0, 40) + "' is neither firing nor resolved");
}

std::map<std::string, std::string> labels(const json::object& o, const char* key, const std::string& where,
                                          bool names_checked) {
    const std::string at = where.empty() ? key : where + "." + key;
    const json::value* v = o.if_contains(key);
    if (!v) refuse(at, "missing");
    if (!v->is_object()) refuse(at, "not an object");
    if (v->as_object().size() > max_labels) refuse(at, "more than " + std::to_string(max_labels) + " entries");
    std::map<std::string, std::string> out;
    for (const auto& kv : v->as_object()) {
        const std::string name(kv.key());
        if (names_checked && !is_label_name(name)) refuse(at, "'" + name.substr(0, 40) + "' is not a label name");
        if (!kv.value().is_string()) refuse(at + "." + name.substr(0, 40), "not a string");
        if (kv.value().as_string().size() > max_value_bytes)
            refuse(at + "." + name.substr(0, 40), "longer than " + std::to_string(max_value_bytes) + " bytes");
        out[name] = std::string(kv.value().as_string());
    }
    return out;
}

bool is_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

/// Two digits at s[at], within [lo, hi].
bool two_digits(std::string_view s, std::size_t at, int lo, int hi) {
    if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return false;
    const int v = (s[at] - '0') * 10 + (s[at + 1] - '0');
    return v >= lo && v <= hi;
}

Alert alert(const json::value& v, const std::string& where) {
    if (!v.is_object()) refuse(where, "not an object");
    const auto& o = v.as_object();
    Alert a;
    a.firing = status(o, where);
    a.labels = labels(o, "labels", where, true);
    if (a.labels.empty()) refuse(where + ".labels", "empty: an alert has at least its alertname");
    a.annotations = labels(o, "annotations", where, false);
    a.fingerprint = text(o, "fingerprint", where);
    if (a.fingerprint.size() != 16 || !is_hex(a.fingerprint))
        refuse(where + ".fingerprint", "'" + a.fingerprint.substr(0, 40) + "' is not 16 lower-case hex digits");
    a.starts_at = text(o, "startsAt", where, true, 64);
    if (!is_rfc3339(a.starts_at))
        refuse(where + ".startsAt", "'" + a.starts_at.substr(0, 40) + "' is not an RFC 3339 time");
    a.starts_ms = rfc3339_ms(a.starts_at).value_or(0);
    a.ends_at = text(o, "endsAt", where, false, 64);
    if (o.contains("endsAt") && !is_rfc3339(a.ends_at))
        refuse(where + ".endsAt", "'" + a.ends_at.substr(0, 40) + "' is not an RFC 3339 time");
    a.generator_url = text(o, "generatorURL", where, false);
    return a;
}

}  // namespace

bool is_rfc3339(std::string_view s) {
    // 2026-12-02T21:30:01.123456789Z, 2026-12-02T22:30:01+01:00 (Go's RFC3339Nano, as Alertmanager writes)
    if (s.size() < 20 || s.size() > 35) return false;
    for (std::size_t i : {0u, 1u, 2u, 3u})
        if (s[i] < '0' || s[i] > '9') return false;
    if (s[4] != '-' || !two_digits(s, 5, 1, 12) || s[7] != '-' || !two_digits(s, 8, 1, 31)) return false;
    if ((s[10] != 'T' && s[10] != 't') || !two_digits(s, 11, 0, 23) || s[13] != ':' || !two_digits(s, 14, 0, 59) ||
        s[16] != ':' || !two_digits(s, 17, 0, 60))
        return false;
    std::size_t at = 19;
    if (s[at] == '.') {
        const std::size_t digits = ++at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
        if (at == digits || at - digits > 9) return false;
    }
    const std::string_view zone = s.substr(at);
    if (zone == "Z" || zone == "z") return true;
    return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && two_digits(zone, 1, 0, 23) && zone[3] == ':' &&
           two_digits(zone, 4, 0, 59);
}

std::optional<std::int64_t> rfc3339_ms(std::string_view s) {
    if (!is_rfc3339(s)) return std::nullopt;
    const auto num = [&](std::size_t at, std::size_t len) {
        std::int64_t v = 0;
        for (std::size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    // Days from 1970-01-01 to the civil date (Howard Hinnant's days_from_civil).
    std::int64_t y = num(0, 4);
    const std::int64_t m = num(5, 2), d = num(8, 2);
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = era * 146097 + doe - 719468;
    std::int64_t ms = ((days * 24 + num(11, 2)) * 60 + num(14, 2)) * 60 * 1000 + num(17, 2) * 1000;
    std::size_t at = 19;
    if (s[at] == '.') {
        std::int64_t frac = 0, scale = 1000;
        for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at)
            if (scale > 1) frac += (s[at] - '0') * (scale /= 10);
        ms += frac;
    }
    if (s[at] == '+' || s[at] == '-') {
        const std::int64_t offset = (num(at + 1, 2) * 60 + num(at + 4, 2)) * 60 * 1000;
        ms += s[at] == '+' ? -offset : offset;
    }
    return ms;
}

bool is_label_name(std::string_view name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

std::optional<Webhook> parse_webhook(std::string_view body, std::string& error) {
    if (body.size() > max_body_bytes) {
        error = "body larger than " + std::to_string(max_body_bytes) + " bytes";
        return std::nullopt;
    }
    json::error_code ec;
    json::parse_options opt;
    opt.max_depth = 8;  // the payload is 4 levels deep; more is not Alertmanager's
    const json::value v = json::parse(body, ec, {}, opt);
    if (ec) {
        error = "not JSON: " + ec.message();
        return std::nullopt;
    }
    try {
        if (!v.is_object()) refuse("payload", "not a JSON object");
        const auto& o = v.as_object();
        const std::string version = text(o, "version", "");
        if (version != "4") refuse("version", "'" + version.substr(0, 20) + "', and only version 4 is understood");
        Webhook w;
        w.firing = status(o, "");
        w.receiver = text(o, "receiver", "");
        w.group_key = text(o, "groupKey", "");
        w.external_url = text(o, "externalURL", "", false);
        if (const json::value* t = o.if_contains("truncatedAlerts")) {
            std::uint64_t n = 0;
            if (t->is_uint64()) n = t->as_uint64();
            else if (t->is_int64() && t->as_int64() >= 0) n = static_cast<std::uint64_t>(t->as_int64());
            else refuse("truncatedAlerts", "not a whole number of 0 or more");
            w.truncated_alerts = static_cast<std::size_t>(std::min<std::uint64_t>(n, max_alerts * 1000));
        }
        w.group_labels = labels(o, "groupLabels", "", true);
        w.common_labels = labels(o, "commonLabels", "", true);
        const json::value& alerts = field(o, "alerts", "");
        if (!alerts.is_array()) refuse("alerts", "not an array");
        if (alerts.as_array().size() > max_alerts) refuse("alerts", "more than " + std::to_string(max_alerts));
        std::size_t i = 0;
        for (const auto& a : alerts.as_array()) w.alerts.push_back(alert(a, "alerts[" + std::to_string(i++) + "]"));
        return w;
    } catch (const Refused& r) {
        error = r.why;
        return std::nullopt;
    }
}

}  // namespace heal::alertmanager
