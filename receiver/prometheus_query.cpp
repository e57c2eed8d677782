#include "receiver/prometheus_query.hpp"

#include "checks/probe.hpp"
#include "receiver/routes.hpp"
#include "common/text.hpp"

#include <chrono>

namespace heal::receiver {

namespace {

constexpr std::size_t max_answer = 1 << 20;

plugin::HttpAnswer call(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& form, double timeout_s, const std::string& ca, const std::string& ca_key,
                        const char* content_type = "application/x-www-form-urlencoded") {
    HttpUrl u;
    if (auto err = parse_http_url(base_url, u); !err.empty()) return {err, 0, {}};
    plugin::Target t;
    t.host = u.host;
    t.port = u.port;
    t.tls = u.tls;
    t.ca = ca;
    t.ca_option = ca_key + " in [receiver]";
    t.name_option = "the URL in [receiver] (the name the certificate carries)";
    plugin::HttpRequest req;
    req.method = method;
    req.path = u.prefix + path;
    req.body = form;
    if (!form.empty()) req.content_type = content_type;
    req.user_agent = "heal-alert-receiver";
    req.headers.emplace_back("Accept", "application/json");
    return plugin::http_call(t, std::move(req), timeout_s, max_answer);
}

}  // namespace

std::string form_encode(std::string_view text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::optional<double> query_number(const std::string& base_url, const std::string& expr,
                                   std::optional<double> empty_is, double timeout_s, const std::string& ca,
                                   std::string& error) {
    const plugin::HttpAnswer a = call(base_url, "POST", "/api/v1/query", "query=" + form_encode(expr), timeout_s, ca, "prometheus_ca");
    const std::string where = "Prometheus at " + base_url;
    if (!a.error.empty()) {
        error = where + ": " + a.error;
        return std::nullopt;
    }
    // Prometheus answers a bad query 400 with the same JSON, whose error parse_query_number reads.
    std::string why;
    auto n = parse_query_number(a.body, empty_is, why);
    if (!n) {
        error = where + " (HTTP " + std::to_string(a.status) + ") for " + printable(expr, 120) + ": " + why;
        return std::nullopt;
    }
    if (a.status != 200) {
        error = where + ": HTTP " + std::to_string(a.status) + " for " + printable(expr, 120);
        return std::nullopt;
    }
    return n;
}

std::string post_alerts(const std::string& base_url, const std::string& body_json, double timeout_s,
                        const std::string& ca) {
    const plugin::HttpAnswer a = call(base_url, "POST", "/api/v2/alerts", body_json, timeout_s, ca, "alertmanager_ca", "application/json");
    if (!a.error.empty()) return "Alertmanager at " + base_url + ": " + a.error;
    if (a.status != 200)
        return "Alertmanager at " + base_url + ": HTTP " + std::to_string(a.status) + ": " + printable(a.body, 200);
    return {};
}

std::string ready(const std::string& base_url, double timeout_s, const std::string& ca, const std::string& ca_key) {
    const plugin::HttpAnswer a = call(base_url, "GET", "/-/ready", "", timeout_s, ca, ca_key);
    if (!a.error.empty()) return base_url + ": " + a.error;
    if (a.status != 200) return base_url + "/-/ready: HTTP " + std::to_string(a.status) + ": " + printable(a.body, 120);
    return {};
}

}  // namespace heal::receiver
