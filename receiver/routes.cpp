#include "receiver/routes.hpp"

#include "common/ini_file.hpp"
#include "common/protocol.hpp"
#include "common/text.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdlib>
#include <map>

namespace heal::receiver {

namespace json = boost::json;

namespace {

constexpr std::string_view route_prefix = "route ";

/// A host name (RFC 1123 labels) or an IP address, as a certificate name would carry it.
bool is_host(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    boost::system::error_code ec;
    boost::asio::ip::make_address(std::string(h), ec);
    if (!ec) return true;
    std::size_t label = 0;
    for (std::size_t i = 0; i < h.size(); ++i) {
        const char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && label > 0)) return false;
        if (++label > 63) return false;
    }
    return label > 0 && h.back() != '-';
}

struct Builder {
    Config cfg;
    std::string dir;
    bool have_listen = false, have_allow = false;
    std::vector<std::string> order;
    std::map<std::string, Route> routes;

    std::string receiver_key(std::string_view key, std::string_view value) {
        std::string err;
        if (key == "listen") {
            auto ep = parse_endpoint(value, 9466, err, true);
            if (!ep) return "listen: " + err;
            cfg.listen = *ep;
            have_listen = true;
        } else if (key == "allow") {
            auto a = Allowlist::parse(value, err);
            if (!a) return "allow: " + err;
            cfg.allow = *a;
            have_allow = true;
        } else if (key == "cert" || key == "key" || key == "client_ca" || key == "token_file" || key == "state_dir" ||
                   key == "client_config" || key == "audit_log" || key == "prometheus_ca" || key == "alertmanager_ca" ||
                   key == "store_conninfo") {
            if (value.empty()) return std::string(key) + ": empty";
            (key == "cert"              ? cfg.cert
             : key == "key"             ? cfg.key
             : key == "client_ca"       ? cfg.client_ca
             : key == "token_file"      ? cfg.token_file
             : key == "state_dir"       ? cfg.state_dir
             : key == "audit_log"       ? cfg.audit_log
             : key == "prometheus_ca"   ? cfg.prometheus_ca
             : key == "alertmanager_ca" ? cfg.alertmanager_ca
             : key == "store_conninfo"  ? cfg.store_conninfo
                                        : cfg.client_config) = resolve_path(dir, value);
        } else if (key == "prometheus" || key == "alertmanager") {
            if (value.substr(0, 7) != "http://" && value.substr(0, 8) != "https://")
                return std::string(key) + ": expected an http:// or https:// URL, got '" + printable(value, 80) + "'";
            (key == "prometheus" ? cfg.prometheus : cfg.alertmanager) = std::string(value);
        } else if (key == "max_unhealthy") {
            auto l = fleet::parse_unhealthy_limit(value);
            if (!l) return "max_unhealthy: expected a count (1) or a share (25%), got '" + printable(value, 40) + "'";
            cfg.max_unhealthy = *l;
        } else if (key == "fleet_budget") {
            auto b = fleet::parse_budget(value);
            if (!b) return "fleet_budget: expected N/WINDOW (e.g. 10/1h), got '" + printable(value, 40) + "'";
            cfg.fleet_budget = *b;
        } else if (key == "fleet_concurrency") {
            unsigned long long n = 0;
            if (!parse_uint(value, 1, 1000, n)) return "fleet_concurrency: expected 1 to 1000, got '" + printable(value, 40) + "'";
            cfg.fleet_concurrency = static_cast<unsigned>(n);
        } else if (key == "dry_run") {
            if (!parse_bool(value, cfg.dry_run)) return "dry_run: expected yes or no, got '" + printable(value, 40) + "'";
        } else if (key == "io_timeout") {
            if (!parse_duration(value, 600, cfg.io_timeout))
                return "io_timeout: expected a duration (e.g. 10s), got '" + printable(value, 40) + "'";
        } else {
            return "unknown key '" + printable(key) + "' in [receiver] (known: listen, allow, cert, key, client_ca, "
                   "token_file, state_dir, store_conninfo, audit_log, client_config, prometheus, prometheus_ca, alertmanager, "
                   "alertmanager_ca, max_unhealthy, fleet_budget, fleet_concurrency, dry_run, io_timeout)";
        }
        return {};
    }

