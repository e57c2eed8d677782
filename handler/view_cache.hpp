// What heal-event-handler read of Nagios' files, kept per generation of those files: Nagios
// rewrites status.dat (a new file, renamed into place) every status_update_interval, and in a
// wide outage thousands of handler runs read the same generation. The first run of a generation
// reads the files and keeps its group's summary (fleet::summarize) and every member's entry
// here; the others read one summary row and one member row. State: STATE_DIR/nagios-view.db
// (SQLite), only the newest generation kept.
#pragma once

#include "fleet_guard.hpp"

#include <optional>
#include <string>

namespace heal::handler {

/// A file's identity: device, inode, size and modification time; "" when it cannot be stat'ed.
std::string file_identity(const std::string& path);

struct CachedGroup {
    fleet::GroupSummary summary;
    fleet::MemberEntry handled;  ///< the asked-for member's entry (not in_group if unknown)
    std::int64_t created = 0;    ///< status.dat's created= time
};

/// Never in the way: every failure (a missing folder, a locked or corrupt file) is a miss, or a
/// store that did not happen, and `warning` says why.
class ViewCache {
public:
    explicit ViewCache(std::string state_dir) : dir_(std::move(state_dir)) {}
    /// `key`: the status file's identity (the generation), the objects file's and the group's.
    std::optional<CachedGroup> find(const std::string& key, const std::string& host, const std::string& service);
    /// Keeps a group as the handler computed it: `created` is status.dat's created= time.
    void keep(const std::string& generation, const std::string& key, std::int64_t created,
              const fleet::GroupSummary& summary, const fleet::Entries& all);
    std::string warning;

private:
    std::string dir_;
};

}  // namespace heal::handler
