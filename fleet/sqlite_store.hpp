// The embedded fleet store: one SQLite file in the decider's state folder (WAL,
// synchronous=FULL), shared by every process of the decider on that machine (Nagios runs a
// handler per event, many at once). Each decision is one BEGIN IMMEDIATE transaction, so two
// processes never both read "nothing done yet" or "one heal left in the budget" and both act.
// The tables are fleet/store.hpp's.
#pragma once

#include "common/sqlite.hpp"
#include "fleet/store.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace heal::fleet {

/// A database file in the event handler's state folder: the folder made on first use (mode
/// 0700, for the user the monitoring runs handlers as; its parent must exist), the file 0600 in
/// WAL mode, its schema brought to `version`. Throws sqlite::Error.
/// `upgrades` maps a version found to the SQL that brings it up before `schema` runs.
sqlite::Db open_state_db(const std::string& state_dir, const std::string& path, int version, const char* schema,
                         const std::map<int, const char*>& upgrades = {});

class SqliteStore final : public Store {
public:
    /// Opens or creates state_dir/file_name (0600), the folder made when missing (0700, its
    /// parent must exist). Throws StoreError in words.
    SqliteStore(const std::string& state_dir, const std::string& file_name);
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

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
    std::string where() const override { return "state store '" + path_ + "'"; }

    const std::string& path() const { return path_; }

private:
    [[noreturn]] void fail(const sqlite::Error& e) const;  ///< rethrown as StoreError, naming the file
    std::optional<OpenProblem> close_if_unjoined(const std::string& host, const std::string& service);
    std::string path_;
    sqlite::Db db_;
};

}  // namespace heal::fleet
