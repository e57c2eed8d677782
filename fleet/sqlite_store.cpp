#include "fleet/sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

namespace heal::fleet {

namespace {

using sqlite::Stmt;

// 2: a problem's page in its own columns; the receiver's alert episodes. 3: holds. 4: a
// problem's outcome in its own column.
constexpr int schema_version = 4;
constexpr const char* upgrade_from_1 =
    "ALTER TABLE problems ADD COLUMN page TEXT; ALTER TABLE problems ADD COLUMN page_guard TEXT; "
    "ALTER TABLE problems ADD COLUMN page_service TEXT; ALTER TABLE problems ADD COLUMN page_route TEXT; "
    "ALTER TABLE problems ADD COLUMN page_fingerprint TEXT; ALTER TABLE problems ADD COLUMN page_sentence TEXT; "
    "ALTER TABLE problems ADD COLUMN page_request TEXT; ALTER TABLE problems ADD COLUMN outcome TEXT;";
// 2 and 3 lack the outcome column (the holds table of 3 is made by the schema's IF NOT EXISTS).
constexpr const char* upgrade_from_2 = "ALTER TABLE problems ADD COLUMN outcome TEXT;";
constexpr const char* page_columns =
    "coalesce(page, ''), coalesce(page_guard, ''), coalesce(page_service, ''), coalesce(page_route, ''), "
    "coalesce(page_fingerprint, ''), coalesce(page_sentence, ''), coalesce(page_request, '')";

/// A problem's own columns: its decision, its outcome, its page (9 in all).
const std::string problem_columns = std::string("decision, coalesce(outcome, ''), ") + page_columns;

OpenProblem problem_at(sqlite::Stmt& s, std::string host, std::string service) {
    OpenProblem o;
    o.decision = s.text(0);
    o.outcome = s.text(1);
    o.page = {s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7), s.text(8)};
    o.host = std::move(host);
    o.service = std::move(service);
    return o;
}

// (host, service) is the key as two columns: no joined string, so host "a_b" + service "c"
// and host "a" + service "b_c" are different problems.
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS problems (
    host       TEXT NOT NULL,
    service    TEXT NOT NULL,
    since_ms   INTEGER NOT NULL,
    decision   TEXT NOT NULL,
    outcome    TEXT,
    page       TEXT,
    page_guard TEXT,
    page_service TEXT,
    page_route TEXT,
    page_fingerprint TEXT,
    page_sentence TEXT,
    page_request TEXT,
    PRIMARY KEY (host, service)
);
CREATE TABLE IF NOT EXISTS heals (
    id          INTEGER PRIMARY KEY,
    host        TEXT NOT NULL,
    service     TEXT NOT NULL,
    started_ms  INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    ended_ms    INTEGER,
    outcome     TEXT,
    request_id  TEXT
);
CREATE INDEX IF NOT EXISTS heals_by_start ON heals (started_ms);
CREATE TABLE IF NOT EXISTS episodes (
    fingerprint TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    host        TEXT NOT NULL,
    service     TEXT NOT NULL,
    open        INTEGER NOT NULL,
    seen_ms     INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX IF NOT EXISTS episodes_by_problem ON episodes (host, service, open);
CREATE TABLE IF NOT EXISTS holds (
    host     TEXT NOT NULL,
    service  TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    why      TEXT NOT NULL,
    events   INTEGER NOT NULL,
    PRIMARY KEY (host, service)
);
)";

/// Closed episodes are remembered this long, so that a late or repeated firing of one stays
/// closed (Alertmanager retries a notification for minutes, an HA peer may send it hours late).
constexpr std::int64_t closed_episode_kept_ms = 7LL * 86400 * 1000;
/// An open episode not seen firing for this long (three of Alertmanager's default
/// repeat_interval, 4 h) has ended unseen.
constexpr std::int64_t stale_episode_ms = 12LL * 3600 * 1000;

}  // namespace

