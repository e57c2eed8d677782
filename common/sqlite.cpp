#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace heal::sqlite {

Stmt::Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) fail("prepare");
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::bind(int i, const std::string& s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
}

Stmt& Stmt::bind_null(int i) {
    sqlite3_bind_null(st_, i);
    return *this;
}

bool Stmt::step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("step");
}

void Stmt::reset() { sqlite3_reset(st_); }

std::int64_t Stmt::i64(int col) const { return sqlite3_column_int64(st_, col); }

bool Stmt::null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

std::string Stmt::text(int col) const {
    auto* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
}

void Stmt::fail(const char* what) { throw Error(std::string(what) + ": " + sqlite3_errmsg(db_)); }

void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string why = err ? err : sqlite3_errmsg(db);
        sqlite3_free(err);
        throw Error(why);
    }
}

void ensure_schema(sqlite3* db, int found, int version, const char* sql, const char* upgrade,
                   const std::string& program) {
    if (found > version)
        throw Error("its schema version " + std::to_string(found) + " is newer than this " + program +
                    "'s (" + std::to_string(version) + "); upgrade " + program);
    if (found == version) return;
    Transaction t(db);
    if (upgrade) exec(db, upgrade);
    exec(db, sql);
    exec(db, ("PRAGMA user_version=" + std::to_string(version)).c_str());
    t.commit();
}

Transaction::Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    exec(db_, "COMMIT");
    open_ = false;
}

Db::~Db() { sqlite3_close(db_); }

Db& Db::operator=(Db&& other) noexcept {
    if (this != &other) {
        sqlite3_close(db_);
        db_ = other.db_;
        other.db_ = nullptr;
    }
    return *this;
}

Db open(const std::string& folder, const std::string& path, unsigned mode, int& user_version) {
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0) throw Error("'" + folder + "': " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw Error("'" + folder + "' is not a folder");
    // Create it ourselves for the mode; SQLite gives its -wal and -shm files the same.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
    ::close(fd);
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);  // closed on every path from here
    if (rc != SQLITE_OK) throw Error("cannot open '" + path + "': " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
    {
        if (sqlite3_db_readonly(db, "main") == 1) throw Error("it is read-only");
        sqlite3_busy_timeout(db, 5000);
        {
            Stmt v(db, "PRAGMA user_version");
            user_version = v.step() ? static_cast<int>(v.i64(0)) : 0;
        }
        // Switching to WAL needs a moment alone with the file; the busy handler does not cover
        // it, so a process starting beside another one retries briefly.
        for (int attempt = 0;; ++attempt) {
            try {
                std::string journal;
                {
                    Stmt m(db, "PRAGMA journal_mode");
                    if (m.step()) journal = m.text(0);
                }
                if (journal == "wal") break;
                Stmt w(db, "PRAGMA journal_mode=WAL");
                w.step();
            } catch (const Error&) {
                if (attempt >= 50) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        exec(db, "PRAGMA synchronous=FULL");
    }
    return db;
}

}  // namespace heal::sqlite
