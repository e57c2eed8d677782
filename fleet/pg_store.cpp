#include "fleet/pg_store.hpp"

#include "common/small_file.hpp"
#include "common/text.hpp"
#include "fleet/libpq.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace heal::fleet {

namespace {

// 1: the tables of SQLite's schema 4, in the schema "heal".
constexpr int schema_version = 1;
/// The one advisory lock every deciding transaction takes (any constant; "heal" in ASCII).
constexpr const char* claim_lock = "SELECT pg_advisory_xact_lock(1751474540)";
constexpr std::size_t max_conninfo_bytes = 4096;
constexpr std::int64_t closed_episode_kept_ms = 7LL * 86400 * 1000;  // as SQLite's (fleet/sqlite_store.cpp)
constexpr std::int64_t stale_episode_ms = 12LL * 3600 * 1000;

constexpr const char* schema = R"(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
    host       TEXT NOT NULL,
    service    TEXT NOT NULL,
    since_ms   BIGINT NOT NULL,
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
    id          BIGSERIAL PRIMARY KEY,
    host        TEXT NOT NULL,
    service     TEXT NOT NULL,
    started_ms  BIGINT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    ended_ms    BIGINT,
    outcome     TEXT,
    request_id  TEXT
);
CREATE INDEX IF NOT EXISTS heals_by_start ON heals (started_ms);
CREATE TABLE IF NOT EXISTS episodes (
    fingerprint TEXT NOT NULL,
    starts_at   TEXT NOT NULL,
    host        TEXT NOT NULL,
    service     TEXT NOT NULL,
    open        BOOLEAN NOT NULL,
    seen_ms     BIGINT NOT NULL,
    PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX IF NOT EXISTS episodes_by_problem ON episodes (host, service, open);
CREATE TABLE IF NOT EXISTS holds (
    host     TEXT NOT NULL,
    service  TEXT NOT NULL,
    since_ms BIGINT NOT NULL,
    why      TEXT NOT NULL,
    events   INTEGER NOT NULL,
    PRIMARY KEY (host, service)
);
)";
const char* const tables[] = {"schema_version", "problems", "heals", "episodes", "holds"};

constexpr const char* problem_columns =
    "decision, coalesce(outcome, ''), coalesce(page, ''), coalesce(page_guard, ''), coalesce(page_service, ''), "
    "coalesce(page_route, ''), coalesce(page_fingerprint, ''), coalesce(page_sentence, ''), coalesce(page_request, '')";

std::string n(std::int64_t v) { return std::to_string(v); }

/// libpq's messages end in a newline and may run over several lines.
std::string one_line(const char* message) {
    std::string s = message ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    for (char& c : s)
        if (c == '\n') c = ' ';
    return printable(s, 400);
}

/// What the conninfo (with libpq's environment defaults) says about how the server is reached:
/// "" when it is safe, else why not. A TCP connection must verify the server's certificate and
/// name (sslmode=verify-full), as every other connection heal makes does.
std::string unsafe_transport(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* opts = pq().PQconninfoParse(conninfo.c_str(), &err);
    if (!opts) {
        // libpq's words quote the text it could not parse, which may be a password: not repeated.
        if (err) pq().PQfreemem(err);
        return "not a libpq conninfo (key=value pairs, values with blanks in single quotes); libpq's message is "
               "not repeated here: it may quote the password";
    }
    std::string host, hostaddr, sslmode;
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
        const std::string k = o->keyword, v = o->val ? o->val : "";
        if (k == "host") host = v;
        else if (k == "hostaddr") hostaddr = v;
        else if (k == "sslmode") sslmode = v;
    }
    pq().PQconninfoFree(opts);
    if (host.empty() && std::getenv("PGHOST")) host = std::getenv("PGHOST");
    if (sslmode.empty() && std::getenv("PGSSLMODE")) sslmode = std::getenv("PGSSLMODE");
    if (sslmode.empty()) sslmode = "prefer";
    const bool socket = hostaddr.empty() && (host.empty() || host[0] == '/' || host[0] == '@');
    if (socket || sslmode == "verify-full") return "";
    return "sslmode=" + sslmode + " does not verify the server's certificate and name: the fleet store is reached "
           "over TCP only with sslmode=verify-full (and sslrootcert), or over a Unix socket (host=/run/postgresql)";
}

}  // namespace

