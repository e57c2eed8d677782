// What heal-event-handler read of Nagios' files, kept per generation of those files: Nagios
// rewrites status.dat (a new file, renamed into place) every status_update_interval, and in a
// wide outage thousands of handler runs read the same generation. The first run of a generation
// reads the files and keeps its group's summary (fleet::summarize) and every member's entry
// here; the others read one summary row and one member row. State: STATE_DIR/nagios-view.db
// (SQLite), only the newest generation kept.
#pragma once

#include "fleet/guard.hpp"

#include <chrono>
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

/// One reader per generation: a handler that misses the cache takes this turn (an flock on
/// STATE_DIR/nagios-view.lock) before it reads Nagios' files, and keeps it until it has kept its
/// view; the others wait for the turn and then find that view (a wide outage starts hundreds of
/// handlers on one new status.dat: one reads it). The wait is bounded: past `deadline` the
/// handler reads the files itself, as without the lock; any failure to lock is the same.
class ReadTurn {
public:
    ReadTurn(const std::string& state_dir, std::chrono::steady_clock::time_point deadline);
    ~ReadTurn();
    ReadTurn(const ReadTurn&) = delete;
    ReadTurn& operator=(const ReadTurn&) = delete;
    bool held() const { return held_; }
    double waited_s = 0;  ///< how long it waited for the turn
    std::string warning;  ///< why it does not hold the turn, or ""

private:
    int fd_ = -1;
    bool held_ = false;
};

}  // namespace heal::handler
