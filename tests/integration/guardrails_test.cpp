// Guardrails at the host, with the real binaries: the state store and kernel locks shared by the
// daemon and --inetd instances, the audit gate, budgets, cooldown, quarantine, [client] rules,
// reset/--force, dry run, single-flight status, the global cap.
#include "tests/integration/listener_fixture.hpp"
#include "gen/version.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>
#include <fstream>

namespace {

const std::string clients =
    "[client nagios]\ncn = heal-ctl\nverbs = status, restart\n"
    "[client viewer]\ncn = viewer\n"
    "[client ops]\ncn = ops\nverbs = *\nadmin = yes\n";

}  // namespace

class GuardrailsTest : public ListenerTest {
protected:
    void SetUp() override {
        ListenerTest::SetUp();
        const std::string d = dir_.path();
        // Runs until the "hold" file goes: long enough to be caught in flight. held.pid is
        // written last, so a test that saw it can read held.log whole.
        script("held", "echo \"$HEAL_REQUEST_ID\" >> " + d + "/held.log\necho $$ > " + d +
                           "/held.pid\nwhile [ -e " + d + "/hold ]; do sleep 0.05; done\necho released\n");
        script("burst", "echo run >> " + d + "/burst-runs.log\nsleep 0.5\necho 'BURST OK | n=1'\n");
    }

    /// Starts the listener in a mount namespace of its own with a 64 KiB tmpfs on `folder`, after
    /// `prepare` (a shell command) ran there. False when this host cannot (not root).
    bool start_on_small_tmpfs(const std::string& folder, const std::string& prepare) {
        if (::geteuid() != 0) return false;
        start_listener({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                        "mount -t tmpfs -o size=64k tmpfs '" + folder + "' && " + prepare + " && exec \"$@\"",
                        "sh"});
        return !HasFatalFailure();
    }

    /// Restarts the listener with `extra_listener` keys and extra sections.
    void reconfigure(const std::string& extra_listener, const std::string& extra) {
        stop_listener();
        write_config(extra_listener, extra);
        start_listener();
    }

    /// The listener anew with [service held] (its restart runs until the "hold" file goes) and
    /// `client` running heal-ctl `args` on it: the action's request id once its script runs, ""
    /// when it never did.
    std::string start_held_action(std::optional<Child>& client, const std::vector<std::string>& args) {
        write_file(dir_ / "hold", "");
        reconfigure("", "[service held]\nrestart = bin/held\ntimeout = 300\n");
        client.emplace(ctl_argv(args));
        if (!eventually([&] { return !read_file(dir_ / "held.pid").empty(); })) return "";
        std::string id = read_file(dir_ / "held.log");
        id.erase(id.find_last_not_of('\n') + 1);
        return id;
    }

    /// kill -9 of the listener, waited for.
    void kill_listener() {
        listener_->signal(SIGKILL);
        listener_->wait(5);
        listener_.reset();
    }

    static std::size_t count(const std::string& hay, const std::string& needle) {
        std::size_t n = 0;
        for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
        return n;
    }
};

TEST_F(GuardrailsTest, AuditThatCannotBeWrittenRefusesAndRunsNothing) {
    // The audit log on a 64 KiB tmpfs filled to the last block before the listener starts (in
    // its own mount namespace: nothing is mounted on the host).
    stop_listener();
    const std::string small = dir_ / "small";
    ::mkdir(small.c_str(), 0755);
    auto text = config_text();
    text.replace(text.find("audit_log = audit.jsonl"), 23, "audit_log = " + small + "/audit.jsonl");
    write_file(dir_ / "heal.ini", text);
    if (!start_on_small_tmpfs(small, "touch " + small + "/audit.jsonl && (cat /dev/zero > " + small +
                                         "/filler 2>/dev/null; true)"))
        GTEST_SKIP() << "cannot mount a tmpfs in a mount namespace here: " << log();
    for (int i = 0; i < 3; ++i) {
        auto r = ctl({"--json", "restart", "web"});
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_EQ(str(parse_object(r.output), "reason"), "audit_unavailable") << r.output;
    }
    EXPECT_EQ(read_file(dir_ / "ran.log"), "") << "the audit is a gate: no record, no action";
    EXPECT_EQ(ctl({"status", "web"}).exit_code, 0) << "status is read-only and keeps working";
    EXPECT_EQ(count(log(), "write failed"), 1u) << "one report per episode:\n" << log();
}

namespace {

/// A process that holds a lock on `path` opened read-only (as a log reader would) until
/// killed: flock(2) LOCK_EX, or an fcntl read lock on the whole file (open-file-description).
/// Returns its pid once the lock is held.
pid_t hold_reader_lock(const std::string& path, bool fcntl_read_lock) {
    int ready[2];
    if (::pipe(ready) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        struct flock l {};
        l.l_type = F_RDLCK;
        l.l_whence = SEEK_SET;
        const bool held = fd >= 0 && (fcntl_read_lock ? ::fcntl(fd, F_OFD_SETLK, &l) == 0 : ::flock(fd, LOCK_EX) == 0);
        const char c = held ? '1' : '0';
        [[maybe_unused]] auto n = ::write(ready[1], &c, 1);
        ::pause();
        ::_exit(0);
    }
    ::close(ready[1]);
    char c = '0';
    [[maybe_unused]] auto n = ::read(ready[0], &c, 1);
    ::close(ready[0]);
    if (c != '1') {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return -1;
    }
    return pid;
}

void release(pid_t pid) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// Anyone who may read the audit log can flock(2) it (a log shipper, `less`, a script): the
// listener's lock on it is a write lock that needs the file open for writing, so that never
// holds a heal back.
TEST_F(GuardrailsTest, AReaderHoldingAFlockOnTheAuditLogHoldsNoHealBack) {
    ASSERT_EQ(ctl({"status", "web"}).exit_code, 0);  // the audit log exists
    const auto runs = count(read_file(dir_ / "ran.log"), "\n");
    const pid_t reader = hold_reader_lock(dir_ / "audit.jsonl", false);
    ASSERT_GT(reader, 0) << "could not flock the audit log read-only";
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = ctl({"--json", "restart", "web"});
    const double took = seconds_since(t0);
    release(reader);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_LT(took, 1.5) << "the restart waited for a reader's flock";
    EXPECT_EQ(count(read_file(dir_ / "ran.log"), "\n"), runs + 1);
}

// A lock on the audit log that a writer must wait for (here a reader's fcntl read lock) is
// waited for 2 s at most: then the action is refused audit_unavailable and nothing runs; once
// the lock goes, actions are recorded and run again.
TEST_F(GuardrailsTest, AnAuditLockHeldPastItsBoundRefusesAndRunsNothing) {
    ASSERT_EQ(ctl({"status", "web"}).exit_code, 0);
    const auto runs = count(read_file(dir_ / "ran.log"), "\n");
    const pid_t reader = hold_reader_lock(dir_ / "audit.jsonl", true);
    ASSERT_GT(reader, 0) << "could not take a read lock on the audit log";
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = ctl({"--json", "restart", "web"});
    const double took = seconds_since(t0);
    release(reader);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(str(parse_object(r.output), "reason"), "audit_unavailable") << r.output;
    EXPECT_GE(took, 1.9);
    EXPECT_LT(took, 6.0);
    EXPECT_EQ(count(read_file(dir_ / "ran.log"), "\n"), runs) << "no record, no action";
    EXPECT_TRUE(contains(log(), "another process holds a lock on it for more than 2 s")) << log();
    EXPECT_EQ(ctl({"restart", "web"}).exit_code, 0) << "the lock gone, actions run again";
    EXPECT_EQ(count(read_file(dir_ / "ran.log"), "\n"), runs + 1);
}

TEST_F(GuardrailsTest, FullFilesystemNeverGluesRecordsAndRecovers) {
    // A real filesystem that fills up: a 64 KiB tmpfs for the audit log, in the listener's own
    // mount namespace (needs root); the test reaches it through /proc/PID/root.
    const std::string small = dir_ / "small";
    ::mkdir(small.c_str(), 0755);
    stop_listener();
    auto text = config_text("", "[service free]\nrestart = bin/ok\nbudget = none\n");
    text.replace(text.find("audit_log = audit.jsonl"), 23, "audit_log = " + small + "/audit.jsonl");
    write_file(dir_ / "heal.ini", text);
    if (!start_on_small_tmpfs(small, "true"))
        GTEST_SKIP() << "cannot mount a tmpfs in a mount namespace here: " << log();
    const std::string seen = "/proc/" + std::to_string(listener_->pid()) + "/root" + small;
    ASSERT_EQ(ctl({"restart", "free"}).exit_code, 0);
    {  // fill every free block; what is left is the room in the audit log's last block
        std::ofstream filler(seen + "/filler", std::ios::binary);
        std::string block(512, 'x');
        while (filler.write(block.data(), block.size()) && filler.flush()) {
        }
    }
    int refused = 0, ran_ok = 1;
    for (int i = 0; i < 20 && !refused; ++i) {
        auto r = ctl({"--json", "restart", "free"});
        if (r.exit_code == 2 && contains(r.output, "audit_unavailable")) ++refused;
        else if (r.exit_code == 0) ++ran_ok;
        else ADD_FAILURE() << r.output;
    }
    EXPECT_EQ(refused, 1) << "a full disk refuses the action";
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), static_cast<std::size_t>(ran_ok))
        << "every action that ran had its record; the refused one did not run";
    EXPECT_EQ(count(log(), "write failed"), 1u) << log();
    ::unlink((seen + "/filler").c_str());
    ASSERT_EQ(ctl({"restart", "free"}).exit_code, 0) << "writable again: actions run again";
    EXPECT_TRUE(contains(log(), "is writable again")) << log();
    auto lines = read_lines(seen + "/audit.jsonl");
    for (const auto& line : lines) {
        json::error_code ec;
        auto v = json::parse(line, ec);
        EXPECT_FALSE(ec) << "a glued or partial record: " << line;
    }
    EXPECT_TRUE(contains(read_file(seen + "/audit.jsonl"), "\"record\":\"final\"")) << "recovered";
    EXPECT_FALSE(contains(read_file("/proc/self/mountinfo"), small)) << "mounted on the host";
}

