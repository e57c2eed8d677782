#include "icinga2.hpp"

#include "probe.hpp"
#include "text.hpp"

#include <boost/json.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace heal::icinga2 {

namespace json = boost::json;

namespace {

constexpr const char* author = "heal";
constexpr std::size_t max_answer = 64 << 20;  // ~300 bytes a service: 200,000 services fit

/// The password file: a regular file of at most 4 KiB, its first line without the newline.
std::string read_password(const std::string& path, std::string& password) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return "cannot read --icinga2-password-file '" + path + "': " + std::strerror(errno);
    struct stat st {};
    std::string text(4097, '\0');
    ssize_t n = -1;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::read(fd, text.data(), text.size());
    ::close(fd);
    if (n < 0) return "--icinga2-password-file '" + path + "' is not a readable regular file";
    if (n > 4096) return "--icinga2-password-file '" + path + "' is over 4 KiB";
    text.resize(static_cast<std::size_t>(n));
    password = text.substr(0, text.find('\n'));
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) return "--icinga2-password-file '" + path + "' is empty";
    return {};
}

std::string base64(const std::string& in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

/// Icinga 2's own words for an HTTP error: {"error":404,"status":"No objects found."}.
std::string error_words(const std::string& body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (!ec && v.is_object())
        if (const auto* s = v.as_object().if_contains("status"); s && s->is_string())
            return printable(std::string(s->as_string()), 200);
    return printable(body.substr(0, 200), 200);
}

/// A whole number in a JSON number (Icinga 2 sends states as 2.0).
bool whole(const json::value& v, double lo, double hi, double& out) {
    if (v.is_int64()) out = static_cast<double>(v.as_int64());
    else if (v.is_uint64()) out = static_cast<double>(v.as_uint64());
    else if (v.is_double()) out = v.as_double();
    else return false;
    return std::isfinite(out) && out >= lo && out <= hi;
}

json::object service_filter(const std::string& host, const std::string& service) {
    return {{"type", "Service"},
            {"filter", "host.name == heal_host && service.name == heal_service"},
            {"filter_vars", {{"heal_host", host}, {"heal_service", service}}}};
}

std::string act(const Api& api, const char* action, json::object body) {
    std::string answer;
    const std::string err = call(api, std::string("/v1/actions/") + action, json::serialize(body), false, answer);
    if (!err.empty()) return err;
    return action_error(answer);
}

}  // namespace

std::string parse_url(const std::string& url, Url& out) {
    const std::string scheme = "https://";
    if (url.rfind(scheme, 0) != 0) return "--icinga2-url must start with https:// (got '" + printable(url, 80) + "')";
    std::string rest = url.substr(scheme.size());
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos ||
        rest.find_first_of("?# \t\r\n") != std::string::npos)
        return "--icinga2-url is https://HOST[:PORT], without a path or user (got '" + printable(url, 80) + "')";
    std::string port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) return "--icinga2-url: no ']' after an IPv6 address";
        out.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') return "--icinga2-url: expected ':PORT' after ']'";
            port = rest.substr(close + 2);
        }
    } else {
        const auto colon = rest.find(':');
        out.host = rest.substr(0, colon);
        if (colon != std::string::npos) port = rest.substr(colon + 1);
    }
    if (out.host.empty()) return "--icinga2-url has no host";
    if (!port.empty()) {
        unsigned long long p = 0;
        if (!parse_uint(port, 1, 65535, p)) return "--icinga2-url: port '" + printable(port, 20) + "' is not 1-65535";
        out.port = static_cast<unsigned short>(p);
    }
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

