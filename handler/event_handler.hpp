// heal-event-handler's decision and action for one monitoring event: act once per problem, on
// the chosen attempt, only when the fleet guard allows it; tell the monitoring what happened (a
// comment) or page a human (a forced custom notification) when a heal fails or a guard blocks
// it. Where the fleet's states come from (StatusSource) and how the monitoring is told
// (Notifier) are seams: Nagios' files and command FIFO today (nagios_source.hpp).
#pragma once

#include "fleet/claim.hpp"
#include "fleet/store.hpp"
#include "common/plugin.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace heal::handler {

struct Options {
    unsigned attempt = 2;
    bool on_warning = false;
    std::string verb = "restart";
    std::string client_config = "/etc/heal/heal-ctl.ini";
    double timeout = 25;  ///< the listener call; below Nagios' event_handler_timeout (30)
    std::string command_file;  ///< Nagios' files: the command line, else nagios.cfg (main.cpp)
    std::string nagios_host, nagios_service, server_name;
    std::string state_dir = "/var/lib/heal-event-handler";
    std::string store_conninfo;  ///< set: the fleet store is PostgreSQL, this file its conninfo
    std::string log_file;  ///< empty: syslog
    // The fleet guard.
    std::string status_file, objects_file;
    std::string servicegroup;
    fleet::UnhealthyLimit max_unhealthy;
    double max_status_age = 60;
    fleet::Budget fleet_budget;
    unsigned fleet_concurrency = 2;
    bool dry_run = false;
    // Human intent: a downtime or an acknowledgement holds the heal unless these say otherwise.
    bool heal_in_downtime = false, heal_acknowledged = false;
    /// $SERVICEDOWNTIME$ and $HOSTDOWNTIME$ as Nagios passed them (live at the event); unset:
    /// status.dat's scheduled_downtime_depth (as old as its last write).
    std::optional<unsigned> service_downtime, host_downtime;
};

/// Nagios' service states, as plugins return them (plugin::parse_state_word, state_word).
using State = plugin::State;
enum class StateType { soft, hard };
std::optional<StateType> parse_state_type(std::string_view word);  ///< "SOFT", "HARD"
const char* to_string(StateType t);

/// One event, as the monitoring's macros gave it, parsed at the edge (main.cpp).
struct Event {
    State state = plugin::ok;
    StateType type = StateType::soft;
    unsigned attempt = 0;
    std::string address;  ///< $HOSTADDRESS$: where to connect
    std::string service;  ///< the listener's service name
};

/// The fleet store the options name: PostgreSQL with --store-conninfo, else event-handler.db in
/// --state-dir.
fleet::StoreSpec store_spec(const Options& o);

/// Why a human holds the heal of `service` on `host` ("web on web1 is in scheduled downtime
/// (ops: disk swap)"), or nullopt: the service's or its host's downtime (the event's live
/// depths when given, else the view's), or an acknowledged problem, unless --heal-in-downtime
/// or --heal-acknowledged turn that hold off.
std::optional<std::string> human_hold(const Options& o, const fleet::FleetView& v, const std::string& host,
                                      const std::string& service);

/// Where the fleet's states come from.
class StatusSource {
public:
    virtual ~StatusSource() = default;
    /// The group of (host, service) with the service's own state as the event gave it.
    virtual fleet::FleetView view(const std::string& host, const std::string& service, bool service_ok) = 0;
};

/// How the monitoring hears about it. Both return "" or why they could not tell it.
class Notifier {
public:
    virtual ~Notifier() = default;
    virtual std::string comment(const std::string& host, const std::string& service, const std::string& text) = 0;
    /// A forced notification: a heal that did not happen must reach a human.
    virtual std::string page(const std::string& host, const std::string& service, const std::string& text) = 0;
};

/// Handles the event; logs every decision. Returns the exit code: 0, or 1 when a comment or a
/// page could not reach the monitoring (logged with its text; Nagios ignores the code).
int handle(const Options& options, const Event& event, StatusSource& source, Notifier& notifier);

/// Appends to the log file (or syslog when `path` is empty): one line per decision.
void open_log(const std::string& path);
void log_line(const std::string& text);

}  // namespace heal::handler
