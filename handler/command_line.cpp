#include "command_line.hpp"

#include "fleet_guard.hpp"
#include "protocol.hpp"
#include "text.hpp"

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

}  // namespace heal::handler