TEST_F(GuardrailsTest, KillDashNineLeavesALostRecordAndTheLockFreesOnlyWhenTheHolderIsGone) {
    std::optional<Child> first;
    const std::string id = start_held_action(first, {"--json", "restart", "held"});
    ASSERT_FALSE(id.empty()) << "the held restart never ran";
    const pid_t orphan = std::atoi(read_file(dir_ / "held.pid").c_str());

    // While the daemon lives, another process (an --inetd instance) finds the service busy.
    auto busy = inetd_calls({{"--json", "restart", "held"}})[0].client;
    EXPECT_EQ(busy.exit_code, 2) << busy.output;
    EXPECT_EQ(str(parse_object(busy.output), "reason"), "busy");
    EXPECT_EQ(str(parse_object(busy.output), "running_id"), id) << "known across processes";

    kill_listener();
    first->wait(5);
    EXPECT_TRUE(process_alive(orphan)) << "the script outlived its listener";

    // The next listener closes the action as lost, kills the orphan, and the service is free.
    ::unlink((dir_ / "hold").c_str());
    start_listener();
    EXPECT_TRUE(eventually([&] { return !process_alive(orphan); }, 3)) << "orphan survived";
    // Closed at start from the store thread; the audit thread writes its record (CI once read
    // the log before it had).
    EXPECT_TRUE(eventually([&] {
        for (auto& o : finals())
            if (str(o, "id") == id) return true;
        return false;
    })) << "no final record for " << id;
    auto lost = final_of(id);
    EXPECT_EQ(str(lost, "outcome"), "lost");
    EXPECT_EQ(str(lost, "reason"), "listener_died");
    EXPECT_TRUE(contains(str(lost, "message"), "was killed")) << str(lost, "message");
    EXPECT_TRUE(contains(log(), "closed 1 action(s) as lost")) << log();
    auto again = ctl({"restart", "held"});
    EXPECT_EQ(again.exit_code, 0) << again.output;
}

// The record of a lost action is written before the store closes it: a listener that dies
// again before it could write it (here: a reader holds the audit log's lock meanwhile) leaves
// the action open, and the next one puts it on record. Closed first, it was lost for good.
TEST_F(GuardrailsTest, ALostActionIsOnRecordEvenWhenTheNextListenerDiesToo) {
    std::optional<Child> first;
    const std::string id = start_held_action(first, {"restart", "held"});
    ASSERT_FALSE(id.empty()) << "the held restart never ran";
    kill_listener();
    first->wait(5);
    ::unlink((dir_ / "hold").c_str());

    const pid_t reader = hold_reader_lock(dir_ / "audit.jsonl", true);
    ASSERT_GT(reader, 0);
    start_listener();  // cannot write the record within its bound: the action stays open
    EXPECT_TRUE(contains(log(), "cannot be written to the audit log: it stays open")) << log();
    auto refused = ctl({"--json", "restart", "held"});
    EXPECT_EQ(refused.exit_code, 2) << refused.output;
    EXPECT_TRUE(contains(str(parse_object(refused.output), "message"), "cannot be put on record as lost"))
        << refused.output;
    kill_listener();
    release(reader);

    start_listener();
    EXPECT_TRUE(eventually([&] {
        for (auto& o : finals())
            if (str(o, "id") == id) return true;
        return false;
    })) << "the lost action's record went with the second crash";
    EXPECT_EQ(str(final_of(id), "outcome"), "lost");
    EXPECT_TRUE(contains(log(), "closed 1 action(s) as lost")) << log();
    auto again = ctl({"restart", "held"});
    EXPECT_EQ(again.exit_code, 0) << again.output;
}

TEST_F(GuardrailsTest, AnInetdInstanceAlsoClosesWhatACrashLeft) {
    std::optional<Child> first;
    ASSERT_FALSE(start_held_action(first, {"restart", "held"}).empty()) << "the held restart never ran";
    kill_listener();
    first->wait(5);
    ::unlink((dir_ / "hold").c_str());
    auto r = inetd_calls({{"--json", "restart", "held"}})[0].client;
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::size_t lost = 0;
    for (auto& o : finals()) lost += str(o, "outcome") == "lost";
    EXPECT_EQ(lost, 1u);
}

TEST_F(GuardrailsTest, TwoInetdInstancesRacingOneServiceRunItOnce) {
    auto r = inetd_calls({{"--json", "restart", "slow"}, {"--json", "restart", "slow"}});
    int ok = 0, busy = 0;
    for (auto& x : r) {
        auto reason = str(parse_object(x.client.output), "reason");
        ok += x.client.exit_code == 0;
        busy += x.client.exit_code == 2 && reason == "busy";
    }
    EXPECT_EQ(ok, 1) << r[0].client.output << r[1].client.output;
    EXPECT_EQ(busy, 1) << r[0].client.output << r[1].client.output;
}

// info reads the store only: it takes no service lock (one taken by a read made a restart in
// another listener process fail busy, with nothing running), closes nothing as lost, and asks
// about one service when given one.
TEST_F(GuardrailsTest, InfoTakesNoLockAndNeverMakesARestartElsewhereBusy) {
    auto info = ctl({"--json", "info"});
    ASSERT_EQ(info.exit_code, 0) << info.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "state/locks/service.web.lock"))
        << "info took web's lock, never acted on";
    auto one = parse_object(ctl({"--json", "info", "slow"}).output);
    const auto& services = one.at("info").as_object().at("services").as_array();
    ASSERT_EQ(services.size(), 1u) << one;
    EXPECT_EQ(str(services[0].as_object(), "name"), "slow");
    EXPECT_EQ(str(services[0].as_object(), "state"), "ok");
    auto unknown = ctl({"--json", "info", "nosuch"});
    EXPECT_EQ(str(parse_object(unknown.output), "reason"), "unknown_service") << unknown.output;

    // A daemon serving info (as check_heal and a Prometheus scrape would, without pause) and
    // --inetd instances restarting: every restart runs.
    reconfigure("max_per_source = 64\n", "[service quick]\nrestart = bin/ok\nbudget = none\n");
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) run(ctl_argv({"info"}));
    });
    int ran = 0;
    std::string refused;
    for (int round = 0; round < 40; ++round) {
        auto r = inetd_calls({{"--json", "restart", "quick"}})[0].client;
        if (r.exit_code == 0) ++ran;
        else refused += r.output;
    }
    done = true;
    reader.join();
    EXPECT_EQ(ran, 40) << "restarts refused with nothing else running: " << refused;
}