class PgStore::Result {
public:
    explicit Result(PGresult* r) : r_(r) {}
    ~Result() {
        if (r_) pq().PQclear(r_);
    }
    Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    int rows() const { return pq().PQntuples(r_); }
    std::string text(int row, int col) const { return pq().PQgetisnull(r_, row, col) ? "" : pq().PQgetvalue(r_, row, col); }
    std::int64_t i64(int row, int col) const { return std::strtoll(pq().PQgetvalue(r_, row, col), nullptr, 10); }
    bool yes(int row, int col) const { return text(row, col) == "t"; }
    std::int64_t affected() const { return std::strtoll(pq().PQcmdTuples(r_), nullptr, 10); }
    OpenProblem problem(int row, std::string host, std::string service) const {
        OpenProblem o;
        o.decision = text(row, 0);
        o.outcome = text(row, 1);
        o.page = {text(row, 2), text(row, 3), text(row, 4), text(row, 5), text(row, 6), text(row, 7), text(row, 8)};
        o.host = std::move(host);
        o.service = std::move(service);
        return o;
    }

private:
    PGresult* r_;
};

std::string read_conninfo(const std::string& path) {
    std::string text;
    if (auto err = read_small_file(path, max_conninfo_bytes, text); !err.empty())
        throw StoreError("fleet store conninfo '" + path + "': " + err);
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
        throw StoreError("fleet store conninfo '" + path + "': readable or writable by every user (it may hold a "
                         "password): chmod o-rw it");
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        out += (out.empty() ? "" : " ") + line.substr(first);
    }
    if (out.empty()) throw StoreError("fleet store conninfo '" + path + "': empty (expected e.g. host=db.example.org "
                                      "dbname=heal user=heal sslmode=verify-full sslrootcert=/etc/heal/db-ca.crt)");
    return out;
}

template <class F>
auto PgStore::deciding(F&& f) -> decltype(f()) {
    exec("BEGIN");
    try {
        exec(claim_lock);
        auto result = f();
        exec("COMMIT");
        return result;
    } catch (...) {
        rollback();
        throw;
    }
}

PgStore::PgStore(const std::string& conninfo_file) : where_("fleet store (PostgreSQL, " + conninfo_file + ")") {
    const std::string conninfo = read_conninfo(conninfo_file);
    if (auto why = unsafe_transport(conninfo); !why.empty()) throw StoreError(where_ + ": " + why);
    // Defaults first; what the file says wins (expand_dbname).
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"5", "heal", conninfo.c_str(), nullptr};
    conn_ = pq().PQconnectdbParams(keys, values, 1);
    if (!conn_ || pq().PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = conn_ ? one_line(pq().PQerrorMessage(conn_)) : "out of memory";
        pq().PQfinish(conn_);
        conn_ = nullptr;
        throw StoreError(where_ + ": cannot connect: " + why);
    }
    where_ = "fleet store (PostgreSQL " + std::string(pq().PQhost(conn_)) + ":" + pq().PQport(conn_) + ", database " +
             pq().PQdb(conn_) + ", role " + pq().PQuser(conn_) + ")";
    try {
        exec("SET statement_timeout = '5s'; SET lock_timeout = '5s'; SET search_path = heal");
        if (exec("SELECT 1 FROM pg_namespace WHERE nspname = 'heal'").rows() == 0)
            throw StoreError(where_ + ": the schema heal does not exist: as the database's owner, CREATE SCHEMA heal "
                             "AUTHORIZATION " + std::string(pq().PQuser(conn_)));
        auto found = [&] {
            if (exec("SELECT to_regclass('heal.schema_version') IS NOT NULL").text(0, 0) != "t") return 0;
            auto r = exec("SELECT coalesce(max(version), 0) FROM schema_version");
            return static_cast<int>(r.i64(0, 0));
        };
        int version = found();
        if (version < schema_version)
            version = deciding([&] {  // one decider creates the tables; the others wait and find them
                if (const int now = found(); now >= schema_version) return now;
                exec(schema);
                exec("DELETE FROM schema_version");
                exec("INSERT INTO schema_version (version) VALUES ($1)", {n(schema_version)});
                return schema_version;
            });
        if (version > schema_version)
            throw StoreError(where_ + ": its schema is version " + std::to_string(version) + ", newer than this heal's (" +
                             std::to_string(schema_version) + "): upgrade heal on every decider");
    } catch (...) {
        pq().PQfinish(conn_);
        conn_ = nullptr;
        throw;
    }
}