sqlite::Db open_state_db(const std::string& state_dir, const std::string& path, int version, const char* schema,
                         const std::map<int, const char*>& upgrades) {
    if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw sqlite::Error("cannot create '" + state_dir + "': " + std::strerror(errno));
    int found = 0;
    sqlite::Db db = sqlite::open(state_dir, path, 0600, found);
    const auto up = upgrades.find(found);
    sqlite::ensure_schema(db, found, version, schema, up == upgrades.end() ? nullptr : up->second,
                          "heal");
    return db;
}

SqliteStore::SqliteStore(const std::string& state_dir, const std::string& file_name)
    : path_(state_dir + "/" + file_name) {
    try {
        db_ = open_state_db(state_dir, path_, schema_version, schema,
                            {{1, upgrade_from_1}, {2, upgrade_from_2}, {3, upgrade_from_2}});
    } catch (const sqlite::Error& e) {
        db_ = sqlite::Db();
        throw StoreError(where() + ": " + e.what());
    }
}

SqliteStore::~SqliteStore() = default;

void SqliteStore::fail(const sqlite::Error& e) const { throw StoreError(where() + ": " + e.what()); }

Claim SqliteStore::claim(const Problem& p, const Limits& limits) try {
    sqlite::Transaction t(db_);
    FleetFacts facts;
    {
        Stmt s(db_, "SELECT decision, since_ms, coalesce(outcome, '') FROM problems WHERE host = ? AND service = ?");
        s.bind(1, p.host).bind(2, p.service);
        if (s.step()) {
            facts.earlier = OpenProblem{.decision = s.text(0), .outcome = s.text(2)}.said();
            facts.earlier_ms = s.i64(1);
        }
    }
    {
        Stmt s(db_, "SELECT count(*) FROM heals WHERE started_ms > ?");
        s.bind(1, p.now_ms - limits.window_ms);
        s.step();
        facts.heals_in_window = static_cast<unsigned>(s.i64(0));
    }
    {
        Stmt s(db_, "SELECT count(*) FROM heals WHERE ended_ms IS NULL AND deadline_ms > ?");
        s.bind(1, p.now_ms);
        s.step();
        facts.in_flight = static_cast<unsigned>(s.i64(0));
    }
    std::string remembered;
    Claim c = fleet_verdict(facts, p, limits, remembered);
    if (remembered.empty()) return c;  // already, waiting: rolled back, nothing written
    if (c.kind == Claim::Kind::heal) {
        Stmt s(db_, "INSERT INTO heals (host, service, started_ms, deadline_ms) VALUES (?, ?, ?, ?)");
        s.bind(1, p.host).bind(2, p.service).bind(3, p.now_ms).bind(4, p.deadline_ms);
        s.step();
        c.heal_id = sqlite3_last_insert_rowid(db_);
    }
    {
        Stmt s(db_, "INSERT OR REPLACE INTO problems (host, service, since_ms, decision) VALUES (?, ?, ?, ?)");
        s.bind(1, p.host).bind(2, p.service).bind(3, p.now_ms).bind(4, remembered);
        s.step();
    }
    // Heals older than any window worth keeping; one small delete per decision.
    {
        Stmt s(db_, "DELETE FROM heals WHERE started_ms < ? AND ended_ms IS NOT NULL");
        s.bind(1, p.now_ms - std::max<std::int64_t>(limits.window_ms, 7LL * 86400 * 1000));
        s.step();
    }
    t.commit();
    return c;
} catch (const sqlite::Error& e) {
    fail(e);
}

void SqliteStore::set_outcome(const std::string& host, const std::string& service, const std::string& outcome) try {
    Stmt s(db_, "UPDATE problems SET outcome = ? WHERE host = ? AND service = ?");
    s.bind(1, outcome).bind(2, host).bind(3, service);
    s.step();
} catch (const sqlite::Error& e) {
    fail(e);
}

