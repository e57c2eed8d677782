// The pure half of heal-event-handler's Icinga 2 mode: its options and Icinga 2's answers, read
// strictly (tests/fuzz/fuzz_icinga2 runs these without a network).
#include "handler/icinga2.hpp"
#include "checks/http_url.hpp"

#include "common/text.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

namespace heal::icinga2 {

namespace json = boost::json;

namespace answers {

/// A whole number in a JSON number (Icinga 2 sends states as 2.0).
bool whole(const json::value& v, double lo, double hi, double& out) {
    if (v.is_int64()) out = static_cast<double>(v.as_int64());
    else if (v.is_uint64()) out = static_cast<double>(v.as_uint64());
    else if (v.is_double()) out = v.as_double();
    else return false;
    return std::isfinite(out) && out >= lo && out <= hi;
}

}  // namespace answers

using answers::whole;

std::string parse_url(const std::string& url, Url& out) {
    out = Url{};
    if (url.rfind("https://", 0) != 0) return "--icinga2-url must start with https:// (got '" + printable(url, 80) + "')";
    plugin::HttpUrl u;
    if (auto err = plugin::parse_http_url(url, u); !err.empty()) return "--icinga2-url: " + err;
    if (!u.prefix.empty())
        return "--icinga2-url is https://HOST[:PORT], without a path (got '" + printable(url, 80) + "')";
    out.host = u.host;
    if (u.port_given) out.port = u.port;
    return {};
}

std::string check_options(const Api& api) {
    Url u;
    if (auto err = parse_url(api.url, u); !err.empty()) return err;
    if (api.ca.empty()) return "--icinga2-ca is required with --icinga2-url (Icinga 2's CA: its certificate is verified)";
    const bool by_cert = !api.cert.empty() || !api.key.empty();
    const bool by_password = !api.user.empty() || !api.password_file.empty();
    if (by_cert && by_password)
        return "authenticate either with --icinga2-cert and --icinga2-key or with --icinga2-user and "
               "--icinga2-password-file, not both";
    if (by_cert && (api.cert.empty() || api.key.empty())) return "--icinga2-cert and --icinga2-key go together";
    if (by_password && (api.user.empty() || api.password_file.empty()))
        return "--icinga2-user and --icinga2-password-file go together (a password is never given on the command line)";
    if (!by_cert && !by_password)
        return "--icinga2-url needs --icinga2-cert and --icinga2-key, or --icinga2-user and --icinga2-password-file";
    if (api.user.find(':') != std::string::npos) return "--icinga2-user cannot contain ':'";
    return {};
}

nagios::StatusData parse_services(const std::string& body, std::size_t max) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec) throw nagios::StatusError("Icinga 2's answer is not JSON: " + ec.message());
    const json::object* top = v.if_object();
    const json::value* results = top ? top->if_contains("results") : nullptr;
    if (!results || !results->is_array()) throw nagios::StatusError("Icinga 2's answer has no \"results\" list");
    nagios::StatusData d;
    std::vector<std::pair<std::string, std::string>> seen;
    std::size_t i = 0;
    for (const auto& entry : results->as_array()) {
        const std::string at = "Icinga 2's answer, result " + std::to_string(++i) + ": ";
        if (d.services.size() == max) throw nagios::StatusError(at + "more than " + std::to_string(max) + " services");
        const json::object* e = entry.if_object();
        const json::value* attrs_v = e ? e->if_contains("attrs") : nullptr;
        const json::object* attrs = attrs_v ? attrs_v->if_object() : nullptr;
        if (!attrs) throw nagios::StatusError(at + "no \"attrs\" object");
        const auto* h = attrs->if_contains("host_name");
        const auto* n = attrs->if_contains("name");
        if (!h || !h->is_string() || h->as_string().empty() || !n || !n->is_string() || n->as_string().empty())
            throw nagios::StatusError(at + "no host_name and name strings");
        nagios::ServiceStatus s;
        s.host = std::string(h->as_string());
        s.service = std::string(n->as_string());
        const std::string which = "'" + printable(s.service, 60) + "' on '" + printable(s.host, 60) + "'";
        double state = 0, last_check = 0, last_ok = 0;
        const auto* st = attrs->if_contains("state");
        if (!st || !whole(*st, 0, 3, state) || state != std::floor(state))
            throw nagios::StatusError(at + "the state of " + which + " is not 0-3");
        s.state = static_cast<nagios::ServiceState>(static_cast<int>(state));
        const auto* lc = attrs->if_contains("last_check");
        if (!lc || !whole(*lc, -1, 1e11, last_check)) throw nagios::StatusError(at + "last_check of " + which + " is not a time");
        s.checked = last_check > 0;
        const auto* lo = attrs->if_contains("last_state_ok");
        if (!lo || !whole(*lo, -1, 1e11, last_ok)) throw nagios::StatusError(at + "last_state_ok of " + which + " is not a time");
        s.last_ok = last_ok > 0 ? static_cast<std::int64_t>(last_ok) : 0;
        // What humans hold: absent in an older answer means none.
        double depth = 0, ack = 0, host_depth = 0;
        if (const auto* dd = attrs->if_contains("downtime_depth"); dd && !whole(*dd, 0, 1e6, depth))
            throw nagios::StatusError(at + "downtime_depth of " + which + " is not a count");
        if (const auto* a = attrs->if_contains("acknowledgement"); a && !whole(*a, 0, 2, ack))
            throw nagios::StatusError(at + "acknowledgement of " + which + " is not 0, 1 or 2");
        s.downtime_depth = static_cast<unsigned>(depth);
        s.acknowledged = ack > 0;  // 1 normal, 2 sticky
        const json::value* joins_v = e->if_contains("joins");
        const json::object* joins = joins_v ? joins_v->if_object() : nullptr;
        const json::value* host_v = joins ? joins->if_contains("host") : nullptr;
        const json::object* jh = host_v ? host_v->if_object() : nullptr;
        if (jh && jh->contains("downtime_depth")) d.hosts_joined = true;
        if (jh)
            if (const auto* hd = jh->if_contains("downtime_depth")) {
                if (!whole(*hd, 0, 1e6, host_depth))
                    throw nagios::StatusError(at + "the host's downtime_depth of " + which + " is not a count");
                if (host_depth > 0) d.host_downtime[s.host] = static_cast<unsigned>(host_depth);
            }
        seen.emplace_back(s.host, s.service);
        d.services.push_back(std::move(s));
    }
    std::sort(seen.begin(), seen.end());
    if (auto dup = std::adjacent_find(seen.begin(), seen.end()); dup != seen.end())
        throw nagios::StatusError("Icinga 2's answer lists '" + printable(dup->second, 60) + "' on '" +
                                  printable(dup->first, 60) + "' twice");
    d.bytes = body.size();
    return d;
}

std::string action_error(const std::string& body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    const json::object* top = ec ? nullptr : v.if_object();
    const json::value* results = top ? top->if_contains("results") : nullptr;
    if (!results || !results->is_array()) return "Icinga 2's answer to an action has no \"results\" list";
    if (results->as_array().empty()) return "Icinga 2 found no such service";
    for (const auto& r : results->as_array()) {
        const json::object* o = r.if_object();
        const json::value* code = o ? o->if_contains("code") : nullptr;
        double c = 0;
        if (!code || !whole(*code, 0, 999, c)) return "Icinga 2's answer to an action has a result without a code";
        if (c != 200) {
            const json::value* status = o->if_contains("status");
            return "Icinga 2 answered " + std::to_string(static_cast<int>(c)) +
                   (status && status->is_string() ? ": " + printable(std::string(status->as_string()), 200) : "");
        }
    }
    return {};
}

}  // namespace heal::icinga2
