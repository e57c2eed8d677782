// heal-event-handler's decision and action for one Nagios event: act once per problem, on the
// chosen attempt, only when the fleet guard allows it; tell Nagios what happened (a comment) or
// page a human (a forced custom notification) when a heal fails or a guard blocks it.
#pragma once

#include "fleet_guard.hpp"

#include <string>

namespace heal::handler {

struct Options {
    unsigned attempt = 2;
    bool on_warning = false;
    std::string verb = "restart";
    std::string client_config = "/etc/heal/heal-ctl.ini";
    double timeout = 25;  ///< the listener call; below Nagios' event_handler_timeout (30)
    std::string command_file = "/var/lib/nagios4/rw/nagios.cmd";
    std::string nagios_host, nagios_service, server_name;
    std::string state_dir = "/var/lib/heal/event-handler";
    std::string log_file;  ///< empty: syslog
    // The fleet guard.
    std::string status_file = "/var/lib/nagios4/status.dat";
    std::string objects_file = "/var/lib/nagios4/objects.cache";
    std::string servicegroup;
    fleet::UnhealthyLimit max_unhealthy;
    double max_status_age = 60;
    fleet::Budget fleet_budget;
    unsigned fleet_concurrency = 2;
    bool dry_run = false;
};

/// One event, as Nagios' macros gave it (validated by the caller).
struct Event {
    std::string state, state_type;  ///< OK|WARNING|CRITICAL|UNKNOWN, SOFT|HARD
    unsigned attempt = 0;
    std::string address;  ///< $HOSTADDRESS$: where to connect
    std::string service;  ///< the listener's service name
};

/// Handles the event; logs every decision. Returns the exit code (0: Nagios ignores it).
int handle(const Options& options, const Event& event);

/// Appends to the log file (or syslog when `path` is empty): one line per decision.
void open_log(const std::string& path);
void log_line(const std::string& text);

}  // namespace heal::handler
