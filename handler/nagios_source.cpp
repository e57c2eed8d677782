#include "handler/nagios_source.hpp"

#include "common/clock.hpp"
#include "handler/nagios_command.hpp"
#include "handler/nagios_group.hpp"
#include "handler/status_file.hpp"
#include "handler/view_cache.hpp"
#include "common/text.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>
#include <utility>

namespace heal::handler {

namespace {
constexpr const char* author = "heal";

std::string send(const std::string& file, const char* command, const std::string& host, const std::string& service,
                 const char* options, const std::string& text) {
    return nagios::send_command(file, std::string(command) + ";" + host + ";" + service + ";" + options + author + ";" +
                                          nagios::command_field(text));
}
}  // namespace

fleet::FleetView NagiosFiles::view(const std::string& host, const std::string& desc, bool service_ok) {
    const Options& o = o_;
    fleet::FleetView v;
    if (!config_error_.empty()) {
        v.blocked_by = "cannot use Nagios' configuration: " + config_error_;
        return v;
    }
    const nagios::Group group{desc, o.servicegroup};
    const std::string label = o.servicegroup.empty() ? "'" + desc + "' services"
                                                     : "services in group '" + o.servicegroup + "'";
    // Read once per generation of Nagios' files (view_cache.hpp): the key names both files'
    // identities and the group; names cannot hold a newline.
    const std::string generation = file_identity(o.status_file), objects_id = file_identity(o.objects_file);
    const std::string key = generation.empty() || objects_id.empty()
                                ? std::string()
                                : generation + "\n" + objects_id + "\n" + desc + "\n" + o.servicegroup + "\n" +
                                      (o.servicegroup.empty() ? "" : host);
    ViewCache cache(o.state_dir);
    std::optional<CachedGroup> cached;
    if (!key.empty()) cached = cache.find(key, host, desc);
    if (!cache.warning.empty()) log_line("warning: " + std::exchange(cache.warning, {}));
    // A generation nobody has kept yet: one handler reads it, the others wait for its view
    // (bounded by half the listener's timeout, so that a heal still has its time).
    std::optional<ReadTurn> turn;
    if (!cached && !key.empty()) {
        turn.emplace(o.state_dir, std::chrono::steady_clock::now() + steady_duration(o.timeout / 2));
        if (!turn->warning.empty()) log_line("warning: reading Nagios' files myself: " + turn->warning);
        if (turn->held()) cached = cache.find(key, host, desc);  // kept while this one waited
        if (!cache.warning.empty()) log_line("warning: " + std::exchange(cache.warning, {}));
        if (!cached) log_line("reading Nagios' files for this generation (waited " + seconds_text(turn->waited_s) + ")");
    }
    fleet::GroupSummary summary;
    fleet::MemberEntry handled;
    std::int64_t created = 0;
    if (cached) {
        summary = std::move(cached->summary);
        handled = cached->handled;
        created = cached->created;
    } else {
        // Who the group is comes from what Nagios defines, never from whoever status.dat
        // happens to list: a status file cut short must not shrink the fleet.
        nagios::Members members;
        try {
            members = nagios::read_members_file(o.objects_file, group);
        } catch (const nagios::StatusError& err) {
            v.blocked_by = "cannot read the group's members: " + std::string(err.what());
            return v;
        }
        // With a service group, this service too, for its last OK time.
        const nagios::ServiceFilter keep = [&](const std::string& h, const std::string& s) {
            return o.servicegroup.empty() ? s == desc
                                          : (h == host && s == desc) ||
                                                std::binary_search(members.begin(), members.end(), std::make_pair(h, s));
        };
        nagios::StatusData status;
        try {
            status = nagios::read_status_file(o.status_file, keep);
        } catch (const nagios::StatusError& err) {
            v.blocked_by = "cannot use Nagios' status data: " + std::string(err.what());
            return v;
        }
        const auto all = nagios::entries(members, status);
        summary = fleet::summarize(all);
        handled = fleet::entry_of(all, host, desc);
        created = status.created;
        // Kept only when both files are still the ones named in the key (not replaced meanwhile).
        if (!key.empty() && file_identity(o.status_file) == generation && file_identity(o.objects_file) == objects_id) {
            cache.keep(generation, key, created, summary, all);
            if (!cache.warning.empty()) log_line("warning: " + std::exchange(cache.warning, {}));
        }
    }
    v.last_ok = handled.last_ok;
    v.human = handled;
    const std::int64_t now = std::time(nullptr);
    const double age = static_cast<double>(now - created);
    if (age > o.max_status_age || age < -o.max_status_age) {
        v.blocked_by = "Nagios' status file '" + o.status_file + "' was written " +
                       format_duration(std::fabs(age)) + (age < 0 ? " in the future" : " ago") +
                       " (--max-status-age " + format_duration(o.max_status_age) +
                       "): is Nagios running?";
        return v;
    }
    fleet::FleetView judged = fleet::judge(o.max_unhealthy, fleet::health(summary, handled, host, desc, service_ok), handled.last_ok,
                             label, "Nagios' status file '" + o.status_file + "'");
    judged.human = handled;
    return judged;
}

std::string NagiosCommands::comment(const std::string& host, const std::string& service, const std::string& text) {
    return send(file_, "ADD_SVC_COMMENT", host, service, "1;", text);  // persistent
}

std::string NagiosCommands::page(const std::string& host, const std::string& service, const std::string& text) {
    return send(file_, "SEND_CUSTOM_SVC_NOTIFICATION", host, service, "2;", text);  // 2 = forced
}

}  // namespace heal::handler
