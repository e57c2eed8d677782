// The fleet store's rules (fleet/store.hpp), run against both stores: SQLite in a folder of its
// own, and PostgreSQL in a throwaway cluster of Debian's PostgreSQL (scripts/heal-pg-sandbox:
// initdb as an unprivileged user, 127.0.0.1, TLS, removed at exit), each test on an empty store.
// Then what only PostgreSQL has: the conninfo file, TLS that verifies, a wrong password, a role
// without rights, --check, a server that is down.
#include "fleet/pg_store.hpp"
#include "fleet/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

using namespace heal;

namespace {

/// Runs argv (no shell); its exit code, its output (stdout and stderr) in `out`.
int run(const std::vector<std::string>& argv, std::string& out) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out.clear();
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    if (rc != 0) return -1;
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

std::string src() {
    const char* s = std::getenv("HEAL_SRC");
    return s ? s : ".";
}

class TempDir {
public:
    TempDir() {
        char t[] = "/tmp/heal-store-test.XXXXXX";
        path_ = ::mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// One PostgreSQL cluster for the whole run, started at its first use.
class PgCluster {
public:
    static PgCluster& get() {
        static PgCluster c;
        return c;
    }
    bool up() const { return why_.empty(); }
    const std::string& why() const { return why_; }
    std::string conninfo(const std::string& role) const { return dir_.path() + "/" + role + ".conninfo"; }
    const std::string& dir() const { return dir_.path(); }
    std::string sandbox(const std::string& verb, const std::string& sql = "") {
        std::string out;
        std::vector<std::string> argv{src() + "/scripts/heal-pg-sandbox", verb, dir_.path()};
        if (!sql.empty()) argv.push_back(sql);
        if (run(argv, out) != 0) ADD_FAILURE() << "heal-pg-sandbox " << verb << ": " << out;
        return out;
    }
    /// Every table emptied: each test starts on an empty store.
    void empty() { sandbox("psql", "TRUNCATE heal.problems, heal.heals, heal.episodes, heal.holds"); }
    ~PgCluster() {
        if (up()) {
            std::string out;
            run({src() + "/scripts/heal-pg-sandbox", "stop", dir_.path()}, out);
        }
    }

private:
    PgCluster() {
        std::string out;
        const int rc = run({src() + "/scripts/heal-pg-sandbox", "start", dir_.path()}, out);
        if (rc != 0) why_ = "heal-pg-sandbox start (exit " + std::to_string(rc) + "): " + out;
    }
    TempDir dir_;
    std::string why_;
};

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const fleet::StoreError& e) {
        return e.what();
    }
    return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The fleet store tests, once per store.
class FleetStore : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "postgresql") {
            auto& pg = PgCluster::get();
            if (!pg.up()) GTEST_SKIP() << "PostgreSQL WAS NOT TESTED: " << pg.why();
            fleet::PgStore schema(pg.conninfo("heal"));  // the tables made, then emptied
            pg.empty();
        }
    }
    std::unique_ptr<fleet::Store> make() {
        if (GetParam() == "postgresql") return std::make_unique<fleet::PgStore>(PgCluster::get().conninfo("heal"));
        return std::make_unique<fleet::SqliteStore>(dir_.path(), "event-handler.db");
    }
    TempDir dir_;
};

/// FleetStore::claim with the problem's fields in a row, as the tests write them.
fleet::Claim claim(fleet::Store& s, const std::string& host, const std::string& service,
                   std::optional<std::string> blocked_by, const std::string& decision, bool dry_run,
                   const fleet::Limits& limits, std::int64_t now_ms, std::int64_t deadline_ms,
                   std::int64_t last_ok_ms = 0, bool last_chance = true) {
    return s.claim({.host = host,
                    .service = service,
                    .blocked_by = std::move(blocked_by),
                    .decision = decision,
                    .dry_run = dry_run,
                    .last_chance = last_chance,
                    .now_ms = now_ms,
                    .deadline_ms = deadline_ms,
                    .last_ok_ms = last_ok_ms},
                   limits);
}


