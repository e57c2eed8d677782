#include "prometheus_query.hpp"

#include "probe.hpp"
#include "routes.hpp"
#include "text.hpp"

#include <chrono>

namespace heal::receiver {

namespace {

constexpr std::size_t max_answer = 1 << 20;

struct Answer {
    std::string error, body;
    int status = 0;
};

Answer call(const std::string& base_url, const std::string& method, const std::string& path, const std::string& form,
            double timeout_s, const std::string& ca, const char* content_type = "application/x-www-form-urlencoded") {
    Answer a;
    HttpUrl u;
    if (auto err = parse_http_url(base_url, u); !err.empty()) {
        a.error = err;
        return a;
    }
    plugin::Target t;
    t.host = u.host;
    t.port = u.port;
    t.tls = u.tls;
    t.ca = ca;
    plugin::HttpRequest req;
    req.method = method;
    req.path = u.prefix + path;
    req.body = form;
    if (!form.empty()) req.content_type = content_type;
    req.max_body = max_answer;
    req.user_agent = "heal-alert-receiver";
    req.headers.emplace_back("Accept", "application/json");
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s));
    const auto r = plugin::probe_http(t, req, deadline);
    if (!r.error.empty()) a.error = r.error;
    else if (r.body_over_limit) a.error = "an answer over 1 MiB";
    else if (r.declared_length && *r.declared_length != r.body_bytes) a.error = "the answer was cut short";
    a.status = r.status;
    a.body = r.body;
    return a;
}

}  // namespace

std::string parse_http_url(std::string_view url, HttpUrl& out) {
    HttpUrl u;
    std::string_view rest;
    if (url.substr(0, 7) == "http://") {
        rest = url.substr(7);
    } else if (url.substr(0, 8) == "https://") {
        u.tls = true;
        u.port = 443;
        rest = url.substr(8);
    } else {
        return "'" + printable(url, 80) + "' is not an http:// or https:// URL";
    }
    if (rest.find_first_of("?#@") != std::string_view::npos)
        return "'" + printable(url, 80) + "': no user info, query or fragment, please";
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        u.prefix = std::string(rest.substr(slash));
        while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return "'" + printable(url, 80) + "': an IPv6 address without its ']'";
        u.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return "'" + printable(url, 80) + "': not [ADDRESS]:PORT";
            port = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) return "'" + printable(url, 80) + "' names no host";
    if (!port.empty() || authority.find(':') != std::string_view::npos) {
        unsigned long long p = 0;
        if (!parse_uint(port, 1, 65535, p)) return "'" + printable(url, 80) + "': the port is not 1-65535";
        u.port = static_cast<unsigned short>(p);
    }
    out = u;
    return {};
}

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
    const Answer a = call(base_url, "POST", "/api/v1/query", "query=" + form_encode(expr), timeout_s, ca);
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
    const Answer a = call(base_url, "POST", "/api/v2/alerts", body_json, timeout_s, ca, "application/json");
    if (!a.error.empty()) return "Alertmanager at " + base_url + ": " + a.error;
    if (a.status != 200)
        return "Alertmanager at " + base_url + ": HTTP " + std::to_string(a.status) + ": " + printable(a.body, 200);
    return {};
}

std::string ready(const std::string& base_url, double timeout_s, const std::string& ca) {
    const Answer a = call(base_url, "GET", "/-/ready", "", timeout_s, ca);
    if (!a.error.empty()) return base_url + ": " + a.error;
    if (a.status != 200) return base_url + "/-/ready: HTTP " + std::to_string(a.status) + ": " + printable(a.body, 120);
    return {};
}

}  // namespace heal::receiver