TEST_F(GuardrailsTest, StatusBurstOf200SharesRunsAndRefusesNone) {
    reconfigure("max_per_source = 256\n", "[service burst]\nstatus = bin/burst\nrestart = bin/ok\n");
    double start = now_seconds();
    std::vector<std::unique_ptr<Child>> burst;
    for (int i = 0; i < 200; ++i) burst.push_back(std::make_unique<Child>(ctl_argv({"status", "burst"})));
    // A status in flight does not make a restart of the same service busy.
    ASSERT_TRUE(eventually([&] { return !read_file(dir_ / "burst-runs.log").empty(); }));
    auto restart = ctl({"restart", "burst"});
    EXPECT_EQ(restart.exit_code, 0) << restart.output;
    int ok = 0;
    for (auto& c : burst) {
        auto r = c->wait(60);
        if (r.exit_code == 0 && contains(r.output, "HEAL OK: status burst on 127.0.0.1: BURST OK")) ++ok;
        else ADD_FAILURE() << "exit " << r.exit_code << ": " << r.output;
    }
    double wall = now_seconds() - start;
    auto runs = read_lines(dir_ / "burst-runs.log").size();
    // A status's record gates nothing, so the audit thread writes it after the reply: wait for
    // all 200 (a read right after the last reply once found 198).
    auto statuses = [&] {
        std::vector<json::object> out;
        for (auto& o : finals())
            if (str(o, "verb") == "status") out.push_back(o);
        return out;
    };
    EXPECT_TRUE(eventually([&] { return statuses().size() >= 200; })) << statuses().size() << " of 200";
    std::size_t shared = 0, refused = 0;
    for (auto& o : statuses()) {
        shared += !str(o, "shared_with").empty();
        refused += str(o, "outcome") == "refused";
    }
    EXPECT_EQ(ok, 200);
    EXPECT_EQ(refused, 0u);
    EXPECT_LT(runs, 50u) << "concurrent requests share the run in flight";
    EXPECT_EQ(shared + runs, 200u);
    std::printf("MEASURE status burst: 200 clients, 0 refused, %zu script runs, %zu shared, %.1f s\n",
                runs, shared, wall);
}

TEST_F(GuardrailsTest, BudgetQuarantinesSurvivesRestartAndOnlyAnAdminResets) {
    reconfigure("", clients + "[service flaky]\nrestart = bin/ok\nstatus = bin/ok\nbudget = 2/1h\n");
    EXPECT_EQ(ctl({"restart", "flaky"}).exit_code, 0);
    EXPECT_EQ(ctl({"restart", "flaky"}).exit_code, 0) << "the 2nd of 2/1h runs";
    auto third = ctl({"restart", "flaky"});
    EXPECT_EQ(third.exit_code, 2) << third.output;
    EXPECT_TRUE(contains(third.output, "budget exhausted, flaky quarantined after 2 restarts in 1h "
                                       "(budget 2/1h)")) << third.output;
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 2u);
    auto fourth = ctl({"--json", "restart", "flaky"});
    EXPECT_EQ(str(parse_object(fourth.output), "reason"), "quarantined") << fourth.output;

    stop_listener();
    start_listener();
    auto after = ctl({"restart", "flaky"});
    EXPECT_EQ(after.exit_code, 2);
    EXPECT_TRUE(contains(after.output, "flaky is quarantined (quarantined after 2 restarts in 1h, since "))
        << after.output;
    auto info = ctl_as("viewer", {"info"});
    EXPECT_EQ(info.exit_code, 0) << info.output;
    EXPECT_TRUE(contains(info.output, "QUARANTINED since")) << info.output;
    EXPECT_TRUE(contains(info.output, "2/2 in 1h")) << info.output;
    EXPECT_TRUE(contains(info.output, "you are client 'viewer'")) << info.output;

    EXPECT_EQ(ctl({"reset", "flaky"}).exit_code, 2) << "nagios is no admin";
    EXPECT_EQ(ctl_as("viewer", {"reset", "flaky"}).exit_code, 2);
    EXPECT_EQ(str(last_audit(), "reason"), "not_authorized");
    auto reset = ctl_as("ops", {"reset", "flaky"});
    EXPECT_EQ(reset.exit_code, 0) << reset.output;
    EXPECT_TRUE(contains(reset.output, "quarantine lifted")) << reset.output;
    EXPECT_EQ(str(last_audit(), "client"), "ops");
    EXPECT_EQ(ctl({"restart", "flaky"}).exit_code, 0) << "a fresh budget window";
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 3u);
}

TEST_F(GuardrailsTest, ForceIsForAdminsAndAudited) {
    reconfigure("", clients + "[service flaky]\nrestart = bin/ok\nbudget = 1/1h\n");
    EXPECT_EQ(ctl({"restart", "flaky"}).exit_code, 0);
    EXPECT_EQ(ctl({"restart", "flaky"}).exit_code, 2);  // quarantined now
    auto nagios = ctl({"--json", "--force", "restart", "flaky"});
    EXPECT_EQ(nagios.exit_code, 2);
    EXPECT_EQ(str(parse_object(nagios.output), "reason"), "not_authorized") << nagios.output;
    auto ops = ctl_as("ops", {"--force", "restart", "flaky"});
    EXPECT_EQ(ops.exit_code, 0) << ops.output;
    EXPECT_TRUE(contains(ops.output, "HEAL OK: restart flaky (forced) on")) << ops.output;
    auto a = last_audit();
    EXPECT_TRUE(a.at("forced").as_bool());
    EXPECT_EQ(str(a, "client"), "ops");
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 2u);
    EXPECT_EQ(ctl({"restart", "flaky"}).exit_code, 2) << "force does not lift the quarantine";
}

TEST_F(GuardrailsTest, WhoMayDoWhat) {
    reconfigure("", clients);
    EXPECT_EQ(ctl({"restart", "web"}).exit_code, 0) << "nagios: restart";
    auto stop = ctl({"--json", "start", "web"});
    EXPECT_EQ(str(parse_object(stop.output), "reason"), "not_authorized") << stop.output;
    EXPECT_TRUE(contains(str(parse_object(stop.output), "message"), "its verbs: restart, status"));
    EXPECT_EQ(ctl_as("viewer", {"restart", "web"}).exit_code, 2);
    EXPECT_EQ(ctl_as("viewer", {"status", "web"}).exit_code, 0);
    auto stranger = ctl_as("stranger", {"--json", "status", "web"});
    EXPECT_EQ(str(parse_object(stranger.output), "reason"), "not_authorized") << stranger.output;
    EXPECT_TRUE(contains(stranger.output, "matches no [client] section")) << stranger.output;
    EXPECT_EQ(ctl_as("stranger", {"info"}).exit_code, 2);
    EXPECT_EQ(ctl_as("ops", {"start", "web"}).exit_code, 0);
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 3u) << "nagios' restart, viewer's status, ops' start";
}

