// The Icinga 2 side of heal-event-handler, through Icinga 2's REST API (Icinga 2 has no
// status.dat since 2.14 and retires its command pipe): the fleet's states from
// /v1/objects/services, comments and pages through /v1/actions/add-comment and
// /v1/actions/send-custom-notification (forced). TLS verified against Icinga's CA; a client
// certificate (the ApiUser's client_cn) or a user and a password read from a file.
#pragma once

#include "handler/event_handler.hpp"
#include "handler/status_file.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace heal::icinga2 {

struct Api {
    std::string url{};          ///< https://HOST:PORT, no path
    std::string ca{};           ///< Icinga's CA (its PKI's ca.crt)
    std::string name{};         ///< the name its certificate must carry; the URL's host when empty
    std::string cert{}, key{};  ///< client certificate authentication
    std::string user{}, password_file{};  ///< or HTTP basic authentication
    std::string filter{};       ///< the operator's group filter (an Icinga 2 expression), or ""
    double timeout = 10;        ///< seconds per API call
};

/// The URL's parts; "" or why it is not an https://HOST[:PORT] URL.
struct Url {
    std::string host;
    unsigned short port = 5665;
};
std::string parse_url(const std::string& url, Url& out);

/// Checks the options as given on the command line (URL, one way of authenticating, files
/// named): "" or what is wrong, for a usage error.
std::string check_options(const Api& api);

/// The services an /v1/objects/services answer lists (attrs host_name, name, state,
/// last_check, last_state_ok), strictly: not JSON, no "results" array, an entry without a
/// string host_name and name, a state that is not 0-3, a duplicate, or more than `max`
/// entries is a nagios::StatusError naming what was wrong. `created` is left 0.
nagios::StatusData parse_services(const std::string& body, std::size_t max = 1 << 20);

/// The results of an action (add-comment, send-custom-notification): "" when every result
/// has code 200, else the status Icinga 2 gave, or what was wrong with the answer.
std::string action_error(const std::string& body);

class Source : public handler::StatusSource {
public:
    Source(const handler::Options& o, const Api& api) : o_(o), api_(api) {}
    fleet::FleetView view(const std::string& host, const std::string& service, bool service_ok) override;

private:
    const handler::Options& o_;
    const Api& api_;
};

class Notifier : public handler::Notifier {
public:
    explicit Notifier(const Api& api) : api_(api) {}
    std::string comment(const std::string& host, const std::string& service, const std::string& text) override;
    std::string page(const std::string& host, const std::string& service, const std::string& text) override;

private:
    const Api& api_;
};

namespace answers {
/// A whole number in [lo, hi] from a JSON number (Icinga 2 sends states as 2.0).
bool whole(const boost::json::value& v, double lo, double hi, double& out);
}  // namespace answers

/// One API call, for --check: POST PATH with BODY (X-HTTP-Method-Override: GET when `get`).
/// Returns "" and fills `body`, or why there is no usable answer (HTTP status and Icinga's own
/// words included).
std::string call(const Api& api, const std::string& path, const std::string& json, bool get, std::string& body);

}  // namespace heal::icinga2