TEST_P(FleetStore, OneDecisionPerProblemAndTheKeyCannotCollide) {
    auto store = make();
    fleet::Store& s = *store;
    fleet::Limits l;
    auto c = claim(s, "a_b", "c", std::nullopt, "restart at CRITICAL SOFT 2", false, l, 1000, 2000);
    EXPECT_EQ(c.kind, fleet::Claim::Kind::heal);
    EXPECT_EQ(claim(s, "a", "b_c", std::nullopt, "x", false, l, 1000, 2000).kind, fleet::Claim::Kind::heal);
    auto again = claim(s, "a_b", "c", std::nullopt, "x", false, l, 1000, 2000);
    EXPECT_EQ(again.kind, fleet::Claim::Kind::already);
    EXPECT_EQ(again.earlier, "restart at CRITICAL SOFT 2");
    EXPECT_EQ(s.close("a_b", "c"), "restart at CRITICAL SOFT 2");
    EXPECT_EQ(s.close("a_b", "c"), std::nullopt);
}

// The receiver's alert episodes: they join their target's problem, which closes when none of
// them fires; a resolved one stays closed; one unseen for 12 h (its resolution lost) keeps the
// target's problem open no longer.
TEST_P(FleetStore, AlertEpisodesJoinTheirTargetsProblem) {
    auto store = make();
    fleet::Store& s = *store;
    fleet::Limits l;
    l.concurrency = 10;  // the heals below never finish
    const std::int64_t t0 = 1'000'000'000'000;
    EXPECT_FALSE(s.episode_fires("a1", "T", t0 - 100, "web1", "worker restart", t0).closed_before);
    ASSERT_EQ(claim(s, "web1", "worker restart", std::nullopt, "restart", false, l, t0, t0 + 1000).kind,
              fleet::Claim::Kind::heal);
    EXPECT_FALSE(s.episode_fires("b2", "T", t0 - 100, "web1", "worker restart", t0 + 1).closed_before);
    EXPECT_TRUE(s.open_problem("web1", "worker restart"));
    auto r = s.episode_resolves("a1", "T", "web1", "worker restart", t0 + 2);
    EXPECT_FALSE(r.closed);
    EXPECT_EQ(r.still_open_by, 1u);
    EXPECT_TRUE(s.episode_fires("a1", "T", t0 - 100, "web1", "worker restart", t0 + 3).closed_before) << "a late firing";
    r = s.episode_resolves("b2", "T", "web1", "worker restart", t0 + 4);
    ASSERT_TRUE(r.closed);
    EXPECT_EQ(r.closed->decision, "restart");
    EXPECT_FALSE(s.open_problem("web1", "worker restart"));
    // Lost resolutions: a1's next episode (a new startsAt) ends its old one; a c3 never resolved
    // and unseen for 12 h no longer holds the target.
    EXPECT_FALSE(s.episode_fires("a1", "T2", t0 + 5, "web1", "worker restart", t0 + 5).closed_before);
    ASSERT_EQ(claim(s, "web1", "worker restart", std::nullopt, "again", false, l, t0 + 5, t0 + 1000).kind,
              fleet::Claim::Kind::heal);
    auto next = s.episode_fires("a1", "T3", t0 + 6, "web1", "worker restart", t0 + 6);
    ASSERT_EQ(next.ended.size(), 1u);
    EXPECT_EQ(next.ended[0].decision, "again");
    ASSERT_EQ(claim(s, "web1", "worker restart", std::nullopt, "third", false, l, t0 + 6, t0 + 1000).kind,
              fleet::Claim::Kind::heal);
    const std::int64_t later = t0 + 6 + 12LL * 3600 * 1000 + 1;
    auto other = s.episode_fires("d4", "T", later, "web1", "worker restart", later);
    ASSERT_EQ(other.ended.size(), 1u) << "a1/T3 unseen for 12 h";
    EXPECT_EQ(other.ended[0].decision, "third");
    EXPECT_FALSE(s.open_problem("web1", "worker restart"));
}