TEST_F(GuardrailsTest, CooldownRefusesWithTimeLeft) {
    reconfigure("", "[service cool]\nrestart = bin/ok\ncooldown = 1s\nbudget = none\n");
    EXPECT_EQ(ctl({"restart", "cool"}).exit_code, 0);
    auto r = ctl({"--json", "restart", "cool"});
    EXPECT_EQ(str(parse_object(r.output), "reason"), "cooldown") << r.output;
    EXPECT_TRUE(contains(r.output, " s left of 1s after the last action on cool")) << r.output;
    EXPECT_TRUE(eventually([&] { return ctl({"restart", "cool"}).exit_code == 0; }, 3));
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 2u);
}

// The wall clock stepped back an hour must not stretch a cooldown to an hour; stepped forward
// two hours it must not end a cooldown or empty a budget window: within one boot, "how long
// ago" is measured on the boot clock. (The listener's wall clock is stepped by an LD_PRELOADed
// helper, build/clock-step.so; the machine's clock is never touched.)
TEST_F(GuardrailsTest, AWallClockStepNeitherStretchesNorEndsACooldownOrABudget) {
    const std::string step = dir_ / "clock-step";
    write_file(step, "0");
    stop_listener();
    write_config("", "[service cool]\nrestart = bin/ok\ncooldown = 30s\nbudget = 2/1h\n");
    start_listener({"/usr/bin/env", "LD_PRELOAD=" + bin("clock-step.so"), "HEAL_CLOCK_STEP_FILE=" + step,
                    "ASAN_OPTIONS=verify_asan_link_order=0"});
    ASSERT_EQ(ctl({"restart", "cool"}).exit_code, 0);
    write_file(step, "-3600000");  // back an hour
    auto back = ctl({"--json", "restart", "cool"});
    EXPECT_EQ(str(parse_object(back.output), "reason"), "cooldown") << back.output;
    const auto left = std::atof(str(parse_object(back.output), "message").c_str() + 10);  // "cooldown: 29.9 s left"
    EXPECT_GT(left, 25) << back.output;
    EXPECT_LE(left, 30) << "the wall clock's hour counted: " << back.output;
    write_file(step, "7200000");  // forward two hours
    auto forward = ctl({"--json", "restart", "cool"});
    EXPECT_EQ(str(parse_object(forward.output), "reason"), "cooldown") << forward.output;
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 1u);
    // The budget: 2/1h used up, then two hours "pass" on the wall clock only.
    stop_listener();
    write_config("", "[service cool]\nrestart = bin/ok\nbudget = 2/1h\n");
    write_file(step, "0");
    start_listener({"/usr/bin/env", "LD_PRELOAD=" + bin("clock-step.so"), "HEAL_CLOCK_STEP_FILE=" + step,
                    "ASAN_OPTIONS=verify_asan_link_order=0"});
    ASSERT_EQ(ctl({"restart", "cool"}).exit_code, 0);
    write_file(step, "7200000");
    auto over = ctl({"--json", "restart", "cool"});
    EXPECT_EQ(str(parse_object(over.output), "reason"), "budget_exhausted") << over.output;
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 2u);
}

TEST_F(GuardrailsTest, DryRunDecidesAuditsAndRunsNothing) {
    reconfigure("", "[service new]\nrestart = bin/ok\ndry_run = yes\nbudget = 1/1h\n");
    for (int i = 0; i < 3; ++i) {
        auto r = ctl({"restart", "new"});
        EXPECT_EQ(r.exit_code, 0) << r.output;
        EXPECT_TRUE(contains(r.output, "HEAL DRY RUN: restart new on 127.0.0.1: dry run: would restart new ("))
            << r.output;
    }
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
    EXPECT_EQ(str(last_audit(), "outcome"), "dry_run");
    EXPECT_TRUE(contains(ctl({"info"}).output, "0/1 in 1h")) << "no budget used";
}

TEST_F(GuardrailsTest, GlobalCapRefusesBeyondMaxConcurrentActions) {
    write_file(dir_ / "hold", "");
    reconfigure("max_concurrent_actions = 1\n", "[service held]\nrestart = bin/held\n");
    Child first(ctl_argv({"restart", "held"}));
    ASSERT_TRUE(eventually([&] { return !read_file(dir_ / "held.pid").empty(); }));
    auto r = ctl({"--json", "restart", "web"});
    EXPECT_EQ(str(parse_object(r.output), "reason"), "global_cap") << r.output;
    auto inetd = inetd_calls({{"--json", "restart", "web"}})[0].client;
    EXPECT_EQ(str(parse_object(inetd.output), "reason"), "global_cap")
        << "the cap spans processes: " << inetd.output;
    EXPECT_EQ(ctl({"status", "web"}).exit_code, 0) << "status is not capped";
    ::unlink((dir_ / "hold").c_str());
    EXPECT_EQ(first.wait().exit_code, 0);
    EXPECT_EQ(ctl({"restart", "web"}).exit_code, 0);
}

TEST_F(GuardrailsTest, CorruptOrNewerStoreRefusesActionsButNotStatus) {
    stop_listener();
    for (const char* f : {"state/heal.db", "state/heal.db-wal", "state/heal.db-shm"})
        ::unlink((dir_ / f).c_str());
    write_file(dir_ / "state/heal.db", std::string(8192, 'x'));
    start_listener();
    EXPECT_TRUE(contains(log(), "state store unavailable")) << log();
    auto r = ctl({"--json", "restart", "web"});
    EXPECT_EQ(str(parse_object(r.output), "reason"), "state_unavailable") << r.output;
    EXPECT_EQ(ctl({"status", "envdump"}).exit_code, 0);
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
    // Unknown is not OK: info says so for every service instead of "ok".
    auto info = ctl({"info"});
    EXPECT_TRUE(contains(info.output, "state store unavailable")) << info.output;
    EXPECT_FALSE(contains(info.output, "  ok\n")) << info.output;
    for (const char* svc : {"web ", "broken ", "slow "})
        EXPECT_TRUE(contains(info.output, "\n" + std::string(svc)) &&
                    contains(info.output.substr(info.output.find("\n" + std::string(svc))), "UNKNOWN: state store unavailable"))
            << svc << info.output;

    // A store from a newer heal: user_version (offset 60) above ours.
    stop_listener();
    ::unlink((dir_ / "state/heal.db").c_str());
    start_listener();
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0) << "a fresh store works";
    stop_listener();
    {
        std::fstream db(dir_ / "state/heal.db", std::ios::in | std::ios::out | std::ios::binary);
        db.seekp(60);
        const char v[4] = {0, 0, 0, 99};
        db.write(v, 4);
    }
    start_listener();
    EXPECT_TRUE(contains(log(), "schema version 99 is newer")) << log();
    r = ctl({"--json", "restart", "web"});
    EXPECT_EQ(str(parse_object(r.output), "reason"), "state_unavailable") << r.output;
    EXPECT_EQ(ctl({"status", "envdump"}).exit_code, 0);
}

TEST_F(GuardrailsTest, CheckConfigChecksStateDirAndAuditLog) {
    write_file(dir_ / "nodir.ini", config_text());
    auto text = config_text();
    text.replace(text.find("state_dir = state"), 17, "state_dir = missing");
    write_file(dir_ / "nodir.ini", text);
    auto r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "nodir.ini"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "missing' is not a folder")) << r.output;
    auto good = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(good.exit_code, 0) << good.output;
    EXPECT_TRUE(contains(good.output, "no [client NAME] sections")) << good.output;
    write_config("", "[service loose]\nrestart = bin/ok\nbudget = none\n");
    auto warn = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_TRUE(contains(warn.output, "[service loose] budget = none")) << warn.output;
}

