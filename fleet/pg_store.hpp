// The shared fleet store: PostgreSQL through libpq (loaded at first use: fleet/libpq.hpp), for
// deciders that must decide once between them (two heal-alert-receivers behind a clustered
// Alertmanager pair, two Nagios or Icinga 2 servers). The same tables as SQLite's (fleet/store.hpp), in the schema "heal".
//
// One claim at a time, fleet-wide: every transaction that decides (claim, an episode, a hold)
// first takes one transaction-level advisory lock (pg_advisory_xact_lock), so the reads it
// decides on (this problem decided before? heals in the budget's window? heals in flight?) and
// the rows it writes are one step for every decider. A row lock cannot do that (the budget is a
// count over rows not yet written) and SERIALIZABLE would abort and retry most claims of a wide
// outage; deciding takes milliseconds, so one lock costs nothing.
//
// Bounded: connect_timeout 5 s unless the conninfo says otherwise, statement_timeout and
// lock_timeout 5 s; past them a StoreError, and the decider acts on nothing (it pages).
// The connection's conninfo comes from a file (never a command line); a file others can read
// is refused. The role needs no superuser: its own schema "heal" (CREATE SCHEMA heal
// AUTHORIZATION role), where heal creates and versions its tables (heal.schema_version).
#pragma once

#include "fleet/store.hpp"

#include <memory>
#include <string>
#include <vector>

struct pg_conn;

namespace heal::fleet {

/// The conninfo in `path`: its lines joined (blank lines and "#" comments skipped), or a
/// StoreError: missing, not a regular file, larger than 4 KiB, readable or writable by others.
std::string read_conninfo(const std::string& path);

class PgStore final : public Store {
public:
    /// Connects with the conninfo in `conninfo_file` and brings the schema to this version.
    /// Throws StoreError in words.
    explicit PgStore(const std::string& conninfo_file);
    ~PgStore() override;
    PgStore(const PgStore&) = delete;
    PgStore& operator=(const PgStore&) = delete;

    Claim claim(const Problem& problem, const Limits& limits) override;
    void set_outcome(const std::string& host, const std::string& service, const std::string& outcome) override;
    void set_page(const std::string& host, const std::string& service, const StoredPage& page) override;
    std::optional<OpenProblem> open_problem(const std::string& host, const std::string& service) override;
    std::vector<OpenProblem> paged_problems() override;
    Episode episode_fires(const std::string& fingerprint, const std::string& starts_at, std::int64_t starts_ms,
                          const std::string& host, const std::string& service, std::int64_t now_ms) override;
    Resolution episode_resolves(const std::string& fingerprint, const std::string& starts_at, const std::string& host,
                                const std::string& service, std::int64_t now_ms) override;
    void finish(std::int64_t heal_id, std::int64_t now_ms, const std::string& outcome,
                const std::string& request_id) override;
    unsigned note_hold(const std::string& host, const std::string& service, const std::string& why,
                       std::int64_t now_ms, std::int64_t last_ok_ms) override;
    std::optional<std::string> close(const std::string& host, const std::string& service) override;
    std::string where() const override { return where_; }

    /// --check: what the server and the role are, and whether the role has what heal needs on
    /// every table. Lines of "ok|FAIL what: words".
    std::vector<std::pair<bool, std::string>> check();

    class Result;  ///< a PGresult, cleared when it goes

private:
    Result exec(const std::string& sql, const std::vector<std::string>& params = {});
    /// Runs `f` in one deciding transaction: BEGIN, the fleet-wide advisory lock, `f`, COMMIT;
    /// rolled back when anything throws.
    template <class F>
    auto deciding(F&& f) -> decltype(f());
    void rollback() noexcept;
    std::optional<OpenProblem> close_if_unjoined(const std::string& host, const std::string& service);
    pg_conn* conn_ = nullptr;
    std::string where_;
};

}  // namespace heal::fleet