PgStore::~PgStore() {
    if (conn_) pq().PQfinish(conn_);
}

PgStore::Result PgStore::exec(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = params.empty() ? pq().PQexec(conn_, sql.c_str())
                                 : pq().PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                                values.data(), nullptr, nullptr, 0);
    Result res(r);
    const auto status = pq().PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw StoreError(where_ + ": " + one_line(r ? pq().PQresultErrorMessage(r) : pq().PQerrorMessage(conn_)));
    return res;
}

void PgStore::rollback() noexcept {
    if (conn_ && pq().PQtransactionStatus(conn_) != PQTRANS_IDLE) pq().PQclear(pq().PQexec(conn_, "ROLLBACK"));
}

Claim PgStore::claim(const Problem& p, const Limits& limits) {
    return deciding([&] {
        FleetFacts facts;
        if (auto r = exec("SELECT decision, since_ms, coalesce(outcome, '') FROM problems WHERE host = $1 AND service = $2",
                          {p.host, p.service});
            r.rows() > 0) {
            facts.earlier = OpenProblem{.decision = r.text(0, 0), .outcome = r.text(0, 2)}.said();
            facts.earlier_ms = r.i64(0, 1);
        }
        facts.heals_in_window = static_cast<unsigned>(
            exec("SELECT count(*) FROM heals WHERE started_ms > $1", {n(p.now_ms - limits.window_ms)}).i64(0, 0));
        facts.in_flight = static_cast<unsigned>(
            exec("SELECT count(*) FROM heals WHERE ended_ms IS NULL AND deadline_ms > $1", {n(p.now_ms)}).i64(0, 0));
        std::string remembered;
        Claim c = fleet_verdict(facts, p, limits, remembered);
        if (!remembered.empty()) {
            if (c.kind == Claim::Kind::heal)
                c.heal_id = exec("INSERT INTO heals (host, service, started_ms, deadline_ms) VALUES ($1, $2, $3, $4) "
                                 "RETURNING id",
                                 {p.host, p.service, n(p.now_ms), n(p.deadline_ms)})
                                .i64(0, 0);
            exec("INSERT INTO problems (host, service, since_ms, decision) VALUES ($1, $2, $3, $4) "
                 "ON CONFLICT (host, service) DO UPDATE SET since_ms = excluded.since_ms, decision = excluded.decision, "
                 "outcome = NULL, page = NULL, page_guard = NULL, page_service = NULL, page_route = NULL, "
                 "page_fingerprint = NULL, page_sentence = NULL, page_request = NULL",
                 {p.host, p.service, n(p.now_ms), remembered});
            exec("DELETE FROM heals WHERE started_ms < $1 AND ended_ms IS NOT NULL",
                 {n(p.now_ms - std::max<std::int64_t>(limits.window_ms, 7LL * 86400 * 1000))});
        }
        return c;
    });
}

void PgStore::set_outcome(const std::string& host, const std::string& service, const std::string& outcome) {
    exec("UPDATE problems SET outcome = $1 WHERE host = $2 AND service = $3", {outcome, host, service});
}