TEST_F(GuardrailsTest, AllowlistDenialsAreAggregatedPerSource) {
    for (int i = 0; i < 20; ++i) ctl({"-b", "127.0.0.2", "status", "web"});
    auto denied = [&] {
        std::vector<json::object> out;
        for (auto& o : finals())
            if (str(o, "reason") == "not_allowed") out.push_back(o);
        return out;
    };
    // A denial's record gates nothing: the audit thread writes it after the connection closed.
    ASSERT_TRUE(eventually([&] { return !denied().empty(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_EQ(denied().size(), 1u) << "one record per source per 10 s";
    EXPECT_EQ(denied()[0].at("count").as_int64(), 1);
    stop_listener();  // flushes the window
    auto all = denied();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].at("count").as_int64(), 19);
    EXPECT_TRUE(contains(str(all[1], "message"), "19 more connection(s) from 127.0.0.2"));
}

// diagnose = ...: evidence captured before a restart or stop, kept, and read back by id.
class DiagnoseTest : public GuardrailsTest {
protected:
    void SetUp() override {
        GuardrailsTest::SetUp();
        const std::string d = dir_.path();
        script("diag", "echo \"diagnose $1 $HEAL_SERVICE $HEAL_REQUEST_ID\" >> " + d +
                           "/order.log\necho 'worker threads: 0 alive'\necho 'last error: OOM' >&2\n");
        script("act", "echo \"act $1\" >> " + d + "/order.log\necho acted\n");
        script("diaghang", "sleep 300\n");
        script("big", "head -c 400 /dev/zero | tr '\\0' x\n");
        reconfigure("", "[service diag]\nrestart = bin/act\nstop = bin/act\nstart = bin/act\n"
                        "diagnose = bin/diag\nbudget = none\n"
                        "[service diaghang]\nrestart = bin/act\ndiagnose = bin/diaghang\n"
                        "diagnose_timeout = 0.5s\n" + clients);
    }
    std::string diag_file(const std::string& id) const { return dir_ / ("state/diagnostics/" + id + ".log"); }
};

TEST_F(DiagnoseTest, RunsBeforeRestartAndIsKeptAndReferenced) {
    auto r = ctl_as("ops", {"--json", "restart", "diag"});
    ASSERT_EQ(r.exit_code, 0) << r.output << log();
    auto reply = parse_object(r.output);
    const std::string id = str(reply, "id");
    EXPECT_EQ(str(reply, "diagnostics"), id);
    EXPECT_TRUE(contains(str(reply, "diagnose_status"), "exit 0 in ")) << r.output;
    EXPECT_EQ(read_file(dir_ / "order.log"), "diagnose restart diag " + id + "\nact restart\n")
        << "diagnose first, with the action's verb and environment";
    const std::string text = read_file(diag_file(id));
    EXPECT_TRUE(contains(text, "worker threads: 0 alive\nlast error: OOM\n")) << text;
    EXPECT_TRUE(contains(text, "# diagnose: exit 0")) << text;
    struct stat st {};
    ASSERT_EQ(::stat(diag_file(id).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    int referenced = 0;
    for (auto& o : audit())
        if (str(o, "id") == id) {
            EXPECT_EQ(str(o, "diagnostics"), id) << json::serialize(o);
            ++referenced;
        }
    EXPECT_EQ(referenced, 2) << "the start and the final record";
    // start is not diagnosed.
    auto started = parse_object(ctl_as("ops", {"--json", "start", "diag"}).output);
    EXPECT_FALSE(started.contains("diagnostics"));
}

TEST_F(DiagnoseTest, AHangingDiagnoseIsKilledAndTheHealStillHappens) {
    double start = now_seconds();
    auto r = ctl_as("ops", {"--json", "restart", "diaghang"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_LT(now_seconds() - start, 5.0);
    auto reply = parse_object(r.output);
    EXPECT_EQ(str(reply, "outcome"), "ok");
    EXPECT_TRUE(contains(str(reply, "diagnose_status"), "timed out after 0.5s; killed")) << r.output;
    EXPECT_TRUE(contains(read_file(dir_ / "order.log"), "act restart")) << "the heal ran";
    EXPECT_TRUE(contains(read_file(diag_file(str(reply, "id"))), "# diagnose: timed out")) ;
}

TEST_F(DiagnoseTest, ReadBackByIdForThoseWhoMayActOnTheService) {
    const std::string id = str(parse_object(ctl_as("ops", {"--json", "restart", "diag"}).output), "id");
    auto ops = ctl_as("ops", {"diagnostics", id});
    EXPECT_EQ(ops.exit_code, 0) << ops.output;
    EXPECT_TRUE(contains(ops.output, "diagnostics of " + id + " (restart diag,")) << ops.output;
    EXPECT_TRUE(contains(ops.output, "worker threads: 0 alive")) << ops.output;
    // nagios may restart every service: allowed. viewer (status only) is refused.
    EXPECT_EQ(ctl({"diagnostics", id}).exit_code, 0) << "client.crt is [client nagios]";
    auto viewer = ctl_as("viewer", {"diagnostics", id});
    EXPECT_EQ(viewer.exit_code, 2) << viewer.output;
    EXPECT_TRUE(contains(viewer.output, "may not read the diagnostics of diag")) << viewer.output;
    auto stranger = ctl_as("stranger", {"diagnostics", id});
    EXPECT_EQ(stranger.exit_code, 2) << stranger.output;
    auto unknown = ctl_as("ops", {"--json", "diagnostics", "00000000-0000-4000-8000-000000000000"});
    EXPECT_EQ(str(parse_object(unknown.output), "reason"), "not_found") << unknown.output;
    auto junk = ctl_as("ops", {"--json", "diagnostics", "..etc"});
    EXPECT_EQ(str(parse_object(junk.output), "reason"), "bad_service_name") << junk.output;
    auto notid = ctl_as("ops", {"--json", "diagnostics", "web"});
    EXPECT_EQ(str(parse_object(notid.output), "reason"), "not_found") << notid.output;
    // The read is audited, without copying the diagnostics into the audit log.
    auto last = audit().back();
    EXPECT_EQ(str(last, "verb"), "diagnostics");
    EXPECT_FALSE(last.contains("output_excerpt"));
}

TEST_F(DiagnoseTest, PrunedByAgeAndThenOldestFirstBySize) {
    stop_listener();
    write_config("diagnostics_max_size = 1K\ndiagnostics_keep = 1d\n",
                 "[service diag]\nrestart = bin/act\ndiagnose = bin/big\nbudget = none\n" + clients);
    start_listener();
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i)
        ids.push_back(str(parse_object(ctl_as("ops", {"--json", "restart", "diag"}).output), "id"));
    // Each file is about 560 bytes (400 of output and the header lines): one fits in 1K, so the
    // newest stays and the older ones went, oldest first.
    EXPECT_TRUE(std::filesystem::exists(diag_file(ids[3])));
    EXPECT_FALSE(std::filesystem::exists(diag_file(ids[0])));
    EXPECT_FALSE(std::filesystem::exists(diag_file(ids[1])));
    EXPECT_FALSE(std::filesystem::exists(diag_file(ids[2])));
    // By age: a file two days old goes at the next action, even with room to spare.
    stop_listener();
    write_config("diagnostics_keep = 1d\n",
                 "[service diag]\nrestart = bin/act\ndiagnose = bin/big\nbudget = none\n" + clients);
    start_listener();
    const std::string old_id = str(parse_object(ctl_as("ops", {"--json", "restart", "diag"}).output), "id");
    timeval two_days_ago[2] = {{::time(nullptr) - 2 * 86400, 0}, {::time(nullptr) - 2 * 86400, 0}};
    ASSERT_EQ(::utimes(diag_file(old_id).c_str(), two_days_ago), 0);
    const std::string new_id = str(parse_object(ctl_as("ops", {"--json", "restart", "diag"}).output), "id");
    EXPECT_FALSE(std::filesystem::exists(diag_file(old_id)));
    EXPECT_TRUE(std::filesystem::exists(diag_file(new_id)));
    auto gone = ctl_as("ops", {"diagnostics", old_id});
    EXPECT_EQ(gone.exit_code, 2);
    EXPECT_TRUE(contains(gone.output, "no diagnostics kept for " + old_id)) << gone.output;
}

// heal-ctl history: actions and refusals from the state store, newest first.
class HistoryTest : public GuardrailsTest {
protected:
    void SetUp() override {
        GuardrailsTest::SetUp();
        reconfigure("", "[service audited]\nrestart = bin/ok\nbudget = none\n" + clients);
    }
    json::array history(const std::string& who, std::vector<std::string> args) {
        args.insert(args.begin(), {"--json", "history"});
        auto r = ctl_as(who, args);
        auto o = parse_object(r.output);
        EXPECT_EQ(str(o, "outcome"), "ok") << r.output;
        return o.contains("history") ? o.at("history").as_array() : json::array{};
    }
};

TEST_F(HistoryTest, ActionsAndRefusalsNewestFirstWithFiltersAndBounds) {
    const std::string ok_id = str(parse_object(ctl_as("ops", {"--json", "restart", "web"}).output), "id");
    const std::string failed_id = str(parse_object(ctl({"--json", "restart", "broken"}).output), "id");
    const std::string refused_id = str(parse_object(ctl_as("viewer", {"--json", "restart", "web"}).output), "id");
    auto all = history("ops", {});
    ASSERT_EQ(all.size(), 3u) << json::serialize(all);
    EXPECT_EQ(str(all[0].as_object(), "id"), refused_id);
    EXPECT_EQ(str(all[0].as_object(), "outcome"), "refused");
    EXPECT_EQ(str(all[0].as_object(), "reason"), "not_authorized");
    EXPECT_EQ(str(all[0].as_object(), "client"), "viewer");
    EXPECT_EQ(str(all[1].as_object(), "id"), failed_id);
    EXPECT_EQ(str(all[1].as_object(), "outcome"), "failed");
    EXPECT_EQ(str(all[1].as_object(), "client"), "nagios");
    EXPECT_EQ(str(all[2].as_object(), "id"), ok_id);
    EXPECT_EQ(str(all[2].as_object(), "outcome"), "ok");
    EXPECT_GE(all[2].as_object().at("duration_ms").as_int64(), 0);
    EXPECT_TRUE(all[2].as_object().at("verified").is_null());
    // Filters and bounds.
    auto web = history("ops", {"web"});
    EXPECT_EQ(web.size(), 2u);
    auto one = history("ops", {"--limit", "1"});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(str(one[0].as_object(), "id"), refused_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    const std::string late = str(parse_object(ctl_as("ops", {"--json", "restart", "audited"}).output), "id");
    auto recent = history("ops", {"--since", "1s"});
    ASSERT_EQ(recent.size(), 1u) << json::serialize(recent);
    EXPECT_EQ(str(recent[0].as_object(), "id"), late);
    // For people: one line each, newest first.
    auto text = ctl_as("ops", {"history", "web"});
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_TRUE(contains(text.output, "2 entries for web, newest first")) << text.output;
    EXPECT_LT(text.output.find(refused_id), text.output.find(ok_id)) << text.output;
    // Usage errors and who may look.
    EXPECT_EQ(ctl_as("ops", {"history", "--limit", "0"}).exit_code, 3);
    EXPECT_EQ(ctl_as("ops", {"history", "--limit", "1001"}).exit_code, 3);
    EXPECT_EQ(ctl_as("ops", {"history", "--since", "lately"}).exit_code, 3);
    EXPECT_EQ(ctl_as("ops", {"status", "web", "--limit", "3"}).exit_code, 3);
    auto stranger = ctl_as("stranger", {"history"});
    EXPECT_EQ(stranger.exit_code, 2) << stranger.output;
    EXPECT_EQ(history("viewer", {}).size(), 4u) << "status on every service: sees every line";
}

TEST_F(HistoryTest, AVersion1StoreIsMigratedAndKeepsItsActions) {
    stop_listener();
    std::filesystem::remove_all(dir_ / "state");
    ::mkdir((dir_ / "state").c_str(), 0750);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "state/heal.db").c_str(), &db), SQLITE_OK);
    // An hour ago: the listener prunes what ended more than 400 days ago.
    const auto started = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() - 3600000;
    const std::string sql =
        "CREATE TABLE actions (id TEXT PRIMARY KEY, service TEXT NOT NULL, verb "
                           "TEXT NOT NULL, client TEXT NOT NULL, subject TEXT NOT NULL, forced INTEGER "
                           "NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER, outcome TEXT, "
                           "reason TEXT, pid INTEGER, pid_start INTEGER);"
                           "CREATE TABLE services (service TEXT PRIMARY KEY, budget_epoch_ms INTEGER "
                           "NOT NULL DEFAULT 0, quarantined_ms INTEGER, quarantine_why TEXT);"
                           "INSERT INTO actions VALUES ('11111111-2222-4333-8444-555555555555', 'web', "
                           "'restart', 'ops', 'CN=ops', 0, " + std::to_string(started) + ", " +
        std::to_string(started + 200) + ", 'ok', '', 0, 0);PRAGMA user_version=1;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    start_listener();
    auto rows = history("ops", {});
    ASSERT_EQ(rows.size(), 1u) << log();
    EXPECT_EQ(str(rows[0].as_object(), "id"), "11111111-2222-4333-8444-555555555555");
    EXPECT_EQ(rows[0].as_object().at("duration_ms").as_int64(), 200);
    ASSERT_EQ(ctl_as("ops", {"restart", "web"}).exit_code, 0) << log();
    EXPECT_EQ(history("ops", {}).size(), 2u);
}

TEST_F(HistoryTest, AVersion4PauseWithoutAnEndBecomesAHoldOfSevenDays) {
    ASSERT_EQ(ctl_as("ops", {"restart", "web"}).exit_code, 0) << log();  // the store exists
    stop_listener();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "state/heal.db").c_str(), &db), SQLITE_OK);
    // As schema 4 left it: a pause in services, no holds table.
    const std::string sql = "DROP TABLE holds; INSERT OR REPLACE INTO services (service, paused_ms, paused_by) "
                            "VALUES ('web', 1700000000000, 'client ops'); PRAGMA user_version=4;";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    start_listener();
    auto held = ctl_as("viewer", {"--json", "info", "web"});
    auto paused = parse_object(held.output).at("info").at("services").at(0).at("paused");
    ASSERT_TRUE(paused.is_object()) << held.output;
    EXPECT_EQ(str(paused.as_object(), "by"), "client ops");
    EXPECT_EQ(str(paused.as_object(), "reason"), "paused before holds had an end");
    const auto until_s = paused.as_object().at("until_epoch_s").as_int64();
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_NEAR(static_cast<double>(until_s - now_s), 7 * 86400.0, 60) << "7 days from the upgrade";
    EXPECT_EQ(ctl_as("ops", {"resume", "web"}).exit_code, 0);
}

