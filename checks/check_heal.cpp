// check_heal: Nagios plugin watching heal itself on a worker host. It asks the heal-listener for
// `info` (as heal-ctl would, same TLS options and client config) and says CRITICAL when a service
// is quarantined, the state store is unavailable or the listener cannot be reached; WARNING when
// a service has used more than half its restart budget or the listener's certificate expires
// soon; else OK. Perfdata per service: actions in the budget window, the budget, refusals.
#include "client.hpp"
#include "client_config.hpp"
#include "json_get.hpp"
#include "plugin.hpp"
#include "text.hpp"
#include "version.hpp"

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
    const json::object& info = *r.info;
    res.set(ok, "");
    for (const auto& w : call.warnings) res.raise(warning, w);
    std::string state = heal::json_text(info, "state");
    if (!state.empty() && state != "ok")
        res.raise(critical, "state store " + state + ": heals are refused");

    unsigned shown = 0, watched = 0;
    std::set<std::string> seen;
    // Perfdata worst first (quarantined, then over half a budget, then refused), so that when
    // thousands of services pass Nagios' 8 KiB, the items cut are those of healthy services.
    struct Perf {
        int rank;
        std::vector<heal::plugin::Perfdata> items;
    };
    std::vector<Perf> perf;
    const auto* services = info.if_contains("services");
    if (services && services->is_array()) {
        for (const auto& v : services->as_array()) {
            if (!v.is_object()) continue;
            const auto& s = v.as_object();
            const std::string name = heal::json_text(s, "name");
            if (!o.services.empty() && !o.services.count(name)) continue;
            seen.insert(name);
            ++shown;
            int rank = 0;
            if (const auto* q = s.if_contains("quarantine"); q && q->is_object()) {
                rank = 3;
                res.raise(critical, name + " quarantined since " + heal::json_text(q->as_object(), "since") + ": " +
                                        heal::json_text(q->as_object(), "why"));
            }
            if (const auto* p = s.if_contains("paused"); p && p->is_object()) {
                rank = std::max(rank, 2);
                res.raise(warning, name + "'s watch loop is paused by " + heal::json_text(p->as_object(), "by") +
                                       " (heal-ctl resume " + name + ")");
            }
            std::optional<std::int64_t> used, limit;
            if (const auto* b = s.if_contains("budget"); b && b->is_object()) {
                used = heal::json_int(b->as_object(), "used");
                limit = heal::json_int(b->as_object(), "limit");
            }
            if (used && limit && *limit > 0 && *used * 2 > *limit) {
                rank = std::max(rank, 2);
                res.raise(warning, name + " used " + std::to_string(*used) + " of its budget of " +
                                       std::to_string(*limit));
            }
            // More than half the budget warns: the warning threshold is limit / 2 actions.
            Perf p{rank, {}};
            p.items.push_back({name + "_actions", used ? std::to_string(*used) : "U", "",
                               limit ? std::to_string(*limit / 2) : "", "", "0",
                               limit ? std::to_string(*limit) : ""});
            if (limit) p.items.push_back({name + "_budget", std::to_string(*limit), "", "", "", "0", ""});
            auto refusals = heal::json_int(s, "refusals");
            p.items.push_back({name + "_refusals", refusals ? std::to_string(*refusals) : "U", "c", "", "", "0", ""});
            if (refusals && *refusals > 0) p.rank = std::max(p.rank, 1);
            if (const auto* w = s.if_contains("watch"); w && w->is_object()) {
                ++watched;
                const auto failures = heal::json_int(w->as_object(), "failures");
                const auto after = heal::json_int(w->as_object(), "heal_after");
                p.items.push_back({name + "_watch_failures", failures ? std::to_string(*failures) : "U", "", "",
                                   after ? std::to_string(*after) : "", "0", ""});
            }
            perf.push_back(std::move(p));
        }
    }
    for (const auto& want : o.services)
        if (!seen.count(want)) res.raise(unknown, "no service " + want + " on this listener");

    if (call.server_cert) check_cert_days(res, *call.server_cert, o.cert_days, "the listener's certificate");
    std::stable_sort(perf.begin(), perf.end(), [](const Perf& a, const Perf& b) { return a.rank > b.rank; });
    for (auto& p : perf)
        for (auto& item : p.items) res.add_perf(std::move(item));
    if (res.state() == ok)
        res.set(ok, std::to_string(shown) + " service(s) on " + opt.host + ", none quarantined, budgets " +
                        "at most half used" + (watched ? ", " + std::to_string(watched) + " watched here" : ""));
    else if (res.summary().empty())
        res.set(res.state(), std::to_string(shown) + " service(s) on " + opt.host);
    std::fputs(res.format().c_str(), stdout);
    return res.state();
}
