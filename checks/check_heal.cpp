// check_heal: Nagios plugin watching heal itself on a worker host. It asks the heal-listener for
// `info` (as heal-ctl would, same TLS options and client config) and says CRITICAL when a service
// is quarantined, the state store is unavailable or the listener cannot be reached; WARNING when
// a service has used more than half its restart budget or the listener's certificate expires
// soon; else OK. Perfdata per service: actions in the budget window, the budget, refusals.
#include "common/client.hpp"
#include "common/client_config.hpp"
#include "common/json_get.hpp"
#include "checks/listener_info.hpp"
#include "common/plugin.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <boost/json.hpp>
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <string>

using namespace heal::plugin;
namespace json = boost::json;

namespace {

constexpr Usage usage{"HEAL",
                      "Usage: check_heal [-H HOST] [-p PORT] [-c CONFIG] [--cert F --key F --ca F] [--crl F] "
                      "[-C DAYS[,DAYS]] [-s SERVICE]... (check_heal --help)"};

[[noreturn]] void usage_error(const std::string& why) { usage_exit(usage, why); }

constexpr const char* help_text =
    "check_heal " HEAL_VERSION " - Nagios plugin for heal itself on a worker host\n"
    "\n"
    "Usage: check_heal [-H HOST] [-p PORT] [-c CONFIG] [options]\n"
    "\n"
    "  -H, --host HOST          listener host (default localhost)\n"
    "  -p, --port PORT          listener port (default 5669)\n"
    "  -c, --config FILE        heal-ctl client configuration (default /etc/heal/heal-ctl.ini,\n"
    "                           used when it exists)\n"
    "      --cert FILE, --key FILE  client certificate and key\n"
    "      --ca FILE            CA of the listener's certificate\n"
    "      --crl FILE           CRLs (PEM) the listener's certificate is checked against\n"
    "      --server-name NAME   name the listener's certificate must carry (default: HOST)\n"
    "  -t, --timeout SECONDS    give up after this long (default 10)\n"
    "  -C, --certificate W[,C]  WARNING (CRITICAL) when the listener's certificate expires in\n"
    "                           fewer than W (C) days (default 14)\n"
    "  -s, --service NAME       only this service (repeatable; default: all)\n"
    "  -V, --version            print the version\n"
    "  -h, --help               this help\n"
    "\n"
    "CRITICAL: a service quarantined, the state store unavailable, or no answer.\n"
    "WARNING: a service has used more than half its budget, a watch loop is paused, or the\n"
    "certificate expires soon.\n"
    "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See check_heal(1).\n";

struct Options {
    heal::ClientOptions client;
    std::string config = "/etc/heal/heal-ctl.ini";
    bool config_given = false;
    std::optional<std::string> host, cert, key, ca, crl, server_name;
    std::optional<unsigned short> port;
    double timeout = 10;
    CertDays cert_days = *parse_cert_days("14");
    std::set<std::string> services;
};

enum LongOnly { opt_cert = 256, opt_key, opt_ca, opt_crl, opt_server_name };

Options parse_options(int argc, char** argv) {
    static const option long_options[] = {
        {"host", required_argument, nullptr, 'H'},
        {"port", required_argument, nullptr, 'p'},
        {"config", required_argument, nullptr, 'c'},
        {"cert", required_argument, nullptr, opt_cert},
        {"key", required_argument, nullptr, opt_key},
        {"ca", required_argument, nullptr, opt_ca},
        {"crl", required_argument, nullptr, opt_crl},
        {"server-name", required_argument, nullptr, opt_server_name},
        {"timeout", required_argument, nullptr, 't'},
        {"certificate", required_argument, nullptr, 'C'},
        {"service", required_argument, nullptr, 's'},
        {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0}};
    Options o;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":H:p:c:t:C:s:Vh", long_options, nullptr);
        if (c == -1) break;
        std::string arg = optarg ? optarg : "";
        unsigned long long n = 0;
        switch (c) {
            case 'H': o.host = arg; break;
            case 'p':
                if (!heal::parse_uint(arg, 1, 65535, n)) usage_error("-p expects a port (1-65535), got '" + arg + "'");
                o.port = static_cast<unsigned short>(n);
                break;
            case 'c':
                o.config = arg;
                o.config_given = true;
                break;
            case opt_cert: o.cert = arg; break;
            case opt_key: o.key = arg; break;
            case opt_ca: o.ca = arg; break;
            case opt_crl: o.crl = arg; break;
            case opt_server_name: o.server_name = arg; break;
            case 't':
                if (!heal::parse_seconds(arg, 3600, o.timeout))
                    usage_error("-t expects seconds (up to 3600), got '" + arg + "'");
                break;
            case 'C': {
                auto days = parse_cert_days(arg);
                if (!days) usage_error("-C expects DAYS_WARN[,DAYS_CRIT], got '" + arg + "'");
                o.cert_days = *days;
                break;
            }
            case 's':
                if (!heal::is_valid_service_name(arg)) usage_error("-s expects a service name, got '" + arg + "'");
                o.services.insert(arg);
                break;
            default: getopt_common(c, argv, usage, "check_heal " HEAL_VERSION "\n", help_text);
        }
    }
    no_operands(argc, argv, usage);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);
    heal::ClientOptions opt;
    try {
        opt = heal::client_options(o.config, o.config_given,
                                   {.host = o.host, .cert = o.cert, .key = o.key, .ca = o.ca, .crl = o.crl,
                                    .server_name = o.server_name, .port = o.port, .timeout = o.timeout});
    } catch (const heal::ConfigError& e) {
        usage_error(e.what());
    }

    Result res("HEAL");
    auto call = heal::call_listener(opt, heal::format_request("info", ""));
    if (!call.answered) {
        res.set(critical, "no answer from heal-listener on " + opt.host + ": " + call.error);
        std::fputs(res.format().c_str(), stdout);
        return res.state();
    }
    const auto& r = call.reply;
    if (r.outcome != heal::Outcome::ok || !r.info) {
        // A refusal here is a configuration matter (which certificate may ask), not an outage.
        res.set(unknown, "heal-listener on " + opt.host + " refused info: " + r.message);
        std::fputs(res.format().c_str(), stdout);
        return res.state();
    }
    res.set(ok, "");
    for (const auto& w : call.warnings) res.raise(warning, w);
    auto judged = heal::plugin::judge_info(res, *r.info, o.services);
    if (call.server_cert) check_cert_days(res, *call.server_cert, o.cert_days, "the listener's certificate");
    heal::plugin::finish_info(res, std::move(judged), opt.host);
    std::fputs(res.format().c_str(), stdout);
    return res.state();
}