void PgStore::set_page(const std::string& host, const std::string& service, const StoredPage& p) {
    exec("UPDATE problems SET page = $1, page_guard = $2, page_service = $3, page_route = $4, page_fingerprint = $5, "
         "page_sentence = $6, page_request = $7 WHERE host = $8 AND service = $9",
         {p.name, p.guard, p.service, p.route, p.fingerprint, p.sentence, p.request_id, host, service});
}

std::optional<OpenProblem> PgStore::open_problem(const std::string& host, const std::string& service) {
    auto r = exec(std::string("SELECT ") + problem_columns + " FROM problems WHERE host = $1 AND service = $2",
                  {host, service});
    if (r.rows() == 0) return std::nullopt;
    return r.problem(0, host, service);
}

std::vector<OpenProblem> PgStore::paged_problems() {
    auto r = exec(std::string("SELECT ") + problem_columns +
                  ", host, service FROM problems WHERE coalesce(page, '') != '' ORDER BY host, service");
    std::vector<OpenProblem> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.problem(i, r.text(i, 9), r.text(i, 10)));
    return out;
}

Episode PgStore::episode_fires(const std::string& fingerprint, const std::string& starts_at, std::int64_t starts_ms,
                               const std::string& host, const std::string& service, std::int64_t now_ms) {
    return deciding([&] {
        Episode e;
        if (auto r = exec("SELECT open FROM episodes WHERE fingerprint = $1 AND starts_at = $2", {fingerprint, starts_at});
            r.rows() > 0 && !r.yes(0, 0)) {
            e.closed_before = true;
            return e;
        }
        // The same alert in another episode still open (fleet/store.hpp): ended when this one
        // began after it was last seen firing, else overlapping (the same outage, stamped apart).
        auto ended = exec("UPDATE episodes SET open = false, seen_ms = $1 WHERE fingerprint = $2 AND starts_at != $3 "
                          "AND open AND seen_ms < $4 RETURNING host, service",
                          {n(now_ms), fingerprint, starts_at, n(starts_ms)});
        for (int i = 0; i < ended.rows(); ++i)
            if (auto p = close_if_unjoined(ended.text(i, 0), ended.text(i, 1))) e.ended.push_back(std::move(*p));
        if (exec("UPDATE episodes SET open = false WHERE host = $1 AND service = $2 AND open AND seen_ms < $3 "
                 "AND NOT (fingerprint = $4 AND starts_at = $5)",
                 {host, service, n(now_ms - stale_episode_ms), fingerprint, starts_at})
                .affected() > 0)
            if (auto p = close_if_unjoined(host, service)) e.ended.push_back(std::move(*p));
        exec("INSERT INTO episodes (fingerprint, starts_at, host, service, open, seen_ms) VALUES ($1, $2, $3, $4, true, $5) "
             "ON CONFLICT (fingerprint, starts_at) DO UPDATE SET seen_ms = excluded.seen_ms",
             {fingerprint, starts_at, host, service, n(now_ms)});
        exec("DELETE FROM episodes WHERE NOT open AND seen_ms < $1", {n(now_ms - closed_episode_kept_ms)});
        return e;
    });
}

Resolution PgStore::episode_resolves(const std::string& fingerprint, const std::string& starts_at,
                                     const std::string& host, const std::string& service, std::int64_t now_ms) {
    return deciding([&] {
        exec("INSERT INTO episodes (fingerprint, starts_at, host, service, open, seen_ms) VALUES ($1, $2, $3, $4, false, $5) "
             "ON CONFLICT (fingerprint, starts_at) DO UPDATE SET open = false, seen_ms = excluded.seen_ms",
             {fingerprint, starts_at, host, service, n(now_ms)});
        Resolution r;
        r.closed = close_if_unjoined(host, service);
        if (!r.closed)
            r.still_open_by = static_cast<unsigned>(
                exec("SELECT count(*) FROM episodes WHERE host = $1 AND service = $2 AND open", {host, service}).i64(0, 0));
        return r;
    });
}