void SqliteStore::set_page(const std::string& host, const std::string& service, const StoredPage& p) try {
    Stmt s(db_, "UPDATE problems SET page = ?, page_guard = ?, page_service = ?, page_route = ?, page_fingerprint = ?, "
                "page_sentence = ?, page_request = ? WHERE host = ? AND service = ?");
    s.bind(1, p.name).bind(2, p.guard).bind(3, p.service).bind(4, p.route).bind(5, p.fingerprint);
    s.bind(6, p.sentence).bind(7, p.request_id).bind(8, host).bind(9, service);
    s.step();
} catch (const sqlite::Error& e) {
    fail(e);
}

std::optional<OpenProblem> SqliteStore::open_problem(const std::string& host, const std::string& service) try {
    const std::string q = "SELECT " + problem_columns + " FROM problems WHERE host = ? AND service = ?";
    Stmt s(db_, q.c_str());
    s.bind(1, host).bind(2, service);
    if (!s.step()) return std::nullopt;
    return problem_at(s, host, service);
} catch (const sqlite::Error& e) {
    fail(e);
}

std::vector<OpenProblem> SqliteStore::paged_problems() try {
    const std::string q = "SELECT " + problem_columns +
                          ", host, service FROM problems WHERE coalesce(page, '') != '' ORDER BY host, service";
    Stmt s(db_, q.c_str());
    std::vector<OpenProblem> out;
    while (s.step()) out.push_back(problem_at(s, s.text(9), s.text(10)));
    return out;
} catch (const sqlite::Error& e) {
    fail(e);
}

Episode SqliteStore::episode_fires(const std::string& fingerprint, const std::string& starts_at, std::int64_t starts_ms,
                                   const std::string& host, const std::string& service, std::int64_t now_ms) try {
    sqlite::Transaction t(db_);
    Episode e;
    {
        Stmt s(db_, "SELECT open FROM episodes WHERE fingerprint = ? AND starts_at = ?");
        s.bind(1, fingerprint).bind(2, starts_at);
        if (s.step() && s.i64(0) == 0) {
            e.closed_before = true;
            return e;  // rolled back: nothing changes
        }
    }
    // The same alert in another episode still open (fleet/store.hpp): ended when this one
    // began after it was last seen firing, else overlapping (the same outage, stamped apart).
    std::vector<std::pair<std::string, std::string>> ended;
    {
        Stmt s(db_, "UPDATE episodes SET open = 0, seen_ms = ? WHERE fingerprint = ? AND starts_at != ? AND open = 1 "
                    "AND seen_ms < ? RETURNING host, service");
        s.bind(1, now_ms).bind(2, fingerprint).bind(3, starts_at).bind(4, starts_ms);
        while (s.step()) ended.emplace_back(s.text(0), s.text(1));
    }
    for (const auto& [h, sv] : ended)
        if (auto p = close_if_unjoined(h, sv)) e.ended.push_back(std::move(*p));
    // Episodes of this target not seen for stale_episode_ms: their resolution was lost (a firing
    // alert is sent again every repeat_interval, 4 h by default), so they keep the problem open
    // no longer, or the target would never be healed again.
    {
        Stmt s(db_, "UPDATE episodes SET open = 0 WHERE host = ? AND service = ? AND open = 1 AND seen_ms < ? "
                    "AND NOT (fingerprint = ? AND starts_at = ?)");
        s.bind(1, host).bind(2, service).bind(3, now_ms - stale_episode_ms).bind(4, fingerprint).bind(5, starts_at);
        s.step();
        if (sqlite3_changes(db_) > 0)
            if (auto p = close_if_unjoined(host, service)) e.ended.push_back(std::move(*p));
    }
    {
        Stmt s(db_, "INSERT INTO episodes (fingerprint, starts_at, host, service, open, seen_ms) VALUES (?, ?, ?, ?, 1, ?) "
                    "ON CONFLICT (fingerprint, starts_at) DO UPDATE SET seen_ms = excluded.seen_ms");
        s.bind(1, fingerprint).bind(2, starts_at).bind(3, host).bind(4, service).bind(5, now_ms);
        s.step();
    }
    {
        Stmt s(db_, "DELETE FROM episodes WHERE open = 0 AND seen_ms < ?");
        s.bind(1, now_ms - closed_episode_kept_ms);
        s.step();
    }
    t.commit();
    return e;
} catch (const sqlite::Error& e) {
    fail(e);
}

