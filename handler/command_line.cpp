#include "handler/command_line.hpp"

#include "fleet/guard.hpp"
#include "common/protocol.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <CLI/CLI.hpp>

#include <tuple>

namespace heal::handler {

namespace {

bool name_ok_for_nagios(const std::string& s) {
    return s.find_first_of(";\n\r") == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

std::string parse_values(Options& o, const std::string& max_unhealthy, const std::string& fleet_budget,
                         const std::string& max_status_age) {
    auto limit = fleet::parse_unhealthy_limit(max_unhealthy);
    if (!limit)
        return "--max-unhealthy expects N or P% (such as 1 or 25%), got '" + printable(max_unhealthy, 40) + "'";
    o.max_unhealthy = *limit;
    auto b = fleet::parse_budget(fleet_budget);
    if (!b) return "--fleet-budget expects N/WINDOW (such as 10/1h), got '" + printable(fleet_budget, 40) + "'";
    o.fleet_budget = *b;
    if (!parse_duration(max_status_age, 86400, o.max_status_age))
        return "--max-status-age expects a duration such as 60s, got '" + printable(max_status_age, 40) + "'";
    return {};
}

std::optional<Event> parse_event(const std::vector<std::string>& args, Options& o, std::string& ignored) {
    ignored.clear();
    if (args.size() != 5) {
        ignored = "expected 5 arguments (STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE), got " + std::to_string(args.size());
        return std::nullopt;
    }
    const auto state = plugin::parse_state_word(args[0]);
    const auto type = parse_state_type(args[1]);
    unsigned long long attempt = 0;
    if (!state) ignored = "bad state '" + printable(args[0], 40) + "'";
    else if (!type) ignored = "bad state type '" + printable(args[1], 40) + "'";
    else if (!parse_uint(args[2], 0, 1000000, attempt)) ignored = "bad attempt '" + printable(args[2], 40) + "'";
    if (!ignored.empty()) return std::nullopt;
    Event e{*state, *type, static_cast<unsigned>(attempt), args[3], args[4]};
    if (e.address.empty() || e.address.front() == '-' ||
        e.address.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:_-") !=
            std::string::npos) {
        ignored = "bad host address '" + printable(e.address, 80) + "'";
        return std::nullopt;
    }
    if (!is_valid_service_name(e.service)) {
        ignored = "bad service name '" + printable(e.service, 80) + "'";
        return std::nullopt;
    }
    // Nagios leaves the macro of a custom variable a host does not define as it is ("$_HOSTHEAL_NAME$",
    // or "$" once a shell has read it): no certificate name has a '$', so it means "not given".
    if (o.server_name.find('$') != std::string::npos) o.server_name.clear();
    for (const auto* s : {&o.nagios_host, &o.nagios_service, &o.server_name})
        if (!name_ok_for_nagios(*s)) {
            ignored = "';' or a newline in a Nagios host or service name";
            return std::nullopt;
        }
    return e;
}

CommandLine parse_command_line(int argc, const char* const* argv) {
    CommandLine c;
    Options& o = c.o;
    std::string unhealthy = "25%", budget = "10/1h", status_age = "60s";
    CLI::App app{"heal-event-handler - Nagios event handler that heals a service through heal-listener, "
                 "behind a fleet guard"};
    app.set_help_flag("-h,--help", "print this help and exit");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // as getopt
    app.set_version_flag("-V,--version", std::string("heal-event-handler ") + HEAL_VERSION);
    app.add_option("--attempt", o.attempt, "act from this SOFT attempt on (default 2)")->check(CLI::Range(1u, 100u));
    app.add_flag("--on-warning", o.on_warning, "also act on WARNING");
    app.add_option("--verb", o.verb, "start, stop or restart (default restart)")
        ->check(CLI::IsMember({"start", "stop", "restart"}));
    app.add_option("--client-config", o.client_config,
                   "heal-ctl client configuration: certificate, key, CA, port "
                   "(default /etc/heal/heal-ctl.ini)");
    app.add_option("--timeout", o.timeout,
                   "seconds for the listener's answer (default 25; keep below Nagios' "
                   "event_handler_timeout, 30)")
        ->check(CLI::Range(0.1, 3600.0));
    auto* cfg_opt = app.add_option("--nagios-cfg", c.nagios_cfg,
                                   "Nagios' main configuration: where its status, objects and command "
                                   "files are (default /etc/nagios4/nagios.cfg)");
    auto* command_opt = app.add_option("--command-file", o.command_file,
                                       "Nagios command file (default: nagios.cfg's command_file)");
    app.add_option("--nagios-host,--host-name", o.nagios_host,
                   "$HOSTNAME$ (Icinga 2: $host.name$): for comments and pages, the problem memory and the "
                   "fleet (default HOSTADDRESS)");
    app.add_option("--nagios-service", o.nagios_service,
                   "$SERVICEDESC$: for Nagios commands and the fleet group (default SERVICE)");
    app.add_option("--server-name", o.server_name,
                   "name the listener's certificate must carry, e.g. \"$_HOSTHEAL_NAME$\" "
                   "(default, also when empty: --nagios-host, else HOSTADDRESS)");
    app.add_option("--state-dir", o.state_dir,
                   "problems decided and fleet heals, shared by every handler "
                   "(default /var/lib/heal-event-handler)");
    app.add_option("--store-conninfo", o.store_conninfo,
                   "keep problems and fleet heals in PostgreSQL, shared with other monitoring servers: FILE "
                   "holds the libpq conninfo (not readable by others; default: SQLite in --state-dir)");
    app.add_option("--log", o.log_file, "log decisions to FILE (default: syslog)");
    auto* status_opt = app.add_option("--status-file", o.status_file,
                                      "Nagios' status data (default: nagios.cfg's status_file)");
    auto* objects_opt = app.add_option("--objects-file", o.objects_file,
                                       "Nagios' objects cache: who the fleet group is (default: nagios.cfg's "
                                       "object_cache_file)");
    app.add_option("--servicegroup", o.servicegroup,
                   "the fleet group is this service group (default: every service with the same "
                   "description)");
    app.add_option("--max-unhealthy", unhealthy,
                   "block when more of the group than N or P% is not OK, never fewer than 1 "
                   "(default 25%)");
    app.add_option("--max-status-age", status_age,
                   "block when the status file is older (default 60s)");
    app.add_option("--fleet-budget", budget,
                   "at most N heals per WINDOW across all hosts and services (default 10/1h)");
    app.add_option("--fleet-concurrency", o.fleet_concurrency, "at most N heals at once (default 2)")
        ->check(CLI::Range(1u, 1000u));
    app.add_flag("--dry-run", o.dry_run, "decide, log and comment, act on nothing (pages become comments)");
    app.add_flag("--heal-in-downtime", o.heal_in_downtime,
                 "heal a service in scheduled downtime, or on a host in one (default: hold, and say so once)");
    app.add_flag("--heal-acknowledged", o.heal_acknowledged,
                 "heal a problem a human has acknowledged (default: hold, and say so once)");
    std::string service_downtime, host_downtime;
    auto* sd_opt = app.add_option("--service-downtime", service_downtime,
                                  "$SERVICEDOWNTIME$: the service's downtimes in effect, live at the event "
                                  "(default: status.dat's, as old as its last write)");
    auto* hd_opt = app.add_option("--host-downtime", host_downtime,
                                  "$HOSTDOWNTIME$: the host's downtimes in effect, live at the event "
                                  "(default: status.dat's)");
    icinga2::Api& icinga = c.icinga;
    auto* icinga_opt = app.add_option("--icinga2-url", icinga.url,
                                      "Icinga 2 mode: its REST API, https://HOST:5665 (Nagios' files and "
                                      "command pipe are then not used)");
    app.add_option("--icinga2-ca", icinga.ca, "Icinga 2's CA certificate (its API certificate is verified)");
    app.add_option("--icinga2-name", icinga.name,
                   "the name Icinga 2's certificate must carry (default: the URL's host)");
    app.add_option("--icinga2-cert", icinga.cert, "client certificate of an ApiUser's client_cn");
    app.add_option("--icinga2-key", icinga.key, "its key");
    app.add_option("--icinga2-user", icinga.user, "or an ApiUser's name ...");
    app.add_option("--icinga2-password-file", icinga.password_file,
                   "... and a file holding its password (never a password on the command line)");
    app.add_option("--icinga2-filter", icinga.filter,
                   "the fleet group as an Icinga 2 filter expression (default: every service with this "
                   "name, or --servicegroup)");
    app.add_option("--icinga2-timeout", icinga.timeout, "seconds for each API call (default 10)")
        ->check(CLI::Range(0.1, 300.0));
    app.add_flag("--check", c.check,
                 "print the files, folders and certificate name this command line would use, whether "
                 "each is usable by this user, and exit (0: all usable, 1: a problem); ARGS optional");
    app.positionals_at_end();  // "-x" as SERVICE is a bad name, not an option
    app.add_option("ARGS", c.args, "STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        c.exit = app.exit(e);
        return c;
    } catch (const CLI::CallForVersion& e) {
        c.exit = app.exit(e);
        return c;
    } catch (const CLI::ParseError& e) {
        c.error = e.what();
        return c;
    }
    c.error = parse_values(o, unhealthy, budget, status_age);
    // A macro's value from the monitoring: a count, else status.dat's is used (and the log says
    // why); never a reason to refuse the event.
    for (auto [opt, text, out] : {std::tuple{sd_opt, &service_downtime, &o.service_downtime},
                                  {hd_opt, &host_downtime, &o.host_downtime}}) {
        unsigned long long n = 0;
        if (!opt->count()) continue;
        if (parse_uint(*text, 0, 1000000, n)) *out = static_cast<unsigned>(n);
        else c.warnings.push_back(opt->get_name() + " '" + printable(*text, 40) +
                                  "' is not a count (a macro the monitoring did not expand?): status.dat's is used");
    }
    c.use_icinga = icinga_opt->count() > 0;
    if (c.error.empty() && c.use_icinga) c.error = icinga2::check_options(icinga);
    c.cfg_given = cfg_opt->count() > 0;
    for (auto [opt, flag] : {std::pair{status_opt, &c.status_flag}, {objects_opt, &c.objects_flag},
                             {command_opt, &c.command_flag}})
        if (opt->count()) *flag = opt->get_name();
    return c;
}

nagios::Located locate_files(CommandLine& c) {
    nagios::Located where;
    if (c.use_icinga) {
        where.source = "not used (--icinga2-url)";
    } else if (c.status_flag.empty() || c.objects_flag.empty() || c.command_flag.empty()) {
        where = nagios::locate(c.nagios_cfg, c.cfg_given);
        if (c.status_flag.empty()) c.o.status_file = where.paths.status_file;
        if (c.objects_flag.empty()) c.o.objects_file = where.paths.objects_file;
        if (c.command_flag.empty()) c.o.command_file = where.paths.command_file;
    } else {
        where.source = "not read (--status-file, --objects-file and --command-file given)";
    }
    return where;
}

SetupFacts setup_facts(const CommandLine& c, const nagios::Located& where) {
    const std::string cfg_from = where.source == c.nagios_cfg ? "from nagios.cfg" : "Debian's default";
    const auto from = [&](const std::string& flag) { return flag.empty() ? cfg_from : flag; };
    const bool event = c.args.size() == 5;
    return SetupFacts{.nagios_cfg = c.nagios_cfg,
                      .where = where,
                      .status_from = from(c.status_flag),
                      .objects_from = from(c.objects_flag),
                      .command_from = from(c.command_flag),
                      .address = event ? c.args[3] : "",
                      .service = event ? c.args[4] : ""};
}

}  // namespace heal::handler