std::optional<OpenProblem> PgStore::close_if_unjoined(const std::string& host, const std::string& service) {
    if (exec("SELECT 1 FROM episodes WHERE host = $1 AND service = $2 AND open LIMIT 1", {host, service}).rows() > 0)
        return std::nullopt;
    auto r = exec(std::string("DELETE FROM problems WHERE host = $1 AND service = $2 RETURNING ") + problem_columns,
                  {host, service});
    if (r.rows() == 0) return std::nullopt;
    return r.problem(0, host, service);
}

void PgStore::finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                     const std::string& request_id) {
    exec("UPDATE heals SET ended_ms = $1, outcome = $2, request_id = $3 WHERE id = $4",
         {n(now_ms), outcome, request_id, n(heal_id)});
}

unsigned PgStore::note_hold(const std::string& host, const std::string& service, const std::string& why,
                            std::int64_t now_ms, std::int64_t last_ok_ms) {
    return deciding([&] {
        exec("DELETE FROM holds WHERE host = $1 AND service = $2 AND since_ms < $3", {host, service, n(last_ok_ms)});
        auto r = exec("INSERT INTO holds (host, service, since_ms, why, events) VALUES ($1, $2, $3, $4, 1) "
                      "ON CONFLICT (host, service) DO UPDATE SET events = holds.events + 1 RETURNING events",
                      {host, service, n(now_ms), why});
        const unsigned events = r.rows() > 0 ? static_cast<unsigned>(r.i64(0, 0)) : 1;
        return events;
    });
}

std::optional<std::string> PgStore::close(const std::string& host, const std::string& service) {
    return deciding([&]() -> std::optional<std::string> {
        exec("DELETE FROM holds WHERE host = $1 AND service = $2", {host, service});
        auto r = exec("DELETE FROM problems WHERE host = $1 AND service = $2 RETURNING decision, coalesce(outcome, '')",
                      {host, service});
        if (r.rows() == 0) return std::nullopt;
        return OpenProblem{.decision = r.text(0, 0), .outcome = r.text(0, 1)}.said();
    });
}

std::vector<std::pair<bool, std::string>> PgStore::check() {
    std::vector<std::pair<bool, std::string>> out;
    const char* version = pq().PQparameterStatus(conn_, "server_version");
    const bool tls = pq().PQsslInUse(conn_) == 1;
    out.emplace_back(true, "PostgreSQL " + std::string(version ? version : "?") + " reached, " +
                               (tls ? "TLS " + std::string(pq().PQsslAttribute(conn_, "protocol") ? pq().PQsslAttribute(conn_, "protocol") : "")
                                    : std::string("over a Unix socket")));
    auto role = exec("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user");
    const bool super = role.rows() > 0 && role.yes(0, 0);
    out.emplace_back(!super, std::string("role ") + pq().PQuser(conn_) +
                                 (super ? ": a superuser; give heal a role of its own that owns only the schema heal"
                                        : ": not a superuser"));
    std::string missing;
    for (const char* t : tables)
        // Each right on its own: has_table_privilege with a list says whether any of them is held.
        if (exec("SELECT has_table_privilege(current_user, $1, 'SELECT') AND has_table_privilege(current_user, $1, "
                 "'INSERT') AND has_table_privilege(current_user, $1, 'UPDATE') AND "
                 "has_table_privilege(current_user, $1, 'DELETE')",
                 {std::string("heal.") + t}).text(0, 0) != "t")
            missing += std::string(missing.empty() ? "" : ", ") + t;
    if (exec("SELECT has_sequence_privilege(current_user, 'heal.heals_id_seq', 'USAGE')").text(0, 0) != "t")
        missing += std::string(missing.empty() ? "" : ", ") + "heals_id_seq (USAGE)";
    out.emplace_back(missing.empty(), missing.empty()
                                          ? "schema heal version " + std::to_string(schema_version) +
                                                ": the role may read and write every table"
                                          : "schema heal: the role lacks SELECT, INSERT, UPDATE or DELETE on " + missing);
    return out;
}

}  // namespace heal::fleet