// check_heal: Nagios watching heal itself.
class CheckHealTest : public GuardrailsTest {
protected:
    void SetUp() override {
        GuardrailsTest::SetUp();
        reconfigure("", clients);
    }
    RunResult check_heal(std::vector<std::string> args, unsigned short port = 0) {
        std::vector<std::string> argv{bin("check_heal"), "-H", "127.0.0.1", "-p",
                                      std::to_string(port ? port : port_), "--cert",
                                      cert("main", "client.crt"), "--key", cert("main", "client.key"),
                                      "--ca", cert("main", "ca.crt"), "-t", "5"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv);
    }
};

TEST_F(CheckHealTest, OkThenWarningPastHalfTheBudgetThenCriticalWhenQuarantined) {
    auto fine = check_heal({"-s", "web"});
    EXPECT_EQ(fine.exit_code, 0) << fine.output;
    EXPECT_TRUE(contains(fine.output, "HEAL OK: 1 service(s) on 127.0.0.1, none quarantined")) << fine.output;
    EXPECT_TRUE(contains(fine.output, "web_actions=0;1;;0;3 web_budget=3;;;0 web_refusals=0c;;;0")) << fine.output;
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    EXPECT_EQ(check_heal({"-s", "web"}).exit_code, 0) << "1 of 3 is not more than half";
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    auto warn = check_heal({});
    EXPECT_EQ(warn.exit_code, 1) << warn.output;
    EXPECT_TRUE(contains(warn.output, "HEAL WARNING: web used 2 of its budget of 3")) << warn.output;
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    EXPECT_EQ(ctl({"restart", "web"}).exit_code, 2) << "the 4th: budget exhausted, quarantined";
    auto crit = check_heal({});
    EXPECT_EQ(crit.exit_code, 2) << crit.output;
    EXPECT_TRUE(contains(crit.output, "HEAL CRITICAL: web quarantined since ")) << crit.output;
    EXPECT_TRUE(contains(crit.output, ": quarantined after 3 restarts in 1h")) << crit.output;
    EXPECT_TRUE(contains(crit.output, "web_refusals=1c")) << crit.output;
    ASSERT_EQ(ctl_as("ops", {"reset", "web"}).exit_code, 0);
    EXPECT_EQ(check_heal({"-s", "web"}).exit_code, 0) << "reset: a fresh window";
}