// Two Alertmanagers of an HA pair stamp one outage's startsAt apart (each its own receive time
// when Prometheus sends none; two Prometheus servers see it start apart): an episode of the same
// alert that began before the open one was last seen is the same outage, and joins its problem.
// One that began after it was last seen follows a lost resolution: the old one ended.
TEST_P(FleetStore, OneOutageStampedApartByTwoAlertmanagersIsOneProblem) {
    auto store = make();
    fleet::Store& s = *store;
    fleet::Limits l;
    const std::int64_t t0 = 1'000'000'000'000;
    EXPECT_TRUE(s.episode_fires("f", "S1", t0, "web1", "w restart", t0 + 1000).ended.empty());
    ASSERT_EQ(claim(s, "web1", "w restart", std::nullopt, "restart", false, l, t0 + 1000, t0 + 2000).kind,
              fleet::Claim::Kind::heal);
    const auto second = s.episode_fires("f", "S2", t0 + 3, "web1", "w restart", t0 + 1001);
    EXPECT_TRUE(second.ended.empty()) << "began before S1 was last seen: the same outage";
    EXPECT_EQ(claim(s, "web1", "w restart", std::nullopt, "restart", false, l, t0 + 1001, t0 + 2000).kind,
              fleet::Claim::Kind::already);
    auto r = s.episode_resolves("f", "S1", "web1", "w restart", t0 + 5000);
    EXPECT_FALSE(r.closed);
    EXPECT_EQ(r.still_open_by, 1u) << "the other Alertmanager's episode still fires";
    EXPECT_TRUE(s.episode_resolves("f", "S2", "web1", "w restart", t0 + 5001).closed);
    // A new outage, its resolution lost, then the next: the next ends it.
    EXPECT_TRUE(s.episode_fires("f", "S3", t0 + 20'000, "web1", "w restart", t0 + 20'001).ended.empty());
    ASSERT_EQ(claim(s, "web1", "w restart", std::nullopt, "again", false, l, t0 + 20'001, t0 + 21'000).kind,
              fleet::Claim::Kind::heal);
    const auto next = s.episode_fires("f", "S4", t0 + 30'000, "web1", "w restart", t0 + 30'001);
    ASSERT_EQ(next.ended.size(), 1u);
    EXPECT_EQ(next.ended[0].decision, "again");
}

// Nagios runs no event handler while event handlers are disabled, so a recovery can pass
// unseen: a decision older than the service's last OK is a finished problem's, and is dropped.
TEST_P(FleetStore, ADecisionOlderThanTheServicesLastOkIsDropped) {
    auto store = make();
    fleet::Store& s = *store;
    fleet::Limits l;
    EXPECT_EQ(claim(s, "h", "web", std::nullopt, "restart at CRITICAL SOFT 2", false, l, 5000, 6000, 1000).kind,
              fleet::Claim::Kind::heal);
    auto same = claim(s, "h", "web", std::nullopt, "x", false, l, 7000, 8000, 5000);  // OK at or before it
    EXPECT_EQ(same.kind, fleet::Claim::Kind::already);
    EXPECT_EQ(same.forgotten, "");
    EXPECT_EQ(claim(s, "h", "web", std::nullopt, "x", false, l, 7000, 8000).kind, fleet::Claim::Kind::already);
    auto next = claim(s, "h", "web", std::nullopt, "restart at CRITICAL SOFT 2", false, l, 9000, 10000, 5001);
    EXPECT_EQ(next.kind, fleet::Claim::Kind::heal);
    EXPECT_EQ(next.forgotten, "restart at CRITICAL SOFT 2");
    // The new decision is remembered from now on, and paged problems are dropped alike.
    EXPECT_EQ(claim(s, "h", "web", std::nullopt, "x", false, l, 9500, 10000, 5001).kind, fleet::Claim::Kind::already);
    EXPECT_EQ(claim(s, "h", "db", std::string("widespread failure"), "x", false, l, 11000, 12000).kind,
              fleet::Claim::Kind::blocked);
    auto paged = claim(s, "h", "db", std::nullopt, "r", false, l, 13000, 14000, 12000);
    EXPECT_EQ(paged.kind, fleet::Claim::Kind::heal);
    EXPECT_EQ(paged.forgotten, "paged: widespread failure");
}

