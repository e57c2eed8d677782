#include "handler/icinga2.hpp"

#include "checks/http_call.hpp"
#include "common/small_file.hpp"

#include "checks/probe.hpp"
#include "handler/nagios_group.hpp"
#include "common/text.hpp"

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

using answers::whole;

constexpr const char* author = "heal";
constexpr std::size_t max_answer = 64 << 20;  // ~300 bytes a service: 200,000 services fit

/// The password file: a regular file of at most 4 KiB, its first line without the newline.
std::string read_password(const std::string& path, std::string& password) {
    if (auto err = read_first_line(path, 4096, password); !err.empty())
        return "cannot read --icinga2-password-file '" + path + "': " + err;
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

std::string call(const Api& api, const std::string& path, const std::string& body_json, bool get, std::string& body) {
    Url u;
    if (auto err = parse_url(api.url, u); !err.empty()) return err;
    plugin::Target t;
    t.host = api.name.empty() ? u.host : api.name;
    t.address = u.host;
    t.port = u.port;
    t.tls = true;
    t.ca = api.ca;
    t.ca_option = "--icinga2-ca FILE";
    t.name_option = "--icinga2-name NAME";
    t.cert = api.cert;
    t.key = api.key;
    plugin::HttpRequest req;
    req.method = "POST";
    req.path = path;
    req.body = body_json;
    req.content_type = "application/json";
    req.headers.emplace_back("Accept", "application/json");
    if (get) req.headers.emplace_back("X-HTTP-Method-Override", "GET");
    if (!api.user.empty()) {
        std::string password;
        if (auto err = read_password(api.password_file, password); !err.empty()) return err;
        req.headers.emplace_back("Authorization", "Basic " + base64(api.user + ":" + password));
    }
    const auto r = plugin::http_call(t, std::move(req), api.timeout, max_answer);
    const std::string where = "Icinga 2's API at " + api.url;
    if (!r.error.empty()) return where + ": " + r.error;
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

fleet::FleetView Source::view(const std::string& host, const std::string& desc, bool service_ok) {
    const handler::Options& o = o_;
    fleet::FleetView v;
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
    query["attrs"] = {"host_name", "name", "state", "last_check", "last_state_ok", "downtime_depth", "acknowledgement"};
    query["joins"] = {"host.downtime_depth"};  // a host downtime holds its services (objects/query/Host)
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
    if (!status.hosts_joined)
        handler::log_line("warning: Icinga 2's answer has no host.downtime_depth (the ApiUser lacks objects/query/Host?): "
                          "a host downtime cannot hold heals");
    // The answer is the group, live: who is in it and their states come together.
    nagios::Members members;
    for (const auto& s : status.services) members.emplace_back(s.host, s.service);
    std::sort(members.begin(), members.end());
    status.created = std::time(nullptr);
    const auto all = nagios::entries(members, status);
    const auto handled = fleet::entry_of(all, host, desc);
    auto judged = fleet::judge(o.max_unhealthy, fleet::health(fleet::summarize(all), handled, host, desc, service_ok),
                                 handled.last_ok, label, "Icinga 2's answer");
    judged.human = handled;
    return judged;
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