    std::string route_key(const std::string& name, std::string_view key, std::string_view value) {
        if (!routes.count(name)) {
            routes[name].name = name;
            order.push_back(name);
        }
        Route& r = routes[name];
        if (key == "match") {
            r.match.clear();
            for (const auto& item : split_list(value)) {
                const auto eq = item.find('=');
                const std::string label = std::string(trim(item.substr(0, eq)));
                if (eq == std::string::npos || !alertmanager::is_label_name(label))
                    return "match: expected LABEL=VALUE, ... (label names as Prometheus', e.g. alertname=WorkerDown), got '" +
                           printable(item, 80) + "'";
                r.match.emplace_back(label, std::string(trim(item.substr(eq + 1))));
            }
            if (r.match.empty()) return "match: no LABEL=VALUE given";
        } else if (key == "host_label") {
            if (!alertmanager::is_label_name(value)) return "host_label: '" + printable(value, 40) + "' is not a label name";
            r.host_label = value;
        } else if (key == "server_name") {
            if (!is_host(value)) return "server_name: '" + printable(value, 80) + "' is not a host name or address";
            r.server_name = value;
        } else if (key == "service") {
            if (!is_valid_service_name(value)) return "service: '" + printable(value, 80) + "' is not a heal service name";
            r.service = value;
        } else if (key == "verb") {
            if (value != "restart" && value != "start" && value != "stop")
                return "verb: expected restart, start or stop, got '" + printable(value, 40) + "'";
            r.verb = value;
        } else if (key == "group_size" || key == "group_unhealthy") {
            if (value.empty()) return std::string(key) + ": empty";
            (key == "group_size" ? r.group_size : r.group_unhealthy) = value;
        } else {
            return "unknown key '" + printable(key) + "' in [route " + name +
                   "] (known: match, host_label, server_name, service, verb, group_size, group_unhealthy)";
        }
        return {};
    }

    std::string on_key(std::string_view section, std::string_view key, std::string_view value) {
        if (section == "receiver") return receiver_key(key, value);
        if (section.substr(0, route_prefix.size()) == route_prefix) {
            const std::string name(trim(section.substr(route_prefix.size())));
            if (!is_valid_service_name(name))
                return "bad route name '" + printable(name, 80) + "' (letters, digits, '.', '_', '-'; at most 64)";
            return route_key(name, key, value);
        }
        if (section.empty()) return "key '" + printable(key) + "' outside any section";
        return "unknown section [" + printable(section, 80) + "] (known: [receiver], [route NAME])";
    }
};

}  // namespace

Config load_config(const std::string& path) {
    Builder b;
    b.cfg.path = path;
    b.dir = dir_of(path);
    parse_ini_file(path, [&](std::string_view s, std::string_view k, std::string_view v) { return b.on_key(s, k, v); });
    auto missing = [&](const std::string& what) { throw ConfigError(path + ": " + what); };
    if (!b.have_listen) missing("[receiver] listen is required");
    if (!b.have_allow) missing("[receiver] allow is required (list the Alertmanager addresses that may call)");
    if (b.cfg.cert.empty() || b.cfg.key.empty()) missing("[receiver] cert and key are required (HTTPS only)");
    if (b.cfg.client_ca.empty() && b.cfg.token_file.empty())
        missing("[receiver] needs client_ca, token_file or both: nobody anonymous may make heal act");
    if (b.cfg.prometheus.empty()) missing("[receiver] prometheus is required (the fleet guard asks it)");
    if (b.cfg.alertmanager.empty()) missing("[receiver] alertmanager is required (blocked and failed heals go there)");
    if (b.order.empty()) missing("no [route NAME] section: no alert would ever heal");
    for (const auto& name : b.order) {
        Route& r = b.routes.at(name);
        const std::string where = "[route " + name + "] ";
        if (r.match.empty()) missing(where + "match is required");
        if (r.service.empty()) missing(where + "service is required");
        if (r.group_size.empty() || r.group_unhealthy.empty())
            missing(where + "group_size and group_unhealthy are required (the fleet guard's two queries)");
        b.cfg.routes.push_back(std::move(r));
    }
    return std::move(b.cfg);
}

