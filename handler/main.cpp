// heal-event-handler: Nagios' (or Icinga 2's, --icinga2-url) event handler that heals a service
// through heal-listener, behind a fleet guard. See heal-event-handler(8).
//   heal-event-handler [OPTIONS] $SERVICESTATE$ $SERVICESTATETYPE$ $SERVICEATTEMPT$
//                      $HOSTADDRESS$ SERVICE
//   heal-event-handler --check [OPTIONS] [ARGS]
// Exit 0 for every event (Nagios ignores an event handler's exit code), 1 when a comment or page
// could not reach the monitoring, 3 for a usage error; --check: 0 all usable, 1 a problem.
#include "command_line.hpp"
#include "event_handler.hpp"
#include "icinga2.hpp"
#include "nagios_cfg.hpp"
#include "nagios_source.hpp"
#include "setup_check.hpp"
#include "protocol.hpp"
#include "text.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

using heal::handler::log_line;

/// Nagios discards an event handler's output: a usage error goes to the log too.
int usage_error(const std::string& message) {
    log_line("usage error: " + message);
    std::cerr << "heal-event-handler: " << message << " (see heal-event-handler --help)\n";
    return 3;
}

}  // namespace

int main(int argc, char** argv) {
    heal::handler::Options o;
    std::vector<std::string> args;
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
    std::string nagios_cfg = heal::nagios::debian_nagios_cfg;
    auto* cfg_opt = app.add_option("--nagios-cfg", nagios_cfg,
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
    heal::icinga2::Api icinga;
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
    bool check = false;
    app.add_flag("--check", check,
                 "print the files, folders and certificate name this command line would use, whether "
                 "each is usable by this user, and exit (0: all usable, 1: a problem); ARGS optional");
    app.positionals_at_end();  // "-x" as SERVICE is a bad name, not an option
    app.add_option("ARGS", args, "STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        heal::handler::open_log(o.log_file);
        return usage_error(e.what());
    }
    heal::handler::open_log(o.log_file);
    if (auto err = heal::handler::parse_values(o, unhealthy, budget, status_age); !err.empty()) return usage_error(err);
    const bool use_icinga = icinga_opt->count() > 0;
    if (use_icinga)
        if (auto err = heal::icinga2::check_options(icinga); !err.empty()) return usage_error(err);
    // Nagios' files: the command line wins, then nagios.cfg, then Debian's defaults.
    heal::nagios::Located where;
    if (use_icinga) {
        where.source = "not used (--icinga2-url)";
    } else if (status_opt->count() == 0 || objects_opt->count() == 0 || command_opt->count() == 0) {
        where = heal::nagios::locate(nagios_cfg, cfg_opt->count() > 0);
        if (status_opt->count() == 0) o.status_file = where.paths.status_file;
        if (objects_opt->count() == 0) o.objects_file = where.paths.objects_file;
        if (command_opt->count() == 0) o.command_file = where.paths.command_file;
    } else {
        where.source = "not read (--status-file, --objects-file and --command-file given)";
    }
    if (check) {
        if (!args.empty() && args.size() != 5)
            return usage_error("--check takes no arguments or all 5 (STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE)");
        const std::string cfg_from = where.source == nagios_cfg ? "from nagios.cfg" : "Debian's default";
        const auto from = [&](const CLI::Option* opt) { return opt->count() ? opt->get_name() : cfg_from; };
        heal::handler::SetupFacts facts{.nagios_cfg = nagios_cfg,
                                        .where = where,
                                        .status_from = from(status_opt),
                                        .objects_from = from(objects_opt),
                                        .command_from = from(command_opt),
                                        .address = args.empty() ? "" : args[3],
                                        .service = args.empty() ? "" : args[4]};
        if (use_icinga) return heal::handler::check_icinga2_setup(o, icinga, facts, std::cout);
        return heal::handler::check_setup(o, facts, std::cout);
    }
    if (!where.error.empty()) log_line("cannot use Nagios' configuration: " + where.error);
    if (args.size() != 5)
        return usage_error("expected 5 arguments (STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE), got " +
                           std::to_string(args.size()));
    // Macro contents from Nagios: checked and parsed before they go anywhere, never evaluated.
    std::string ignored;
    const auto event = heal::handler::parse_event(args, o, ignored);
    if (!event) return log_line("ignored: " + ignored), 0;
    const heal::handler::Event& e = *event;
    if (use_icinga) {
        heal::icinga2::Source source(o, icinga);
        heal::icinga2::Notifier notifier(icinga);
        return heal::handler::handle(o, e, source, notifier);
    }
    heal::handler::NagiosFiles source(o, where.error);
    heal::handler::NagiosCommands notifier(o.command_file);
    return heal::handler::handle(o, e, source, notifier);
}