std::string call(const Api& api, const std::string& path, const std::string& body_json, bool get, std::string& body) {
    Url u;
    if (auto err = parse_url(api.url, u); !err.empty()) return err;
    plugin::Target t;
    t.host = api.name.empty() ? u.host : api.name;
    t.address = u.host;
    t.port = u.port;
    t.tls = true;
    t.ca = api.ca;
    t.cert = api.cert;
    t.key = api.key;
    plugin::HttpRequest req;
    req.method = "POST";
    req.path = path;
    req.body = body_json;
    req.content_type = "application/json";
    req.max_body = max_answer;
    req.headers.emplace_back("Accept", "application/json");
    if (get) req.headers.emplace_back("X-HTTP-Method-Override", "GET");
    if (!api.user.empty()) {
        std::string password;
        if (auto err = read_password(api.password_file, password); !err.empty()) return err;
        req.headers.emplace_back("Authorization", "Basic " + base64(api.user + ":" + password));
    }
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(api.timeout));
    const auto r = plugin::probe_http(t, req, deadline);
    const std::string where = "Icinga 2's API at " + api.url;
    if (!r.error.empty()) return where + ": " + r.error;
    if (r.body_over_limit) return where + ": an answer over " + std::to_string(max_answer >> 20) + " MiB";
    if (r.declared_length && *r.declared_length != r.body_bytes) return where + ": the answer was cut short";
    if (r.status != 200) {
        std::string words = "HTTP " + std::to_string(r.status) + " for " + path + ": " + error_words(r.body);
        // Icinga 2.13 answers a permission the ApiUser lacks with 404, like a missing object.
        if (r.status == 401) words += " (the user or password, or the certificate's client_cn, is not an ApiUser)";
        if (r.status == 403 || r.status == 404) words += " (does the ApiUser have the permission?)";
        return where + ": " + words;
    }
    body = r.body;
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

handler::FleetView Source::view(const std::string& host, const std::string& desc, bool service_ok) {
    const handler::Options& o = o_;
    handler::FleetView v;
    json::object query;
    std::string label;
    if (!api_.filter.empty()) {
        query["filter"] = api_.filter;  // the operator's expression, as Icinga 2 evaluates it
        label = "services matching --icinga2-filter";
    } else if (!o.servicegroup.empty()) {
        query["filter"] = "heal_group in service.groups";
        query["filter_vars"] = {{"heal_group", o.servicegroup}};
        label = "services in group '" + o.servicegroup + "'";
    } else {
        query["filter"] = "service.name == heal_service";
        query["filter_vars"] = {{"heal_service", desc}};
        label = "'" + desc + "' services";
    }
    query["attrs"] = {"host_name", "name", "state", "last_check", "last_state_ok"};
    std::string answer;
    if (auto err = call(api_, "/v1/objects/services", json::serialize(query), true, answer); !err.empty()) {
        v.blocked_by = "cannot use Icinga 2's state: " + err;
        return v;
    }
    nagios::StatusData status;
    try {
        status = parse_services(answer);
    } catch (const nagios::StatusError& err) {
        v.blocked_by = "cannot use Icinga 2's state: " + std::string(err.what());
        return v;
    }
    if (status.services.empty()) {
        v.blocked_by = "Icinga 2 lists no " + label + ": the fleet group is empty";
        return v;
    }
    // The answer is the group, live: who is in it and their states come together.
    nagios::Members members;
    for (const auto& s : status.services) members.emplace_back(s.host, s.service);
    std::sort(members.begin(), members.end());
    status.created = std::time(nullptr);
    return handler::judge(o, members, status, host, desc, service_ok, label, "Icinga 2's answer");
}

std::string Notifier::comment(const std::string& host, const std::string& service, const std::string& text) {
    auto body = service_filter(host, service);
    body["author"] = author;
    body["comment"] = text;
    return act(api_, "add-comment", std::move(body));
}

std::string Notifier::page(const std::string& host, const std::string& service, const std::string& text) {
    auto body = service_filter(host, service);
    body["author"] = author;
    body["comment"] = text;
    body["force"] = true;  // a heal that did not happen must reach a human, downtime or not
    return act(api_, "send-custom-notification", std::move(body));
}

}  // namespace heal::icinga2
