#include "fleet_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

namespace heal::fleet {

namespace {

using sqlite::Stmt;

constexpr int schema_version = 1;

// (host, service) is the key as two columns: no joined string, so host "a_b" + service "c"
// and host "a" + service "b_c" are different problems.
constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS problems (
    host       TEXT NOT NULL,
    service    TEXT NOT NULL,
    since_ms   INTEGER NOT NULL,
    decision   TEXT NOT NULL,
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
)";

}  // namespace

sqlite::Db open_state_db(const std::string& state_dir, const std::string& path, int version, const char* schema) {
    if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST)
        throw sqlite::Error("cannot create '" + state_dir + "': " + std::strerror(errno));
    int found = 0;
    sqlite::Db db = sqlite::open(state_dir, path, 0600, found);
    sqlite::ensure_schema(db, found, version, schema, nullptr, "heal-event-handler");
    return db;
}

FleetStore::FleetStore(const std::string& state_dir) : path_(state_dir + "/event-handler.db") {
    try {
        db_ = open_state_db(state_dir, path_, schema_version, schema);
    } catch (const sqlite::Error& e) {
        db_ = sqlite::Db();
        throw sqlite::Error("state store '" + path_ + "': " + e.what());
    }
}

FleetStore::~FleetStore() = default;

Claim FleetStore::claim(const Problem& p, const Limits& limits) {
    sqlite::Transaction t(db_);
    FleetFacts facts;
    {
        Stmt s(db_, "SELECT decision, since_ms FROM problems WHERE host = ? AND service = ?");
        s.bind(1, p.host).bind(2, p.service);
        if (s.step()) {
            facts.earlier = s.text(0);
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
}

void FleetStore::amend(const std::string& host, const std::string& service, const std::string& more) {
    Stmt s(db_, "UPDATE problems SET decision = decision || ? WHERE host = ? AND service = ?");
    s.bind(1, more).bind(2, host).bind(3, service);
    s.step();
}

void FleetStore::finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                        const std::string& request_id) {
    Stmt s(db_, "UPDATE heals SET ended_ms = ?, outcome = ?, request_id = ? WHERE id = ?");
    s.bind(1, now_ms).bind(2, outcome).bind(3, request_id).bind(4, heal_id);
    s.step();
}

std::optional<std::string> FleetStore::close(const std::string& host, const std::string& service) {
    Stmt s(db_, "DELETE FROM problems WHERE host = ? AND service = ? RETURNING decision");
    s.bind(1, host).bind(2, service);
    std::optional<std::string> earlier;
    if (s.step()) earlier = s.text(0);
    while (s.step()) {
    }
    return earlier;
}

}  // namespace heal::fleet
