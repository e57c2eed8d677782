// heal-event-handler --check: what a command line would use (Nagios' files, the state folder,
// the client configuration, the certificate name) and whether this user can use each, so that a
// deployment is proven before the first problem instead of by it.
#pragma once

#include "handler/event_handler.hpp"
#include "handler/nagios_cfg.hpp"

#include <ostream>
#include <string>

namespace heal::handler {

struct SetupFacts {
    std::string nagios_cfg;     ///< the file named (or the default)
    nagios::Located where;      ///< what reading it gave
    std::string status_from, objects_from, command_from;  ///< "nagios.cfg" or the flag
    std::string address, service;  ///< $HOSTADDRESS$ and SERVICE when given, else ""
};

/// One line per item, "ok" or "PROBLEM", then a summary. Returns 0 when every item is usable,
/// 1 otherwise. Reads files and opens the command FIFO's write end without writing to it.
int check_setup(const Options& o, const SetupFacts& facts, std::ostream& out);

}  // namespace heal::handler

namespace heal::icinga2 {
struct Api;
}

namespace heal::handler {

/// The same with Icinga 2's API as the source: the API answers the group's query (with
/// --nagios-service or SERVICE), the password file is private; then the same tail.
int check_icinga2_setup(const Options& o, const icinga2::Api& api, const SetupFacts& facts, std::ostream& out);

}  // namespace heal::handler
