#include "ctl/options.hpp"

#include "common/protocol.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>

namespace heal::ctl {

Parsed parse_options(const std::vector<std::string>& args) {
    CLI::App app{"heal-ctl - ask a heal-listener to start, stop, restart or report a service"};
    app.set_help_flag("-h,--help", "print this help and exit");
    app.allow_extras();  // unknown options are named below, before missing arguments
    Options o;
    ClientOptions cli;
    auto* o_host = app.add_option("-H,--host", cli.host, "listener host name or address (default localhost)");
    auto* o_port = app.add_option("-p,--port", cli.port, "listener port (default 5669)")->check(CLI::Range(1, 65535));
    auto* o_cert = app.add_option("--cert", cli.cert, "client certificate (PEM)");
    auto* o_key = app.add_option("--key", cli.key, "client private key (PEM)");
    auto* o_ca = app.add_option("--ca", cli.ca, "CA that signed the listener's certificate");
    auto* o_crl = app.add_option("--crl", cli.crl, "CRLs (PEM) the listener's certificate is checked against");
    auto* o_name = app.add_option("--server-name", cli.server_name,
                                  "name the listener's certificate must carry (default: HOST)");
    auto* o_bind = app.add_option("-b,--bind", cli.bind, "local source address (default: any)");
    auto* o_timeout = app.add_option("-t,--timeout", cli.timeout, "seconds for the whole call (default 30)")
                          ->check(CLI::Range(0.001, 3600.0));
    auto* o_config = app.add_option("-c,--config", o.config,
                                    "client configuration file (default /etc/heal/heal-ctl.ini, used when it exists)");
    app.add_flag("--json", o.json, "print the listener's reply as JSON");
    app.add_flag("--force", o.force,
                 "admins only: act past the service's budget, cooldown and quarantine (never past its lock); "
                 "audited as forced");
    auto* o_since = app.add_option("--since", o.since,
                   "history: only this recent, a duration such as 90m, 6h or 2d (default: everything kept)");
    auto* o_limit = app.add_option("--limit", o.limit, "history: at most this many lines (default 50)")
                        ->check(CLI::Range(1u, max_history));
    app.add_flag("--all", o.all, "pause, resume: every service on the host (admins)");
    auto* o_for = app.add_option("--for", o.for_text,
                                 "pause: how long the hold lasts, such as 30m, 2h or 1d (required, at most 7d)");
    auto* o_reason = app.add_option("--reason", o.reason,
                                    "pause: why, for whoever meets the hold (at most 160 bytes, no control characters)");
    app.add_option("VERB", o.verb, "start, stop, restart, status, info, reset, pause, resume, diagnostics or history");
    app.add_option("SERVICE", o.service,
                   "service name as configured on the listener (for info: only this one; for history: only this "
                   "one); for diagnostics, the request id of a restart or stop");
    app.set_version_flag("-V,--version", std::string("heal-ctl ") + HEAL_VERSION);
    Parsed p;
    try {
        std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
        app.parse(reversed);
    } catch (const CLI::CallForHelp& e) {
        p.exit = app.exit(e);
        return p;
    } catch (const CLI::CallForVersion& e) {
        p.exit = app.exit(e);
        return p;
    } catch (const CLI::ParseError& e) {
        p.error = e.what();
        return p;
    }
    if (auto extra = app.remaining(); !extra.empty()) {
        const std::string first = extra.front();
        p.error = (first.rfind("-", 0) == 0 ? "unknown option '" : "unexpected argument '") + first + "'";
        return p;
    }
    if (o.verb.empty()) {
        p.error = "VERB is required (start, stop, restart, status, info, reset)";
        return p;
    }
    auto given = [](CLI::Option* opt) { return opt->count() > 0; };
    if (given(o_host)) o.over.host = cli.host;
    if (given(o_port)) o.over.port = cli.port;
    if (given(o_cert)) o.over.cert = cli.cert;
    if (given(o_key)) o.over.key = cli.key;
    if (given(o_ca)) o.over.ca = cli.ca;
    if (given(o_crl)) o.over.crl = cli.crl;
    if (given(o_name)) o.over.server_name = cli.server_name;
    if (given(o_bind)) o.over.bind = cli.bind;
    if (given(o_timeout)) o.over.timeout = cli.timeout;
    o.config_given = given(o_config);
    o.limit_given = given(o_limit);
    o.since_given = given(o_since);
    o.for_given = given(o_for);
    o.reason_given = given(o_reason);
    p.options = std::move(o);
    return p;
}

namespace {

/// pause and resume: SERVICE or --all, and pause's --for and --reason.
std::string validate_hold(const Options& o, Durations& d) {
    const bool pause = o.verb == "pause";
    if (o.all && !o.service.empty()) return "--all and SERVICE exclude each other";
    if (!o.all && o.service.empty()) return o.verb + " needs SERVICE or --all";
    if (!pause) return o.for_given || o.reason_given ? "--for and --reason apply to pause only" : "";
    if (!o.for_given)
        return "pause needs --for DURATION (such as 2h; at most 7d): a hold without an end is forgotten";
    double seconds = 0;
    if (!parse_duration(o.for_text, static_cast<double>(max_hold_s), seconds) || seconds <= 0)
        return "--for expects a duration from 1s to 7d, such as 30m, 2h or 1d, got '" + printable(o.for_text, 40) + "'";
    d.for_s = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(seconds)));
    if (auto why = hold_reason_error(o.reason); !why.empty()) return "--reason " + why;
    return {};
}

}  // namespace

std::string validate(const Options& o, double& since_s) {
    Durations d;
    auto err = validate(o, d);
    since_s = d.since_s;
    return err;
}

std::string validate(const Options& o, Durations& d) {
    double& since_s = d.since_s;
    since_s = 0;
    // Verbs and names are the listener's to judge; only refuse what cannot be framed at all.
    for (const auto& s : {o.verb, o.service})
        if (s.find_first_of(" \r\n\t") != std::string::npos || s.find('\0') != std::string::npos)
            return "VERB and SERVICE must be single words";
    if (o.verb == "pause" || o.verb == "resume") return validate_hold(o, d);
    if (o.all || o.for_given || o.reason_given) return "--all, --for and --reason apply to pause and resume only";
    if (o.service.empty() && o.verb != "history" && o.verb != "info")
        return o.verb == "diagnostics" ? "diagnostics needs a REQUEST-ID" : "SERVICE is required";
    if ((o.since_given || o.limit_given) && o.verb != "history") return "--since and --limit apply to history only";
    if (o.since_given && !parse_duration(o.since, 100.0 * 365 * 86400, since_s))
        return "--since expects a duration such as 90m, 6h or 2d, got '" + printable(o.since, 40) + "'";
    if (o.force && o.verb != "start" && o.verb != "stop" && o.verb != "restart")
        return "--force applies to start, stop and restart only";
    return {};
}

std::string request_line(const Options& o, const Durations& d) {
    if (o.verb == "history")
        return format_history_request(o.service.empty() ? "*" : o.service, o.limit,
                                      static_cast<std::uint64_t>(d.since_s + 0.999));
    if (o.verb == "pause") return format_pause_request(o.all ? "" : o.service, d.for_s, o.reason);
    if (o.verb == "resume") return format_request(o.verb, o.all ? "*" : o.service);
    return format_request(o.verb, o.service, o.force);
}

}  // namespace heal::ctl
