// heal-event-handler: Nagios' (or Icinga 2's, --icinga2-url) event handler that heals a service
// through heal-listener, behind a fleet guard. See heal-event-handler(8).
//   heal-event-handler [OPTIONS] $SERVICESTATE$ $SERVICESTATETYPE$ $SERVICEATTEMPT$
//                      $HOSTADDRESS$ SERVICE
//   heal-event-handler --check [OPTIONS] [ARGS]
// Exit 0 for every event (Nagios ignores an event handler's exit code), 1 when a comment or page
// could not reach the monitoring, 3 for a usage error; --check: 0 all usable, 1 a problem.
#include "handler/command_line.hpp"
#include "handler/event_handler.hpp"
#include "handler/icinga2.hpp"
#include "handler/nagios_cfg.hpp"
#include "handler/nagios_source.hpp"
#include "handler/setup_check.hpp"

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
    auto c = heal::handler::parse_command_line(argc, argv);
    if (c.exit) return *c.exit;
    heal::handler::Options& o = c.o;
    heal::handler::open_log(o.log_file);
    if (!c.error.empty()) return usage_error(c.error);
    for (const auto& warning : c.warnings) log_line("warning: " + warning);
    const auto where = heal::handler::locate_files(c);
    if (c.check) {
        if (!c.args.empty() && c.args.size() != 5)
            return usage_error("--check takes no arguments or all 5 (STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE)");
        const auto facts = heal::handler::setup_facts(c, where);
        if (c.use_icinga) return heal::handler::check_icinga2_setup(o, c.icinga, facts, std::cout);
        return heal::handler::check_setup(o, facts, std::cout);
    }
    if (!where.error.empty()) log_line("cannot use Nagios' configuration: " + where.error);
    if (c.args.size() != 5)
        return usage_error("expected 5 arguments (STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE), got " +
                           std::to_string(c.args.size()));
    // Macro contents from Nagios: checked and parsed before they go anywhere, never evaluated.
    std::string ignored;
    const auto event = heal::handler::parse_event(c.args, o, ignored);
    if (!event) return log_line("ignored: " + ignored), 0;
    if (c.use_icinga) {
        heal::icinga2::Source source(o, c.icinga);
        heal::icinga2::Notifier notifier(c.icinga);
        return heal::handler::handle(o, *event, source, notifier);
    }
    heal::handler::NagiosFiles source(o, where.error);
    heal::handler::NagiosCommands notifier(o.command_file);
    return heal::handler::handle(o, *event, source, notifier);
}
