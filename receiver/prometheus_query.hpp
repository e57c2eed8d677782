// The receiver's calls to Prometheus (the fleet guard's two counts) and Alertmanager (is it
// there): plain HTTP or HTTPS verified against a CA, with check_worker's client (checks/probe),
// a deadline per call and answers capped at 1 MiB.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace heal::receiver {

struct HttpUrl {
    bool tls = false;
    std::string host;
    unsigned short port = 80;
    std::string prefix;  ///< a path the API lives under ("" or "/prometheus"), no trailing '/'
};

/// http[s]://HOST[:PORT][/PREFIX]: "" or why not (user info, a query or a fragment, a bad port).
std::string parse_http_url(std::string_view url, HttpUrl& out);

/// application/x-www-form-urlencoded: letters, digits and -._~ as they are, the rest %XX.
std::string form_encode(std::string_view text);

/// POST PREFIX/api/v1/query with `expr`: the number it answered (parse_query_number), or
/// nullopt with `error` ("Prometheus at URL: ...").
std::optional<double> query_number(const std::string& base_url, const std::string& expr,
                                   std::optional<double> empty_is, double timeout_s, const std::string& ca,
                                   std::string& error);

/// POST PREFIX/api/v2/alerts with `body_json` (pages.hpp's alerts_body): "" when Alertmanager
/// took them (200), else why.
std::string post_alerts(const std::string& base_url, const std::string& body_json, double timeout_s,
                        const std::string& ca);

/// GET PREFIX/-/ready (Prometheus and Alertmanager both answer it): "" when 200, else why.
std::string ready(const std::string& base_url, double timeout_s, const std::string& ca);

}  // namespace heal::receiver