const Route* route_for(const Config& cfg, const alertmanager::Alert& alert) {
    for (const auto& r : cfg.routes) {
        bool all = true;
        for (const auto& [label, value] : r.match) {
            auto it = alert.labels.find(label);
            if (it == alert.labels.end() || it->second != value) {
                all = false;
                break;
            }
        }
        if (all) return &r;
    }
    return nullptr;
}

std::optional<std::string> host_of(const Route& route, const alertmanager::Alert& alert, std::string& error) {
    auto it = alert.labels.find(route.host_label);
    if (it == alert.labels.end()) {
        error = "the alert has no label '" + route.host_label + "' (host_label of [route " + route.name + "])";
        return std::nullopt;
    }
    std::string_view v = it->second;
    std::string host;
    if (!v.empty() && v.front() == '[') {  // [v6] or [v6]:port
        const auto close = v.find(']');
        if (close == std::string_view::npos || (close + 1 < v.size() && v[close + 1] != ':')) {
            error = "label " + route.host_label + " '" + printable(v, 80) + "' is not HOST or HOST:PORT";
            return std::nullopt;
        }
        host = std::string(v.substr(1, close - 1));
    } else {
        const auto colon = v.find(':');
        // One colon: HOST:PORT. More: a bare IPv6 address.
        host = std::string(colon != std::string_view::npos && v.find(':', colon + 1) == std::string_view::npos
                               ? v.substr(0, colon)
                               : v);
    }
    if (!is_host(host)) {
        error = "label " + route.host_label + " '" + printable(v, 80) + "' does not name a host";
        return std::nullopt;
    }
    return host;
}

std::optional<double> parse_query_number(std::string_view body, std::optional<double> empty_is, std::string& error) {
    json::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec) {
        error = "Prometheus' answer is not JSON: " + ec.message();
        return std::nullopt;
    }
    const auto* o = v.if_object();
    const auto* status = o ? o->if_contains("status") : nullptr;
    if (!status || !status->is_string()) {
        error = "Prometheus' answer has no status";
        return std::nullopt;
    }
    if (status->as_string() != "success") {
        const auto* e = o->if_contains("error");
        error = "Prometheus answered " + printable(std::string(status->as_string()), 20) +
                (e && e->is_string() ? ": " + printable(std::string(e->as_string()), 200) : "");
        return std::nullopt;
    }
    const auto* data = o->if_contains("data");
    const auto* type = data && data->is_object() ? data->as_object().if_contains("resultType") : nullptr;
    const auto* result = data && data->is_object() ? data->as_object().if_contains("result") : nullptr;
    if (!type || !type->is_string() || !result) {
        error = "Prometheus' answer has no data.resultType and data.result";
        return std::nullopt;
    }
    const json::value* pair = nullptr;  // [ time, "value" ]
    if (type->as_string() == "scalar") {
        pair = result;
    } else if (type->as_string() == "vector") {
        if (!result->is_array()) {
            error = "Prometheus' vector result is not an array";
            return std::nullopt;
        }
        const auto& samples = result->as_array();
        if (samples.empty()) {
            if (empty_is) return empty_is;
            error = "the query found nothing (an empty vector)";
            return std::nullopt;
        }
        if (samples.size() > 1) {
            error = "the query answered " + std::to_string(samples.size()) + " samples, not one (aggregate it, e.g. count(...))";
            return std::nullopt;
        }
        const auto* so = samples[0].if_object();
        pair = so ? so->if_contains("value") : nullptr;
    } else {
        error = "the query answered a " + printable(std::string(type->as_string()), 20) + ", not one number";
        return std::nullopt;
    }
    if (!pair || !pair->is_array() || pair->as_array().size() != 2 || !pair->as_array()[1].is_string()) {
        error = "Prometheus' sample is not [time, \"value\"]";
        return std::nullopt;
    }
    const std::string text(pair->as_array()[1].as_string());
    char* end = nullptr;
    const double n = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(n)) {
        error = "Prometheus' value '" + printable(text, 40) + "' is not a finite number";
        return std::nullopt;
    }
    return n;
}

}  // namespace heal::receiver