Resolution SqliteStore::episode_resolves(const std::string& fingerprint, const std::string& starts_at,
                                        const std::string& host, const std::string& service, std::int64_t now_ms) try {
    sqlite::Transaction t(db_);
    {
        // Remembered closed even when its firing never came here, so a late firing stays closed.
        Stmt s(db_, "INSERT INTO episodes (fingerprint, starts_at, host, service, open, seen_ms) VALUES (?, ?, ?, ?, 0, ?) "
                    "ON CONFLICT (fingerprint, starts_at) DO UPDATE SET open = 0, seen_ms = excluded.seen_ms");
        s.bind(1, fingerprint).bind(2, starts_at).bind(3, host).bind(4, service).bind(5, now_ms);
        s.step();
    }
    Resolution r;
    r.closed = close_if_unjoined(host, service);
    if (!r.closed) {
        Stmt s(db_, "SELECT count(*) FROM episodes WHERE host = ? AND service = ? AND open = 1");
        s.bind(1, host).bind(2, service);
        s.step();
        r.still_open_by = static_cast<unsigned>(s.i64(0));
    }
    t.commit();
    return r;
} catch (const sqlite::Error& e) {
    fail(e);
}

std::optional<OpenProblem> SqliteStore::close_if_unjoined(const std::string& host, const std::string& service) {
    {
        Stmt s(db_, "SELECT 1 FROM episodes WHERE host = ? AND service = ? AND open = 1");
        s.bind(1, host).bind(2, service);
        if (s.step()) return std::nullopt;
    }
    const std::string q = "DELETE FROM problems WHERE host = ? AND service = ? RETURNING " + problem_columns;
    Stmt s(db_, q.c_str());
    s.bind(1, host).bind(2, service);
    std::optional<OpenProblem> closed;
    if (s.step()) closed = problem_at(s, host, service);
    while (s.step()) {
    }
    return closed;
}

void SqliteStore::finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                        const std::string& request_id) try {
    Stmt s(db_, "UPDATE heals SET ended_ms = ?, outcome = ?, request_id = ? WHERE id = ?");
    s.bind(1, now_ms).bind(2, outcome).bind(3, request_id).bind(4, heal_id);
    s.step();
} catch (const sqlite::Error& e) {
    fail(e);
}

unsigned SqliteStore::note_hold(const std::string& host, const std::string& service, const std::string& why,
                               std::int64_t now_ms, std::int64_t last_ok_ms) try {
    sqlite::Transaction t(db_);
    Stmt(db_, "DELETE FROM holds WHERE host = ? AND service = ? AND since_ms < ?")
        .bind(1, host).bind(2, service).bind(3, last_ok_ms).step();
    Stmt s(db_, "INSERT INTO holds (host, service, since_ms, why, events) VALUES (?1, ?2, ?3, ?4, 1) "
                "ON CONFLICT (host, service) DO UPDATE SET events = events + 1 RETURNING events");
    s.bind(1, host).bind(2, service).bind(3, now_ms).bind(4, why);
    const unsigned events = s.step() ? static_cast<unsigned>(s.i64(0)) : 1;
    while (s.step()) {
    }
    t.commit();
    return events;
} catch (const sqlite::Error& e) {
    fail(e);
}

std::optional<std::string> SqliteStore::close(const std::string& host, const std::string& service) try {
    Stmt(db_, "DELETE FROM holds WHERE host = ? AND service = ?").bind(1, host).bind(2, service).step();
    Stmt s(db_, "DELETE FROM problems WHERE host = ? AND service = ? RETURNING decision, coalesce(outcome, '')");
    s.bind(1, host).bind(2, service);
    std::optional<std::string> earlier;
    if (s.step()) earlier = OpenProblem{.decision = s.text(0), .outcome = s.text(1)}.said();
    while (s.step()) {
    }
    return earlier;
} catch (const sqlite::Error& e) {
    fail(e);
}

}  // namespace heal::fleet
