// heal-event-handler's command line apart from its main, pure and unit-tested: the option
// values that need parsing (limits, budget, status age), and the event's five macro values as
// Nagios or Icinga 2 passed them, checked before they go anywhere, never evaluated.
#pragma once

#include "handler/event_handler.hpp"
#include "handler/icinga2.hpp"
#include "handler/nagios_cfg.hpp"
#include "handler/setup_check.hpp"

#include <optional>
#include <string>
#include <vector>

namespace heal::handler {

/// The option values given as text, parsed into `o`; "" or the usage error in words.
std::string parse_values(Options& o, const std::string& max_unhealthy, const std::string& fleet_budget,
                         const std::string& max_status_age);

/// STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE into an Event; nullopt with `ignored` saying why
/// (a bad state, type, attempt, address or service name, or ';' or a newline in a Nagios name
/// of `o`, which would forge a command). A "$" in --server-name (a custom variable the host does
/// not define, passed on unexpanded) clears it.
std::optional<Event> parse_event(const std::vector<std::string>& args, Options& o, std::string& ignored);

/// The whole command line (CLI11): the options, Icinga 2's API, the event's words.
struct CommandLine {
    Options o;
    icinga2::Api icinga;
    bool use_icinga = false;  ///< --icinga2-url given
    bool check = false;       ///< --check
    std::vector<std::string> args;
    std::string nagios_cfg = nagios::debian_nagios_cfg;
    bool cfg_given = false;
    /// The flag that named each of Nagios' files ("--status-file"), or "" for nagios.cfg's.
    std::string status_flag, objects_flag, command_flag;
    std::string error;        ///< a usage error in words, or ""
    std::vector<std::string> warnings;  ///< values set aside (an unexpanded macro), for the log
    std::optional<int> exit;  ///< --help or --version: printed, exit with this
};

CommandLine parse_command_line(int argc, const char* const* argv);

/// Nagios' files: the command line wins, then nagios.cfg, then Debian's defaults (into c.o).
nagios::Located locate_files(CommandLine& c);

/// What --check reports about where each file came from.
SetupFacts setup_facts(const CommandLine& c, const nagios::Located& where);

}  // namespace heal::handler