TEST_P(FleetStore, BudgetAndConcurrencyAcrossHostsAndServices) {
    auto store = make();
    fleet::Store& s = *store;
    fleet::Limits l{3, 3600 * 1000, 2};
    const std::int64_t t = 10'000'000;
    auto h1 = claim(s, "h1", "web", std::nullopt, "r", false, l, t, t + 30'000);
    auto h2 = claim(s, "h2", "db", std::nullopt, "r", false, l, t, t + 30'000);
    ASSERT_EQ(h2.kind, fleet::Claim::Kind::heal);
    auto busy = claim(s, "h3", "web", std::nullopt, "r", false, l, t + 1, t + 30'000);
    EXPECT_EQ(busy.kind, fleet::Claim::Kind::concurrency);
    EXPECT_EQ(busy.used, 2u);
    s.finish(h1.heal_id, t + 100, "ok", "id1");
    EXPECT_EQ(claim(s, "h4", "web", std::nullopt, "r", false, l, t + 200, t + 30'000).kind, fleet::Claim::Kind::heal);
    auto spent = claim(s, "h5", "web", std::nullopt, "r", false, l, t + 300, t + 30'000);
    EXPECT_EQ(spent.kind, fleet::Claim::Kind::budget);
    EXPECT_EQ(spent.used, 3u);
    // An unfinished heal (its handler killed) stops counting as in flight at its deadline; the
    // budget frees up as the window slides past the heals.
    EXPECT_EQ(claim(s, "h6", "web", std::nullopt, "r", false, {10, 3600 * 1000, 2}, t + 30'001, t + 60'000).kind,
              fleet::Claim::Kind::heal);
    EXPECT_EQ(claim(s, "h7", "web", std::nullopt, "r", false, l, t + 3600 * 1000 + 1, t + 3700 * 1000).kind,
              fleet::Claim::Kind::heal);
    // A guard's block and a dry run are remembered, and use no budget.
    auto blocked = claim(s, "h8", "web", std::string("widespread failure"), "r", false, l, t, t);
    EXPECT_EQ(blocked.kind, fleet::Claim::Kind::blocked);
    EXPECT_EQ(claim(s, "h8", "web", std::nullopt, "r", false, l, t, t).earlier, "paged: widespread failure");
}

// Heals in flight end within seconds: before its last chance (a SOFT attempt), a problem waits
// for a slot and the next attempt decides; at its last chance (HARD) it pages.
TEST_P(FleetStore, TooManyHealsInFlightWaitUntilTheLastChance) {
    auto store = make();
    fleet::Store& s = *store;
    const fleet::Limits l{10, 3600 * 1000, 1};
    const std::int64_t t = 10'000'000;
    auto h1 = claim(s, "h1", "web", std::nullopt, "r", false, l, t, t + 30'000);
    ASSERT_EQ(h1.kind, fleet::Claim::Kind::heal);
    auto soft = claim(s, "h2", "web", std::nullopt, "r", false, l, t + 1, t + 30'000, 0, false);
    EXPECT_EQ(soft.kind, fleet::Claim::Kind::waiting);
    EXPECT_EQ(soft.used, 1u);
    EXPECT_EQ(claim(s, "h2", "web", std::nullopt, "r", false, l, t + 2, t + 30'000, 0, false).kind,
              fleet::Claim::Kind::waiting);  // nothing was remembered
    s.finish(h1.heal_id, t + 100, "ok", "id1");
    auto hard = claim(s, "h2", "web", std::nullopt, "r", false, l, t + 200, t + 30'000);
    EXPECT_EQ(hard.kind, fleet::Claim::Kind::heal);
    auto last = claim(s, "h3", "web", std::nullopt, "r", false, l, t + 300, t + 30'000);
    EXPECT_EQ(last.kind, fleet::Claim::Kind::concurrency);
    EXPECT_EQ(claim(s, "h3", "web", std::nullopt, "r", false, l, t + 400, t + 30'000).earlier,
              "paged: too many heals in flight");
    // A stale decision is dropped by the decision taken, not by a wait (which writes nothing).
    claim(s, "h4", "web", std::string("widespread failure"), "r", false, l, t + 500, t + 500);
    auto wait = claim(s, "h4", "web", std::nullopt, "r", false, l, t + 600, t + 30'000, t + 550, false);
    EXPECT_EQ(wait.kind, fleet::Claim::Kind::waiting);
    EXPECT_EQ(wait.forgotten, "");
    auto at_hard = claim(s, "h4", "web", std::nullopt, "r", false, l, t + 700, t + 30'000, t + 550);
    EXPECT_EQ(at_hard.kind, fleet::Claim::Kind::concurrency);
    EXPECT_EQ(at_hard.forgotten, "paged: widespread failure");
}

TEST_P(FleetStore, ConcurrentHandlersNeverExceedTheBudget) {
    make();  // the schema made before the processes race
    // 16 processes, 16 problems, a budget of 5: exactly 5 heal, in any interleaving.
    constexpr int n = 16;
    std::vector<pid_t> kids;
    for (int i = 0; i < n; ++i) {
        pid_t p = ::fork();
        if (p == 0) {
            int code = 3;
            try {
                auto store = make();
                auto c = claim(*store, "h" + std::to_string(i), "web", std::nullopt, "r", false, {5, 3600 * 1000, 100},
                                 1000, 100000);
                code = c.kind == fleet::Claim::Kind::heal ? 0 : c.kind == fleet::Claim::Kind::budget ? 1 : 2;
            } catch (...) {
            }
            ::_exit(code);
        }
        kids.push_back(p);
    }
    int healed = 0, spent = 0, other = 0;
    for (pid_t p : kids) {
        int st = 0;
        ::waitpid(p, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 9;
        (code == 0 ? healed : code == 1 ? spent : other)++;
    }
    EXPECT_EQ(healed, 5);
    EXPECT_EQ(spent, n - 5);
    EXPECT_EQ(other, 0);
}

TEST_P(FleetStore, AHoldIsSaidOncePerProblem) {
    auto store = make();
    fleet::Store& s = *store;
    EXPECT_EQ(s.note_hold("web1", "worker", "in downtime", 1000, 0), 1u) << "the first event: say so";
    EXPECT_EQ(s.note_hold("web1", "worker", "in downtime", 2000, 0), 2u) << "the HARD event: said already";
    EXPECT_EQ(s.note_hold("web2", "worker", "in downtime", 2000, 0), 1u) << "another problem";
    EXPECT_EQ(s.note_hold("web1", "worker", "in downtime", 9000, 5000), 1u)
        << "seen OK after the hold: that problem ended unseen, this is a new one";
    s.close("web1", "worker");
    EXPECT_EQ(s.note_hold("web1", "worker", "in downtime", 9500, 0), 1u) << "a recovery forgets the hold";
}

INSTANTIATE_TEST_SUITE_P(Stores, FleetStore, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

// What only the shared store has.
class PgStore : public ::testing::Test {
protected:
    void SetUp() override {
        if (!PgCluster::get().up()) GTEST_SKIP() << "PostgreSQL WAS NOT TESTED: " << PgCluster::get().why();
    }
    /// A copy of role's conninfo file with `edit` applied to its line, mode 0600.
    std::string conninfo_with(const std::string& role, const std::string& from, const std::string& to) {
        std::ifstream in(PgCluster::get().conninfo(role));
        std::stringstream text;
        text << in.rdbuf();
        std::string s = text.str();
        if (!from.empty()) s.replace(s.find(from), from.size(), to);
        const std::string path = dir_.path() + "/edited.conninfo";
        std::ofstream(path) << s;
        ::chmod(path.c_str(), 0600);
        return path;
    }
    TempDir dir_;
};

// A conninfo file may hold a password: a file every user can read is refused, as is one that
// is missing, not a regular file, too big or empty, and a line libpq cannot parse.
TEST_F(PgStore, TheConninfoFileIsKeptSecretAndReadWithCare) {
    const std::string path = conninfo_with("heal", "", "");
    ::chmod(path.c_str(), 0644);
    EXPECT_TRUE(has(error_of([&] { fleet::PgStore s(path); }), "readable or writable by every user")) << path;
    ::chmod(path.c_str(), 0640);
    EXPECT_EQ(error_of([&] { fleet::PgStore s(path); }), "") << "group-readable (a monitoring group) is fine";
    EXPECT_TRUE(has(error_of([&] { fleet::PgStore s(dir_.path() + "/none"); }), "No such file or directory"));
    const std::string fifo = dir_.path() + "/fifo";
    ::mkfifo(fifo.c_str(), 0600);
    EXPECT_TRUE(has(error_of([&] { fleet::PgStore s(fifo); }), "not a regular file"));
    const std::string big = dir_.path() + "/big";
    std::ofstream(big) << std::string(5000, 'x');
    EXPECT_TRUE(has(error_of([&] { fleet::PgStore s(big); }), "larger than"));
    const std::string empty = dir_.path() + "/empty";
    std::ofstream(empty) << "# only a comment\n\n";
    ::chmod(empty.c_str(), 0600);
    EXPECT_TRUE(has(error_of([&] { fleet::PgStore s(empty); }), "empty (expected e.g. host="));
    const std::string junk = dir_.path() + "/junk";
    std::ofstream(junk) << "host=localhost s3cret\n";  // a password pasted without its key
    ::chmod(junk.c_str(), 0600);
    const auto junk_error = error_of([&] { fleet::PgStore s(junk); });
    EXPECT_TRUE(has(junk_error, "not a libpq conninfo")) << junk_error;
    EXPECT_FALSE(has(junk_error, "s3cret")) << "a password never reaches a message: " << junk_error;
}

// Over TCP the server's certificate and name are verified, or nothing is sent.
TEST_F(PgStore, TcpMustVerifyTheServer) {
    for (const char* mode : {"sslmode=require", "sslmode=prefer", "sslmode=verify-ca", "sslmode=disable"}) {
        const auto e = error_of([&] { fleet::PgStore s(conninfo_with("heal", "sslmode=verify-full", mode)); });
        EXPECT_TRUE(has(e, std::string(mode) + " does not verify the server's certificate and name")) << e;
    }
    const auto dropped = error_of([&] { fleet::PgStore s(conninfo_with("heal", "sslmode=verify-full", "")); });
    EXPECT_TRUE(has(dropped, "sslmode=prefer does not verify")) << "libpq's default: " << dropped;
    // Another CA: the handshake fails, nothing is sent.
    const std::string other_ca = dir_.path() + "/other-ca.crt";
    std::string out;
    ASSERT_EQ(run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                   "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout", dir_.path() + "/other-ca.key", "-out",
                   other_ca},
                  out),
              0)
        << out;
    const auto e = error_of([&] {
        fleet::PgStore s(conninfo_with("heal", "sslrootcert=" + PgCluster::get().dir() + "/pg-ca.crt",
                                       "sslrootcert=" + other_ca));
    });
    EXPECT_TRUE(has(e, ": cannot connect: ") && has(e, "certificate verify failed")) << e;
}

TEST_F(PgStore, AWrongPasswordOrARoleWithoutRightsIsAClearError) {
    const auto wrong = error_of([&] { fleet::PgStore s(conninfo_with("heal", "password=", "password=x")); });
    EXPECT_TRUE(has(wrong, ": cannot connect: ") && has(wrong, "password authentication failed")) << wrong;
    fleet::PgStore made(PgCluster::get().conninfo("heal"));  // the tables exist
    const auto stranger = error_of([&] { fleet::PgStore s(PgCluster::get().conninfo("stranger")); });
    EXPECT_TRUE(has(stranger, "permission denied for schema heal")) << stranger;
}

TEST_F(PgStore, CheckSaysWhatTheRoleMay) {
    fleet::PgStore s(PgCluster::get().conninfo("heal"));
    const auto lines = s.check();
    ASSERT_EQ(lines.size(), 3u);
    for (const auto& [ok, words] : lines) EXPECT_TRUE(ok) << words;
    EXPECT_TRUE(has(lines[0].second, "PostgreSQL 15") && has(lines[0].second, "TLS")) << lines[0].second;
    EXPECT_EQ(lines[1].second, "role heal: not a superuser");
    // Rights taken away: --check says which.
    PgCluster::get().sandbox("psql", "REVOKE DELETE ON heal.holds FROM heal");
    const auto less = s.check();
    PgCluster::get().sandbox("psql", "GRANT DELETE ON heal.holds TO heal");
    EXPECT_FALSE(less[2].first);
    EXPECT_EQ(less[2].second, "schema heal: the role lacks SELECT, INSERT, UPDATE or DELETE on holds");
}

// The server down: a clear error within the connect timeout, never a hang; up again, it works.
TEST_F(PgStore, AServerThatIsDownIsAnErrorInSeconds) {
    auto& pg = PgCluster::get();
    pg.sandbox("stop");
    const auto t0 = std::chrono::steady_clock::now();
    const auto e = error_of([&] { fleet::PgStore s(pg.conninfo("heal")); });
    const auto took = std::chrono::steady_clock::now() - t0;
    pg.sandbox("start");
    EXPECT_TRUE(has(e, ": cannot connect: ") && has(e, "Connection refused")) << e;
    EXPECT_LT(took, std::chrono::seconds(6));
    EXPECT_EQ(error_of([&] { fleet::PgStore s(pg.conninfo("heal")); }), "");
}

}  // namespace
