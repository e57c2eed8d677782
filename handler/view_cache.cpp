#include "handler/view_cache.hpp"

#include "fleet/sqlite_store.hpp"
#include "common/sqlite.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace heal::handler {

namespace {

// 2: what humans hold (acknowledged, downtime depths, their notes). A cache: an older one is
// dropped, not converted.
constexpr int schema_version = 2;
constexpr const char* drop_version_1 = "DROP TABLE IF EXISTS members; DROP TABLE IF EXISTS views;";
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS views (
    key TEXT PRIMARY KEY,
    generation TEXT NOT NULL,
    created INTEGER NOT NULL,
    size INTEGER NOT NULL,
    not_ok INTEGER NOT NULL,
    without_state INTEGER NOT NULL,
    first_without_state TEXT NOT NULL,   -- up to two names, newline between
    members INTEGER NOT NULL             -- rows kept: a check on a cut-short write
);
CREATE TABLE IF NOT EXISTS members (
    key TEXT NOT NULL,
    host TEXT NOT NULL,
    service TEXT NOT NULL,
    has_state INTEGER NOT NULL,
    not_ok INTEGER NOT NULL,
    last_ok INTEGER NOT NULL,
    acknowledged INTEGER NOT NULL,
    downtime_depth INTEGER NOT NULL,
    host_downtime_depth INTEGER NOT NULL,
    downtime_note TEXT NOT NULL,
    host_downtime_note TEXT NOT NULL,
    ack_note TEXT NOT NULL,
    PRIMARY KEY (key, host, service)
) WITHOUT ROWID;
)";

sqlite::Db open_db(const std::string& dir) {
    return fleet::open_state_db(dir, dir + "/nagios-view.db", schema_version, schema, {{1, drop_version_1}});
}

}  // namespace

std::string file_identity(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

std::optional<CachedGroup> ViewCache::find(const std::string& key, const std::string& host, const std::string& service) {
    try {
        sqlite::Db db = open_db(dir_);
        CachedGroup g;
        {
            sqlite::Stmt s(db, "SELECT created, size, not_ok, without_state, first_without_state FROM views WHERE key = ?");
            s.bind(1, key);
            if (!s.step()) return std::nullopt;
            g.created = s.i64(0);
            const auto count = [&](int col) {
                if (s.i64(col) < 0) throw sqlite::Error("a negative count");
                return static_cast<std::size_t>(s.i64(col));
            };
            g.summary.size = count(1);
            g.summary.not_ok = count(2);
            g.summary.without_state = count(3);
            if (g.summary.not_ok + g.summary.without_state > g.summary.size) throw sqlite::Error("counts over the size");
            std::string names = s.text(4);
            for (std::size_t at = 0; !names.empty() && at != std::string::npos;) {
                const auto nl = names.find('\n', at);
                g.summary.first_without_state.push_back(names.substr(at, nl == std::string::npos ? nl : nl - at));
                at = nl == std::string::npos ? nl : nl + 1;
            }
        }
        sqlite::Stmt s(db, "SELECT has_state, not_ok, last_ok, acknowledged, downtime_depth, host_downtime_depth, "
                           "downtime_note, host_downtime_note, ack_note FROM members WHERE key = ? AND host = ? AND service = ?");
        s.bind(1, key).bind(2, host).bind(3, service);
        if (s.step()) {
            const auto depth = [&](int col) {
                if (s.i64(col) < 0 || s.i64(col) > 1000000) throw sqlite::Error("a downtime depth out of range");
                return static_cast<unsigned>(s.i64(col));
            };
            g.handled = {.in_group = true, .has_state = s.i64(0) != 0, .not_ok = s.i64(1) != 0, .last_ok = s.i64(2),
                         .acknowledged = s.i64(3) != 0, .downtime_depth = depth(4), .host_downtime_depth = depth(5),
                         .downtime_note = s.text(6), .host_downtime_note = s.text(7), .ack_note = s.text(8)};
            if (g.handled.not_ok && !g.handled.has_state) throw sqlite::Error("a member not OK without a state");
        }
        return g;
    } catch (const sqlite::Error& e) {
        warning = "the view cache in '" + dir_ + "' cannot be read (" + e.what() + "); reading Nagios' files";
        return std::nullopt;
    }
}

void ViewCache::keep(const std::string& generation, const std::string& key, std::int64_t created,
                     const fleet::GroupSummary& summary, const fleet::Entries& all) {
    try {
        std::string names;
        for (const auto& n : summary.first_without_state) names += (names.empty() ? "" : "\n") + n;
        sqlite::Db db = open_db(dir_);
        sqlite::Transaction t(db);
        {
            sqlite::Stmt s(db, "SELECT 1 FROM views WHERE key = ?");
            s.bind(1, key);
            if (s.step()) return;  // another handler kept it meanwhile
        }
        // Older generations go: only the newest status file is ever asked about.
        sqlite::Stmt(db, "DELETE FROM members WHERE key IN (SELECT key FROM views WHERE generation <> ?)")
            .bind(1, generation)
            .step();
        sqlite::Stmt(db, "DELETE FROM views WHERE generation <> ?").bind(1, generation).step();
        sqlite::Stmt(db, "INSERT INTO views (key, generation, created, size, not_ok, without_state, "
                         "first_without_state, members) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, key)
            .bind(2, generation)
            .bind(3, created)
            .bind(4, static_cast<std::int64_t>(summary.size))
            .bind(5, static_cast<std::int64_t>(summary.not_ok))
            .bind(6, static_cast<std::int64_t>(summary.without_state))
            .bind(7, names)
            .bind(8, static_cast<std::int64_t>(all.size()))
            .step();
        sqlite::Stmt row(db, "INSERT INTO members (key, host, service, has_state, not_ok, last_ok, acknowledged, "
                             "downtime_depth, host_downtime_depth, downtime_note, host_downtime_note, ack_note) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for (const auto& [name, e] : all) {
            row.bind(1, key).bind(2, name.first).bind(3, name.second);
            row.bind(4, std::int64_t{e.has_state ? 1 : 0}).bind(5, std::int64_t{e.not_ok ? 1 : 0}).bind(6, e.last_ok);
            row.bind(7, std::int64_t{e.acknowledged ? 1 : 0}).bind(8, std::int64_t{e.downtime_depth});
            row.bind(9, std::int64_t{e.host_downtime_depth}).bind(10, e.downtime_note).bind(11, e.host_downtime_note);
            row.bind(12, e.ack_note);
            row.step();
            row.reset();
        }
        t.commit();
    } catch (const sqlite::Error& e) {
        warning = "the view cache in '" + dir_ + "' cannot be written (" + e.what() + ")";
    }
}

ReadTurn::ReadTurn(const std::string& state_dir, std::chrono::steady_clock::time_point deadline) {
    const std::string path = state_dir + "/nagios-view.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd_ < 0) {
        warning = "cannot open '" + path + "' (" + std::strerror(errno) + ")";
        return;
    }
    const auto start = std::chrono::steady_clock::now();
    // Polled, so that the wait has its bound; the reader holds it for about one read.
    for (auto pause = std::chrono::milliseconds(2);; pause = std::min(pause * 2, std::chrono::milliseconds(20))) {
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) {
            held_ = true;
            break;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            warning = "cannot lock '" + path + "' (" + std::strerror(errno) + ")";
            break;
        }
        if (std::chrono::steady_clock::now() + pause > deadline) {
            warning = "another handler's read of this generation took longer than the wait allows";
            break;
        }
        std::this_thread::sleep_for(pause);
    }
    waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ReadTurn::~ReadTurn() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace heal::handler
