#include "listener/state_store.hpp"

#include "common/clock.hpp"
#include "common/sqlite.hpp"
#include "common/text.hpp"

#include <algorithm>

#include <sqlite3.h>


namespace heal {

namespace {

using sqlite::Stmt;

std::optional<Hold> holds_of(const std::map<std::string, Hold>& holds, const std::string& service) {
    auto it = holds.find(service);
    return it == holds.end() ? std::nullopt : std::optional<Hold>(it->second);
}

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS actions (
    id         TEXT PRIMARY KEY,
    service    TEXT NOT NULL,
    verb       TEXT NOT NULL,
    client     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    forced     INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    ended_ms   INTEGER,
    outcome    TEXT,
    reason     TEXT,
    pid        INTEGER,
    pid_start  INTEGER,
    verified   INTEGER,
    diagnostics INTEGER NOT NULL DEFAULT 0,
    boot_id    TEXT,
    started_boot_ms INTEGER,
    ended_boot_ms   INTEGER
);
CREATE INDEX IF NOT EXISTS actions_by_service ON actions (service, started_ms);
CREATE INDEX IF NOT EXISTS actions_unended ON actions (service) WHERE ended_ms IS NULL;
CREATE TABLE IF NOT EXISTS refusals (
    id      TEXT PRIMARY KEY,
    at_ms   INTEGER NOT NULL,
    service TEXT NOT NULL,
    verb    TEXT NOT NULL,
    client  TEXT NOT NULL,
    reason  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refusals_by_time ON refusals (at_ms);
CREATE TABLE IF NOT EXISTS services (
    service         TEXT PRIMARY KEY,
    budget_epoch_ms INTEGER NOT NULL DEFAULT 0,
    quarantined_ms  INTEGER,
    quarantine_why  TEXT,
    boot_id         TEXT,
    epoch_boot_ms   INTEGER,
    quarantined_boot_ms INTEGER,
    paused_ms       INTEGER,
    paused_by       TEXT
);
CREATE TABLE IF NOT EXISTS holds (
    service  TEXT PRIMARY KEY,
    since_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL,
    held_by  TEXT NOT NULL,
    reason   TEXT NOT NULL
);
)";

}  // namespace

StateStore::StateStore(const std::string& state_dir) : path_(state_dir + "/heal.db") {
    int version = 0;
    try {
        db_ = sqlite::open(state_dir, path_, 0640, version);
    } catch (const sqlite::Error& e) {
        throw StoreError("state store '" + path_ + "': " + e.what());
    }
    try {
        // An older store keeps its actions; they gain the new columns.
        const std::string v3 =
            "ALTER TABLE actions ADD COLUMN boot_id TEXT;"
            "ALTER TABLE actions ADD COLUMN started_boot_ms INTEGER;"
            "ALTER TABLE actions ADD COLUMN ended_boot_ms INTEGER;"
            "ALTER TABLE services ADD COLUMN boot_id TEXT;"
            "ALTER TABLE services ADD COLUMN epoch_boot_ms INTEGER;"
            "ALTER TABLE services ADD COLUMN quarantined_boot_ms INTEGER;";
        const std::string v4 =
            "ALTER TABLE services ADD COLUMN paused_ms INTEGER;"
            "ALTER TABLE services ADD COLUMN paused_by TEXT;";
        // A pause without an end (schema 4) becomes a hold that ends in 7 days.
        const std::string v5 =
            "CREATE TABLE holds (service TEXT PRIMARY KEY, since_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL, "
            "held_by TEXT NOT NULL, reason TEXT NOT NULL);"
            "INSERT INTO holds SELECT service, paused_ms, " + std::to_string(now_ms() + to_ms(static_cast<double>(max_hold_s))) +
            ", COALESCE(paused_by, ''), 'paused before holds had an end' FROM services WHERE paused_ms IS NOT NULL;"
            "UPDATE services SET paused_ms = NULL, paused_by = NULL;";
        const std::string upgrade =
            version == 1 ? "ALTER TABLE actions ADD COLUMN verified INTEGER;"
                           "ALTER TABLE actions ADD COLUMN diagnostics INTEGER NOT NULL DEFAULT 0;" + v3 + v4 + v5
            : version == 2 ? v3 + v4 + v5
            : version == 3 ? v4 + v5
            : version == 4 ? v5
                           : "";
        sqlite::ensure_schema(db_, version, state_schema_version, schema,
                              upgrade.empty() ? nullptr : upgrade.c_str(), "heal-listener");
        Stmt probe(db_, "SELECT count(*) FROM actions");
        probe.step();
    } catch (const sqlite::Error& e) {
        db_ = sqlite::Db();
        throw StoreError("state store '" + path_ + "': " + e.what());
    }
}

StateStore::~StateStore() = default;

void StateStore::check_integrity() {
    Stmt q(db_, "PRAGMA quick_check");
    if (q.step() && q.text(0) != "ok")
        throw StoreError("state store '" + path_ + "' is damaged: " + q.text(0));
}

GuardState StateStore::guard_state(const std::string& service, std::int64_t since_ms) {
    auto all = summaries(since_ms, service);
    auto it = all.find(service);
    if (it != all.end()) return std::move(it->second);
    GuardState g;
    g.hold_all = holds_of(holds(), "");
    return g;
}

void StateStore::begin(const ActionStart& a) {
    const auto clock = read_clock();
    Stmt s(db_, "INSERT INTO actions (id, service, verb, client, subject, forced, started_ms, pid, "
                "pid_start, boot_id, started_boot_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, a.id).bind(2, a.service).bind(3, std::string(to_string(a.verb))).bind(4, a.client);
    s.bind(5, a.subject).bind(6, std::int64_t{a.forced}).bind(7, a.started_ms);
    s.bind(8, std::int64_t{a.pid}).bind(9, static_cast<std::int64_t>(a.pid_start));
    s.bind(10, clock.boot_id).bind(11, clock.boot_at(a.started_ms));
    s.step();
}

void StateStore::end(const std::string& id, std::int64_t ended_ms, Outcome outcome, Reason reason,
                     std::optional<bool> verified, bool diagnostics) {
    const auto clock = read_clock();
    // The boot clock only when the action began in this boot (one closed as lost after a
    // reboot keeps its wall time alone).
    Stmt s(db_, "UPDATE actions SET ended_ms = ?1, outcome = ?2, reason = ?3, verified = ?4, "
                "diagnostics = ?5, ended_boot_ms = CASE WHEN boot_id = ?7 THEN ?8 END WHERE id = ?6");
    s.bind(1, ended_ms).bind(2, std::string(to_string(outcome)));
    s.bind(3, std::string(to_string(reason)));
    if (verified)
        s.bind(4, std::int64_t{*verified});
    else
        s.bind_null(4);
    s.bind(5, std::int64_t{diagnostics}).bind(6, id).bind(7, clock.boot_id).bind(8, clock.boot_at(ended_ms));
    s.step();
}

void StateStore::refused(const std::string& id, std::int64_t at_ms, const std::string& service,
                         Verb verb, const std::string& client, Reason reason) {
    Stmt s(db_, "INSERT INTO refusals (id, at_ms, service, verb, client, reason) VALUES (?, ?, ?, ?, ?, ?)");
    s.bind(1, id).bind(2, at_ms).bind(3, service).bind(4, std::string(to_string(verb)));
    s.bind(5, client).bind(6, std::string(to_string(reason)));
    s.step();
}

std::vector<ActionCount> StateStore::action_counts() {
    Stmt s(db_, "SELECT service, verb, outcome, count(*) FROM actions WHERE outcome IS NOT NULL "
                "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3");
    std::vector<ActionCount> out;
    while (s.step()) out.push_back({s.text(0), s.text(1), s.text(2), s.i64(3)});
    return out;
}

std::vector<std::pair<std::string, std::int64_t>> StateStore::refusal_counts() {
    Stmt s(db_, "SELECT reason, count(*) FROM refusals GROUP BY 1 ORDER BY 1");
    std::vector<std::pair<std::string, std::int64_t>> out;
    while (s.step()) out.emplace_back(s.text(0), s.i64(1));
    return out;
}

std::vector<DurationBuckets> StateStore::durations(const std::vector<double>& bounds_s) {
    Stmt s(db_, "SELECT service, verb, ended_ms - started_ms FROM actions "
                "WHERE ended_ms IS NOT NULL ORDER BY 1, 2");
    std::vector<DurationBuckets> out;
    while (s.step()) {
        if (out.empty() || out.back().service != s.text(0) || out.back().verb != s.text(1))
            out.push_back({s.text(0), s.text(1), std::vector<std::int64_t>(bounds_s.size()), 0, 0});
        auto& d = out.back();
        const double took = static_cast<double>(s.i64(2)) / 1000.0;
        for (std::size_t i = 0; i < bounds_s.size(); ++i)
            if (took <= bounds_s[i]) ++d.at_most[i];
        ++d.count;
        d.sum_s += took;
    }
    return out;
}

std::map<std::string, GuardState> StateStore::summaries(std::int64_t since_ms,
                                                            const std::string& service) {
    // Every time comes back in the wall frame of this reading, placed by the boot clock when
    // it was recorded in this boot (clock.hpp): a wall clock step moves none of them.
    const auto clock = read_clock();
    // One service's rows come through its index; a filter "?1 = '' OR service = ?1" would
    // scan the whole table (400 days of actions) on every restart.
    const bool one = !service.empty();
    auto opt = [](const Stmt& s, int col) { return s.null(col) ? std::nullopt : std::optional<std::int64_t>(s.i64(col)); };
    std::map<std::string, GuardState> out;
    {
        Stmt s(db_, ("SELECT service, budget_epoch_ms, quarantined_ms, quarantine_why, COALESCE(boot_id, ''), "
                     "epoch_boot_ms, quarantined_boot_ms FROM services" +
                     std::string(one ? " WHERE service = ?1" : ""))
                        .c_str());
        if (one) s.bind(1, service);
        while (s.step()) {
            auto& g = out[s.text(0)];
            const std::string boot = s.text(4);
            g.budget_epoch_ms = clock.wall_of(s.i64(1), boot, opt(s, 5));
            if (!s.null(2)) g.quarantine = Quarantine{clock.wall_of(s.i64(2), boot, opt(s, 6)), s.text(3)};
        }
    }
    {
        // Since `since_ms` by either clock: a wall clock stepped forward must not hide an action.
        Stmt s(db_, ("SELECT service, started_ms, verb, COALESCE(boot_id, ''), started_boot_ms FROM actions WHERE " +
                     std::string(one ? "service = ?2 AND " : "") +
                     "(started_ms >= ?1 OR (boot_id = ?3 AND started_boot_ms >= ?4))")
                        .c_str());
        s.bind(1, since_ms).bind(3, clock.boot_id).bind(4, clock.boot_at(since_ms));
        if (one) s.bind(2, service);
        while (s.step())
            out[s.text(0)].recent.push_back(
                {clock.wall_of(s.i64(1), s.text(3), opt(s, 4)), parse_verb(s.text(2)).value_or(Verb::restart)});
    }
    {
        // The last end of each service: actions of one service never overlap (its lock), so
        // the newest row that ended is the last to end.
        Stmt s(db_, one ? "SELECT service, ended_ms, COALESCE(boot_id, ''), ended_boot_ms FROM actions "
                          "WHERE service = ?1 AND ended_ms IS NOT NULL ORDER BY rowid DESC LIMIT 1"
                        : "SELECT service, ended_ms, COALESCE(boot_id, ''), ended_boot_ms FROM actions "
                          "WHERE rowid IN (SELECT max(rowid) FROM actions WHERE ended_ms IS NOT NULL GROUP BY service)");
        if (one) s.bind(1, service);
        while (s.step()) out[s.text(0)].last_end_ms = clock.wall_of(s.i64(1), s.text(2), opt(s, 3));
    }
    for (const auto& a : unended(service)) out[a.service].running_id = a.id;  // oldest first: the newest stays
    const auto held = holds();
    for (const auto& [name, h] : held)
        if (!name.empty() && (!one || name == service)) out[name].hold = h;
    const auto every = holds_of(held, "");
    for (auto& [name, g] : out) g.hold_all = every;
    for (auto& [name, g] : out)  // decide() counts them oldest first
        std::stable_sort(g.recent.begin(), g.recent.end(),
                         [](const PastAction& x, const PastAction& y) { return x.started_ms < y.started_ms; });
    return out;
}

std::map<std::string, std::int64_t> StateStore::refusals_by_service(std::int64_t since_ms,
                                                                    const std::string& service) {
    Stmt s(db_, ("SELECT service, count(*) FROM refusals WHERE at_ms >= ?1" +
                 std::string(service.empty() ? "" : " AND service = ?2") + " GROUP BY service")
                    .c_str());
    s.bind(1, since_ms);
    if (!service.empty()) s.bind(2, service);
    std::map<std::string, std::int64_t> out;
    while (s.step()) out[s.text(0)] = s.i64(1);
    return out;
}

std::vector<HistoryEntry> StateStore::history(const std::string& service, std::int64_t since_ms,
                                              unsigned limit) {
    Stmt s(db_, "SELECT started_ms, id, client, verb, service, COALESCE(outcome, 'running'), "
                "COALESCE(reason, ''), ended_ms - started_ms, verified, forced, diagnostics "
                "FROM actions WHERE started_ms >= ?1 AND (?2 = '' OR service = ?2) "
                "UNION ALL "
                "SELECT at_ms, id, client, verb, service, 'refused', reason, NULL, NULL, 0, 0 "
                "FROM refusals WHERE at_ms >= ?1 AND (?2 = '' OR service = ?2) "
                "ORDER BY 1 DESC, 2 LIMIT ?3");
    s.bind(1, since_ms).bind(2, service).bind(3, std::int64_t{limit});
    std::vector<HistoryEntry> out;
    while (s.step()) {
        HistoryEntry e;
        e.at_ms = s.i64(0);
        e.id = s.text(1);
        e.client = s.text(2);
        e.verb = s.text(3);
        e.service = s.text(4);
        e.outcome = s.text(5);
        e.reason = s.text(6);
        if (!s.null(7)) e.duration_ms = s.i64(7);
        if (!s.null(8)) e.verified = s.i64(8) != 0;
        e.forced = s.i64(9) != 0;
        e.diagnostics = s.i64(10) != 0;
        out.push_back(std::move(e));
    }
    return out;
}

void StateStore::forget(const std::string& id) {
    Stmt s(db_, "DELETE FROM actions WHERE id = ?");
    s.bind(1, id);
    s.step();
}

void StateStore::quarantine(const std::string& service, const Quarantine& q) {
    const auto clock = read_clock();
    // One boot_id per row: a budget epoch from another boot keeps its wall time alone.
    Stmt s(db_, "INSERT INTO services (service, quarantined_ms, quarantine_why, boot_id, quarantined_boot_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (service) DO UPDATE SET "
                "quarantined_ms = excluded.quarantined_ms, quarantine_why = excluded.quarantine_why, "
                "epoch_boot_ms = CASE WHEN boot_id IS ?4 THEN epoch_boot_ms END, boot_id = ?4, "
                "quarantined_boot_ms = ?5");
    s.bind(1, service).bind(2, q.since_ms).bind(3, q.why).bind(4, clock.boot_id).bind(5, clock.boot_at(q.since_ms));
    s.step();
}

void StateStore::reset(const std::string& service, std::int64_t now_ms) {
    const auto clock = read_clock();
    Stmt s(db_, "INSERT INTO services (service, budget_epoch_ms, boot_id, epoch_boot_ms) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (service) DO UPDATE SET budget_epoch_ms = ?2, boot_id = ?3, epoch_boot_ms = ?4, "
                "quarantined_ms = NULL, quarantine_why = NULL, quarantined_boot_ms = NULL");
    s.bind(1, service).bind(2, now_ms).bind(3, clock.boot_id).bind(4, clock.boot_at(now_ms));
    s.step();
}

std::optional<Hold> StateStore::hold(const Hold& h) {
    auto was = holds_of(holds(), h.service);
    Stmt s(db_, "INSERT OR REPLACE INTO holds (service, since_ms, until_ms, held_by, reason) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, h.service.empty() ? "*" : h.service).bind(2, h.since_ms).bind(3, h.until_ms).bind(4, h.by).bind(5, h.reason);
    s.step();
    return was;
}

std::optional<Hold> StateStore::release(const std::string& service) {
    auto was = holds_of(holds(), service);
    Stmt s(db_, "DELETE FROM holds WHERE service = ?");
    s.bind(1, service.empty() ? "*" : service);
    s.step();
    return was;
}

std::map<std::string, Hold> StateStore::holds() {
    std::map<std::string, Hold> out;
    Stmt s(db_, "SELECT service, since_ms, until_ms, held_by, reason FROM holds");
    while (s.step()) {
        Hold h{s.text(0) == "*" ? "" : s.text(0), s.i64(1), s.i64(2), s.text(3), s.text(4)};
        out[h.service] = h;
    }
    return out;
}

std::optional<ActionStart> StateStore::action(const std::string& id) {
    Stmt s(db_, "SELECT service, verb, started_ms FROM actions WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    ActionStart a;
    a.id = id;
    a.service = s.text(0);
    a.verb = parse_verb(s.text(1)).value_or(Verb::restart);
    a.started_ms = s.i64(2);
    return a;
}

std::vector<ActionStart> StateStore::unended(const std::string& service) {
    Stmt s(db_, "SELECT id, service, verb, client, subject, forced, started_ms, pid, pid_start "
                "FROM actions WHERE ended_ms IS NULL AND (? = '' OR service = ?) "
                "ORDER BY started_ms");
    s.bind(1, service).bind(2, service);
    std::vector<ActionStart> out;
    while (s.step()) {
        ActionStart a;
        a.id = s.text(0);
        a.service = s.text(1);
        a.verb = parse_verb(s.text(2)).value_or(Verb::restart);
        a.client = s.text(3);
        a.subject = s.text(4);
        a.forced = s.i64(5) != 0;
        a.started_ms = s.i64(6);
        a.pid = static_cast<pid_t>(s.i64(7));
        a.pid_start = static_cast<unsigned long long>(s.i64(8));
        out.push_back(std::move(a));
    }
    return out;
}

void StateStore::prune(std::int64_t before_ms) {
    Stmt s(db_, "DELETE FROM actions WHERE ended_ms IS NOT NULL AND ended_ms < ?");
    s.bind(1, before_ms);
    s.step();
    Stmt r(db_, "DELETE FROM refusals WHERE at_ms < ?");
    r.bind(1, before_ms);
    r.step();
}

}  // namespace heal