// 300 services' perfdata pass Nagios' 8 KiB: whole items only, the quarantined service first.
TEST_F(CheckHealTest, ManyServicesStayUnderNagiosLimitWorstFirst) {
    std::string many = clients + "[service zz]\nrestart = bin/ok\nbudget = 1/1h\n";
    for (int i = 0; i < 300; ++i) many += "[service s" + std::to_string(i) + "]\nstatus = bin/ok\n";
    reconfigure("", many);
    ASSERT_EQ(ctl({"restart", "zz"}).exit_code, 0);
    ASSERT_EQ(ctl({"restart", "zz"}).exit_code, 2) << "budget 1/1h: quarantined";
    auto r = check_heal({});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_LE(r.output.size(), 8000u);
    const auto first = r.output.substr(0, r.output.find('\n'));
    // The certificates are valid for 30 days from their making: 29 days left, or 30 within the
    // second they were made (days are rounded down).
    EXPECT_TRUE(contains(first, "| cert_days=29;14 zz_actions=1;0;;0;1 zz_budget=1;;;0 zz_refusals=1c;;;0 broken_") ||
                contains(first, "| cert_days=30;14 zz_actions=1;0;;0;1 zz_budget=1;;;0 zz_refusals=1c;;;0 broken_"))
        << first;
    EXPECT_TRUE(contains(r.output, "more perfdata item(s) not shown")) << r.output;
    EXPECT_EQ(first.substr(first.size() - 5), "c;;;0") << "cut inside an item: " << first;
}

TEST_F(CheckHealTest, NoAnswerCertificateExpiryAndUsage) {
    ClosedPort closed;
    auto down = check_heal({}, closed.port());
    EXPECT_EQ(down.exit_code, 2) << down.output;
    EXPECT_TRUE(contains(down.output, "HEAL CRITICAL: no answer from heal-listener on 127.0.0.1")) << down.output;
    auto soon = check_heal({"-C", "99999"});
    EXPECT_EQ(soon.exit_code, 1) << soon.output;
    EXPECT_TRUE(contains(soon.output, "the listener's certificate expires in ")) << soon.output;
    EXPECT_TRUE(contains(soon.output, "cert_days=")) << soon.output;
    EXPECT_EQ(check_heal({"-C", "99999,99999"}).exit_code, 2);
    auto missing = check_heal({"-s", "nosuch"});
    EXPECT_EQ(missing.exit_code, 3) << missing.output;
    EXPECT_TRUE(contains(missing.output, "no service nosuch")) << missing.output;
    for (auto args : std::vector<std::vector<std::string>>{{"-C", "x"}, {"-s", "../x"}, {"--bogus"}, {"-t", "0"}}) {
        auto r = check_heal(args);
        EXPECT_EQ(r.exit_code, 3) << args[0] << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "HEAL UNKNOWN: ")) << r.output;
    }
    EXPECT_EQ(run({bin("check_heal"), "--help"}).exit_code, 0);
    EXPECT_TRUE(contains(run({bin("check_heal"), "-V"}).output, "check_heal " HEAL_VERSION));
    auto stranger = run({bin("check_heal"), "-H", "127.0.0.1", "-p", std::to_string(port_), "--cert",
                         cert("main", "stranger.crt"), "--key", cert("main", "stranger.key"), "--ca",
                         cert("main", "ca.crt")});
    EXPECT_EQ(stranger.exit_code, 3) << "refused info is a configuration matter: " << stranger.output;
}

