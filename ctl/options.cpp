#include "options.hpp"

#include "protocol.hpp"
#include "text.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>

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
    p.options = std::move(o);
    return p;
}

std::string validate(const Options& o, double& since_s) {
    since_s = 0;
    // Verbs and names are the listener's to judge; only refuse what cannot be framed at all.
    if (o.service.empty() && o.verb != "history" && o.verb != "info")
        return o.verb == "diagnostics" ? "diagnostics needs a REQUEST-ID" : "SERVICE is required";
    if ((o.since_given || o.limit_given) && o.verb != "history") return "--since and --limit apply to history only";
    if (o.since_given && !parse_duration(o.since, 100.0 * 365 * 86400, since_s))
        return "--since expects a duration such as 90m, 6h or 2d, got '" + printable(o.since, 40) + "'";
    if (o.force && o.verb != "start" && o.verb != "stop" && o.verb != "restart")
        return "--force applies to start, stop and restart only";
    for (const auto& s : {o.verb, o.service})
        if (s.find_first_of(" \r\n\t") != std::string::npos || s.find('\0') != std::string::npos)
            return "VERB and SERVICE must be single words";
    return {};
}

}  // namespace heal::ctl
