// SQLite as heal uses it: one file in WAL mode with synchronous=FULL, shared by many processes
// (the listener's daemon and --inetd instances; Nagios' concurrent event handlers), each
// statement prepared, bound by position and finalized on every path.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace heal::sqlite {

/// Missing, unreadable, read-only, corrupt, newer, or a failed statement.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// An open database, closed when it goes: the one owner of a sqlite3*.
class Db {
public:
    Db() = default;
    explicit Db(sqlite3* db) : db_(db) {}
    ~Db();
    Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
    Db& operator=(Db&& other) noexcept;
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    operator sqlite3*() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

/// Opens (creating it with `mode`, never through a symlink) the database file `path` in WAL mode
/// with synchronous=FULL and a 5 s busy timeout. `folder` must exist; it is named in errors.
/// Returns the schema's user_version (0 for a new file). Throws Error in words.
Db open(const std::string& folder, const std::string& path, unsigned mode, int& user_version);

/// Runs SQL with no results; throws Error.
void exec(sqlite3* db, const char* sql);

/// Brings a database whose user_version is `found` (0: a new file) to `version` in one
/// transaction: `upgrade` first when given (ALTERs for an older file's tables), then `sql`
/// (CREATE ... IF NOT EXISTS), then the new user_version. A file newer than `version` is an
/// Error that says to upgrade `program`.
void ensure_schema(sqlite3* db, int found, int version, const char* sql, const char* upgrade,
                   const std::string& program);

/// One prepared statement; binds by position, steps, finalizes on every path.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql);
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int i, const std::string& s);
    Stmt& bind(int i, std::int64_t v);
    Stmt& bind_null(int i);
    /// True while there is a row.
    bool step();
    /// Ready to step again with new bindings (the old ones are kept until rebound).
    void reset();
    std::int64_t i64(int col) const;
    bool null(int col) const;
    std::string text(int col) const;

private:
    [[noreturn]] void fail(const char* what);
    sqlite3* db_;
    sqlite3_stmt* st_ = nullptr;
};

/// BEGIN IMMEDIATE (the write lock first, so two writers never both read and then collide);
/// rolled back unless commit() was called.
class Transaction {
public:
    explicit Transaction(sqlite3* db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    sqlite3* db_;
    bool open_ = true;
};

}  // namespace heal::sqlite
