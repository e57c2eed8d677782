// The receiver's calls to Prometheus (the fleet guard's two counts) and Alertmanager (is it
// there): plain HTTP or HTTPS verified against a CA, with check_worker's client (checks/probe),
// a deadline per call and answers capped at 1 MiB.
#pragma once

#include "checks/http_call.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace heal::receiver {

using plugin::HttpUrl;
using plugin::parse_http_url;

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
/// `ca_key` names the key that gives `ca` (prometheus_ca, alertmanager_ca) in TLS advice.
std::string ready(const std::string& base_url, double timeout_s, const std::string& ca, const std::string& ca_key);

}  // namespace heal::receiver