// Prometheus /metrics: plain HTTP on metrics_listen, values from the state store.
class MetricsTest : public GuardrailsTest {
protected:
    unsigned short metrics_port_ = 0;
    void SetUp() override {
        GuardrailsTest::SetUp();
        with_metrics(clients);
    }
    /// Restarts the listener with /metrics on and these sections; learns the metrics port.
    void with_metrics(const std::string& sections) {
        reconfigure("metrics_listen = 127.0.0.1:0\n", sections);
        const std::string text = log(), marker = "metrics on http://127.0.0.1:";
        auto at = text.find(marker);
        ASSERT_NE(at, std::string::npos) << text;
        metrics_port_ = static_cast<unsigned short>(std::atoi(text.c_str() + at + marker.size()));
    }
    /// A raw HTTP exchange: what the server sent back.
    std::string http(const std::string& request) const {
        int s = raw_connect(metrics_port_);
        if (s < 0) return "";
        [[maybe_unused]] auto w = ::write(s, request.data(), request.size());
        std::string out;
        char buf[65536];
        for (ssize_t n; (n = ::read(s, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
        ::close(s);
        return out;
    }
    std::string metrics() const { return http("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); }
};

TEST_F(MetricsTest, CountsFromTheStoreAfterKnownActions) {
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    ASSERT_EQ(ctl({"restart", "broken"}).exit_code, 1);
    ASSERT_EQ(ctl_as("viewer", {"restart", "web"}).exit_code, 2);
    // One action by an --inetd instance: the store counts it too.
    auto inetd = inetd_calls({{"restart", "slow"}});
    ASSERT_EQ(inetd[0].client.exit_code, 0) << inetd[0].client.output;
    auto m = metrics();
    EXPECT_TRUE(contains(m, "HTTP/1.1 200 OK")) << m;
    EXPECT_TRUE(contains(m, "Content-Type: text/plain; version=0.0.4")) << m;
    EXPECT_TRUE(contains(m, "heal_actions_total{service=\"web\",verb=\"restart\",outcome=\"ok\"} 2\n")) << m;
    EXPECT_TRUE(contains(m, "heal_actions_total{service=\"broken\",verb=\"restart\",outcome=\"failed\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_actions_total{service=\"slow\",verb=\"restart\",outcome=\"ok\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_refusals_total{reason=\"not_authorized\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_budget_used{service=\"web\"} 2\n")) << m;
    EXPECT_TRUE(contains(m, "heal_budget_limit{service=\"web\"} 3\n")) << m;
    EXPECT_TRUE(contains(m, "heal_quarantined{service=\"web\"} 0\n")) << m;
    EXPECT_TRUE(contains(m, "heal_action_duration_seconds_bucket{service=\"slow\",verb=\"restart\",le=\"0.5\"} 0\n")) << m;
    EXPECT_TRUE(contains(m, "heal_action_duration_seconds_bucket{service=\"slow\",verb=\"restart\",le=\"2\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_action_duration_seconds_count{service=\"web\",verb=\"restart\"} 2\n")) << m;
    EXPECT_TRUE(contains(m, "heal_build_info{version=\"" HEAL_VERSION "\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_connections_open 0\n")) << m;
    EXPECT_TRUE(contains(m, "heal_diagnostics_bytes 0\n")) << m;
    write_file(dir_ / "metrics.txt", m.substr(m.find("\r\n\r\n") + 4));
}

TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
    if (::access("/usr/bin/promtool", X_OK) != 0)
        GTEST_SKIP() << "promtool is not installed (apt-get install prometheus): /metrics WAS NOT VALIDATED";
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    ASSERT_EQ(ctl_as("viewer", {"restart", "web"}).exit_code, 2);
    auto m = metrics();
    write_file(dir_ / "metrics.txt", m.substr(m.find("\r\n\r\n") + 4));
    // promtool reads the exposition on stdin.
    auto r = run({"/bin/sh", "-c", "exec /usr/bin/promtool check metrics < \"$0\"", dir_ / "metrics.txt"});
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << m;
    EXPECT_EQ(r.output, "") << "promtool says nothing when it has nothing to say";
}

TEST_F(MetricsTest, TheWatchLoopIsCountedAndPromtoolAcceptsIt) {
    with_metrics(clients + "[service watched]\nstatus = bin/fail\nrestart = bin/ok\nwatch = 100ms\nheal_after = 2\ncooldown = 1h\n");
    std::string m;
    ASSERT_TRUE(eventually([&] {
        m = metrics();
        return contains(m, "heal_watch_heals_total{service=\"watched\",outcome=\"refused\"}");
    })) << m;
    EXPECT_TRUE(contains(m, "heal_watch_heals_total{service=\"watched\",outcome=\"ok\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_watch_runs_total{service=\"watched\",result=\"failed\"} ")) << m;
    EXPECT_FALSE(contains(m, "heal_watch_runs_total{service=\"watched\",result=\"ok\"}")) << m;
    EXPECT_TRUE(contains(m, "heal_actions_total{service=\"watched\",verb=\"restart\",outcome=\"ok\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "heal_refusals_total{reason=\"cooldown\"} ")) << m;
    // heal's own alert rules (etc/prometheus/heal-rules.yml) read only metrics the listener exports.
    const std::string rules = read_file(src_dir() + "/etc/prometheus/heal-rules.yml");
    std::set<std::string> used;
    for (std::size_t at = rules.find("heal_"); at != std::string::npos; at = rules.find("heal_", at + 1)) {
        if (at > 0 && (std::isalnum(static_cast<unsigned char>(rules[at - 1])) || rules[at - 1] == '-')) continue;
        auto end = rules.find_first_not_of("abcdefghijklmnopqrstuvwxyz_", at);
        used.insert(rules.substr(at, end - at));
    }
    EXPECT_GE(used.size(), 5u);
    // Exported: a family the listener declares (one without samples, such as a pause's end while
    // nothing is paused, declares itself all the same).
    for (const auto& name : used) EXPECT_TRUE(contains(m, "\n# TYPE " + name + " ")) << name;
    if (::access("/usr/bin/promtool", X_OK) != 0) return;
    write_file(dir_ / "metrics.txt", m.substr(m.find("\r\n\r\n") + 4));
    auto r = run({"/bin/sh", "-c", "exec /usr/bin/promtool check metrics < \"$0\"", dir_ / "metrics.txt"});
    EXPECT_EQ(r.exit_code, 0) << r.output << "\n" << m;
}

TEST_F(MetricsTest, OnlyGetMetricsAndAHostileClientStallsNothing) {
    EXPECT_TRUE(contains(http("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "HTTP/1.1 404")) ;
    auto post = http("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(contains(post, "HTTP/1.1 405")) << post;
    EXPECT_TRUE(contains(post, "Allow: GET")) << post;
    EXPECT_TRUE(http("GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").find("200 OK") ==
                std::string::npos) << "headers over 8 KiB are not served";
    EXPECT_TRUE(http("\x16\x03\x01 not http\r\n\r\n").find("200 OK") == std::string::npos);
    // Sixteen silent clients hold every metrics slot: TLS requests go on, and the silent ones
    // are closed after io_timeout (2 s here).
    std::vector<int> silent;
    for (int i = 0; i < 20; ++i) {
        int s = raw_connect(metrics_port_);
        ASSERT_GE(s, 0);
        silent.push_back(s);
    }
    double start = now_seconds();
    EXPECT_EQ(ctl({"status", "web"}).exit_code, 0);
    EXPECT_LT(now_seconds() - start, 1.5) << "the TLS listener is not held up";
    char byte;
    EXPECT_EQ(::read(silent[0], &byte, 1), 0) << "closed by the server after io_timeout";
    for (int s : silent) ::close(s);
    EXPECT_TRUE(eventually([&] { return contains(metrics(), "200 OK"); }, 5)) << "slots free again";
}

// Another process holds the state database (BEGIN EXCLUSIVE) for 4 s, then the audit log's lock
// for 4 s. Meanwhile new TLS handshakes complete, `heal-ctl status` answers and another
// service's watch loop keeps its rhythm: the store and the audit log have threads of their own.
// Only the restart that needs them waits: for the database until it is free, for the audit log
// until its bound (refused, nothing run). The status records written meanwhile are kept back
// and written once the lock is free: none is lost.
TEST_F(GuardrailsTest, AStoreOrAuditLockHeldElsewhereHoldsUpOnlyTheRequestThatNeedsIt) {
    const std::string d = dir_.path();
    script("tick", "echo t >> " + d + "/ticks.log\necho 'TICK OK'\n");
    script("fix", "echo fixed >> " + d + "/fixes.log\n");
    reconfigure("", "[service ticker]\nstatus = bin/tick\nrestart = bin/ok\nwatch = 100ms\nheal_after = 1000\n"
                    "[service fix]\nrestart = bin/fix\nbudget = none\n");
    ASSERT_EQ(ctl({"restart", "fix"}).exit_code, 0);  // the store and the audit log exist
    const auto fixes = [&] { return read_lines(dir_ / "fixes.log").size(); };
    const std::size_t ran = fixes();
    const auto ticks = [&] { return read_lines(dir_ / "ticks.log").size(); };
    // While something is held: statuses (each a new TLS handshake) answer, the loop ticks on.
    auto meanwhile = [&](double seconds, const char* what) {
        const std::size_t ticks0 = ticks();
        const double t0 = now_seconds();
        double slowest = 0;
        int answered = 0;
        while (now_seconds() - t0 < seconds) {
            const double s0 = now_seconds();
            auto r = ctl({"status", "web"});
            slowest = std::max(slowest, now_seconds() - s0);
            answered += r.exit_code == 0;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        const double took = now_seconds() - t0;
        EXPECT_GE(answered, 5) << what;
        EXPECT_LT(slowest, 0.5) << what << ": a status waited behind the held lock";
        // 100 ms rounds (about 0.2 s with the script under ASan); the held thread gave 1 in 5 s.
        EXPECT_GE(ticks() - ticks0, static_cast<std::size_t>(took / 0.4)) << what << ": the watch loop stalled";
        return answered;
    };
    {  // the database
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((d + "/state/heal.db").c_str(), &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 2000);
        ASSERT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        const double t0 = now_seconds();
        Child restart(ctl_argv({"--json", "restart", "fix"}));
        meanwhile(3.5, "database held");
        EXPECT_EQ(fixes(), ran) << "the restart ran without its start in the store";
        EXPECT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
        sqlite3_close(db);
        auto r = restart.wait(10);
        EXPECT_EQ(r.exit_code, 0) << "it waited for the store, then ran (after " << r.seconds << " s): " << r.output;
        EXPECT_GE(now_seconds() - t0, 3.5);
        EXPECT_EQ(fixes(), ran + 1);
    }
    {  // the audit log
        const auto finals_before = finals().size();
        const pid_t holder = hold_reader_lock(dir_ / "audit.jsonl", true);
        ASSERT_GT(holder, 0);
        Child restart(ctl_argv({"--json", "restart", "fix"}));
        const int answered = meanwhile(3.5, "audit log held");
        auto r = restart.wait(10);
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_EQ(str(parse_object(r.output), "reason"), "audit_unavailable") << r.output;
        EXPECT_EQ(fixes(), ran + 1) << "no record, no action";
        release(holder);
        // The status records kept back meanwhile are written now, with the time they happened.
        EXPECT_TRUE(eventually([&] { return finals().size() >= finals_before + answered; }, 5))
            << finals().size() - finals_before << " of " << answered << " status records written\n" << log();
    }
}
