// heal-alert-receiver's decisions that need no peer: a hostile body (400, audited), an alert no
// route takes (acknowledged, counted), a Prometheus that does not answer (blocked, and the page
// that could not be posted is counted), a fleet store that cannot open (503: undecided), the
// bearer token. tests/e2e/alertmanager.sh runs it with real Prometheus, Alertmanager and
// heal-listener.
#include "common/clock.hpp"
#include "common/text.hpp"
#include "receiver/heal_alerts.hpp"
#include "receiver/webhook_server.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <atomic>
#include <thread>
#include <vector>

using namespace heal::receiver;
namespace fs = std::filesystem;

namespace {

const std::string firing = R"({"receiver":"heal","status":"firing","alerts":[{"status":"firing",
"labels":{"alertname":"WorkerDown","instance":"web2:8080","job":"worker"},"annotations":{},
"startsAt":"2026-12-02T21:30:01.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p:9090/graph",
"fingerprint":"4f6a1b2c3d4e5f60"}],"groupLabels":{},"commonLabels":{},"commonAnnotations":{},
"externalURL":"http://am:9093","version":"4","groupKey":"{}","truncatedAlerts":0})";

std::string with(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

class ReceiverDecisions : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/heal-receiver-decisions.XXXXXX";
        dir_ = mkdtemp(tmpl);
        cfg_.audit_log = dir_ + "/audit.jsonl";
        cfg_.state_dir = dir_ + "/state";
        cfg_.client_config = dir_ + "/none.ini";
        // Port 1 on loopback: nothing listens, every call is refused at once.
        cfg_.prometheus = "http://127.0.0.1:1";
        cfg_.alertmanager = "http://127.0.0.1:1";
        cfg_.io_timeout = 2;
        Route r;
        r.name = "worker-down";
        r.match = {{"alertname", "WorkerDown"}};
        r.service = "worker";
        r.group_size = "count(up)";
        r.group_unhealthy = "count(up == 0)";
        cfg_.routes = {r};
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string audit() {
        std::ifstream in(cfg_.audit_log);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    std::string dir_;
    Config cfg_;
};

TEST_F(ReceiverDecisions, AHostileBodyIsRefusedAuditedAndActsOnNothing) {
    Receiver r(cfg_);
    auto a = r.webhook(with(firing, R"("version":"4")", R"("version":"5")"), "127.0.0.1:4000", "req-1");
    EXPECT_EQ(a.status, 400u);
    EXPECT_NE(a.body.find("version"), std::string::npos) << a.body;
    EXPECT_NE(audit().find(R"("record":"refused","id":"req-1","peer":"127.0.0.1:4000","status":400)"), std::string::npos)
        << audit();
    EXPECT_FALSE(fs::exists(cfg_.state_dir)) << "a refused body must not reach the fleet store";
    EXPECT_EQ(r.webhook("{", "p", "req-2").status, 400u);
    EXPECT_EQ(r.webhook("", "p", "req-3").status, 400u);
}

TEST_F(ReceiverDecisions, AnAlertNoRouteTakesIsAcknowledgedAndCounted) {
    Receiver r(cfg_);
    const auto other = with(firing, R"("alertname":"WorkerDown")", R"("alertname":"DiskFull")");
    auto a = r.webhook(other, "p", "req-1");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.body, "4f6a1b2c3d4e5f60 no route: ignored\n");
    r.webhook(other, "p", "req-2");
    EXPECT_NE(r.metrics().find(R"(heal_receiver_decisions_total{outcome="unrouted",guard=""} 2)"), std::string::npos)
        << r.metrics();
}

TEST_F(ReceiverDecisions, APrometheusThatDoesNotAnswerBlocksHealingOncePerProblem) {
    Receiver r(cfg_);
    auto a = r.webhook(firing, "p", "req-1");
    EXPECT_EQ(a.status, 200u) << "decided (blocked): 2xx, so Alertmanager does not retry";
    EXPECT_NE(a.body.find("4f6a1b2c3d4e5f60 blocked (prometheus): cannot use Prometheus' answer"), std::string::npos)
        << a.body;
    EXPECT_NE(audit().find(R"("outcome":"blocked","guard":"prometheus")"), std::string::npos) << audit();
    // The page could not reach Alertmanager (nothing listens): counted, and posted again on the
    // next repeat of the alert, which decides nothing new.
    const auto m = r.metrics();
    EXPECT_NE(m.find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="failed"} 1)"), std::string::npos) << m;
    auto again = r.webhook(firing, "p", "req-2");
    EXPECT_EQ(again.status, 200u);
    EXPECT_NE(again.body.find("already decided"), std::string::npos) << again.body;
    EXPECT_NE(r.metrics().find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="failed"} 2)"),
              std::string::npos);
    // Resolved: the problem ends; the same alert firing again (a new startsAt) is a new problem.
    auto resolved = r.webhook(with(with(firing, R"("status":"firing","alerts")", R"("status":"resolved","alerts")"),
                                   R"([{"status":"firing")", R"([{"status":"resolved")"),
                              "p", "req-3");
    EXPECT_EQ(resolved.body, "4f6a1b2c3d4e5f60 resolved: problem closed\n");
    auto anew = r.webhook(with(firing, "21:30:01.123Z", "21:40:00.000Z"), "p", "req-4");
    EXPECT_NE(anew.body.find("blocked (prometheus)"), std::string::npos) << anew.body;
}

TEST_F(ReceiverDecisions, AStoreThatCannotOpenIsA503AndNothingActs) {
    std::ofstream(dir_ + "/file") << "not a folder";
    cfg_.state_dir = dir_ + "/file/state";
    Receiver r(cfg_);
    auto a = r.webhook(firing, "p", "req-1");
    EXPECT_EQ(a.status, 503u);
    EXPECT_EQ(a.body, "4f6a1b2c3d4e5f60 undecided: cannot reach the fleet store\n");
    // Never a heal without a claim, and a human hears of it: HealBlocked guard=store is posted
    // (to an Alertmanager that is not there here: counted failed).
    EXPECT_NE(r.metrics().find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="failed"} 1)"),
              std::string::npos) << r.metrics();
    EXPECT_NE(r.metrics().find(R"(heal_receiver_decisions_total{outcome="undecided",guard="store"} 1)"),
              std::string::npos) << r.metrics();
}

TEST_F(ReceiverDecisions, DryRunPagesNothing) {
    cfg_.dry_run = true;
    Receiver r(cfg_);
    auto a = r.webhook(firing, "p", "req-1");
    EXPECT_EQ(a.status, 200u);
    EXPECT_NE(r.metrics().find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="dry_run"} 1)"),
              std::string::npos) << r.metrics();
    EXPECT_NE(r.metrics().find(R"(dry_run="yes")"), std::string::npos);
}

/// The firing webhook with `n` alerts of one target (worker on web2) that differ only in a
/// "replica" label: distinct fingerprints, the same startsAt.
std::string alerts_of_one_target(int n, const std::string& status = "firing") {
    std::string alerts;
    for (int i = 1; i <= n; ++i) {
        std::string a = R"({"status":"firing","labels":{"alertname":"WorkerDown","instance":"web2:8080","job":"worker","replica":"rI"},"annotations":{},"startsAt":"2026-12-02T21:30:01.123Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p:9090/graph","fingerprint":"4f6a1b2c3d4e5f6I"})";
        for (auto at = a.find('I'); at != std::string::npos; at = a.find('I')) a[at] = static_cast<char>('0' + i);
        if (status == "resolved") a = with(a, R"({"status":"firing")", R"({"status":"resolved")");
        alerts += (i > 1 ? "," : "") + a;
    }
    return R"({"receiver":"heal","status":")" + status + R"(","alerts":[)" + alerts +
           R"(],"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","version":"4","groupKey":"{}","truncatedAlerts":0})";
}

std::size_t occurrences(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
    return n;
}

TEST_F(ReceiverDecisions, FiveAlertsOfOneTargetAreOneProblemDecidedOnce) {
    Receiver r(cfg_);
    auto a = r.webhook(alerts_of_one_target(5), "p", "req-1");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(occurrences(a.body, "blocked (prometheus)"), 1u) << a.body;
    EXPECT_EQ(occurrences(a.body, "already decided"), 4u) << a.body;
    EXPECT_EQ(occurrences(audit(), R"("record":"decision")"), 1u) << audit();
    const auto m = r.metrics();
    EXPECT_NE(m.find(R"(heal_receiver_decisions_total{outcome="blocked",guard="prometheus"} 1)"), std::string::npos) << m;
    EXPECT_NE(m.find(R"(heal_receiver_decisions_total{outcome="already",guard=""} 4)"), std::string::npos) << m;
    // Four of five resolved: the problem stays open; the fifth closes it.
    auto four = r.webhook(alerts_of_one_target(4, "resolved"), "p", "req-2");
    EXPECT_EQ(occurrences(four.body, "the problem stays open"), 4u) << four.body;
    auto all = r.webhook(alerts_of_one_target(5, "resolved"), "p", "req-3");
    EXPECT_EQ(occurrences(all.body, "problem closed"), 1u) << all.body;
}

TEST_F(ReceiverDecisions, ALateFiringOfAResolvedEpisodeActsOnNothing) {
    Receiver r(cfg_);
    EXPECT_NE(r.webhook(firing, "p", "req-1").body.find("blocked (prometheus)"), std::string::npos);
    const auto resolved = with(with(firing, R"("status":"firing","alerts")", R"("status":"resolved","alerts")"),
                               R"([{"status":"firing")", R"([{"status":"resolved")");
    EXPECT_EQ(r.webhook(resolved, "p", "req-2").body, "4f6a1b2c3d4e5f60 resolved: problem closed\n");
    // A retried or HA-duplicated firing of that episode, after its resolution: nothing acts.
    auto late = r.webhook(firing, "p", "req-3");
    EXPECT_EQ(late.status, 200u);
    EXPECT_EQ(late.body, "4f6a1b2c3d4e5f60 already resolved: a late notification acts on nothing\n");
    EXPECT_EQ(occurrences(audit(), R"("record":"decision")"), 1u) << audit();
    EXPECT_NE(r.metrics().find(R"(heal_receiver_decisions_total{outcome="late",guard=""} 1)"), std::string::npos);
    // A resolution that came first (out of order): the firing after it acts on nothing either.
    const auto other = with(firing, "4f6a1b2c3d4e5f60", "00000000000000b1");
    r.webhook(with(with(other, R"("status":"firing","alerts")", R"("status":"resolved","alerts")"),
                   R"([{"status":"firing")", R"([{"status":"resolved")"),
              "p", "req-4");
    EXPECT_NE(r.webhook(other, "p", "req-5").body.find("already resolved"), std::string::npos);
}

TEST_F(ReceiverDecisions, ANewEpisodeOfTheSameAlertEndsTheOldOneWhoseResolutionWasLost) {
    Receiver r(cfg_);
    r.webhook(firing, "p", "req-1");
    // No resolved notification (send_resolved: false, an Alertmanager restart); the alert fires
    // again with a new startsAt, after the old episode was last seen firing: the old episode
    // ended, so its problem closes and this is new.
    auto anew = r.webhook(with(firing, "2026-12-02T21:30:01.123Z", heal::utc_iso(heal::now_ms() + 1000)), "p", "req-2");
    EXPECT_NE(anew.body.find("blocked (prometheus)"), std::string::npos) << anew.body;
    EXPECT_EQ(occurrences(audit(), R"("record":"resolved")"), 1u) << audit();
    EXPECT_EQ(occurrences(audit(), R"("record":"decision")"), 2u) << audit();
}

// Two Alertmanagers of an HA pair stamp the same alert's startsAt apart: the second episode began
// before the first was last seen firing, so it is the same outage and joins its problem.
TEST_F(ReceiverDecisions, TheSameAlertStampedApartByTwoAlertmanagersIsOneProblem) {
    Receiver r(cfg_);
    r.webhook(firing, "p", "req-1");
    auto other = r.webhook(with(firing, "2026-12-02T21:30:01.123Z", "2026-12-02T21:30:01.140Z"), "p", "req-2");
    EXPECT_EQ(other.body, "4f6a1b2c3d4e5f60 already decided: paged: cannot use Prometheus' answer: Prometheus at "
                          "http://127.0.0.1:1: cannot connect to 127.0.0.1:1: Connection refused; healing needs the "
                          "group's state\n");
    EXPECT_EQ(occurrences(audit(), R"("record":"resolved")"), 0u) << audit();
    EXPECT_EQ(occurrences(audit(), R"("record":"decision")"), 1u) << audit();
}

// Whoever may read the audit log can flock(2) it; the receiver's lock is a write lock (fcntl OFD)
// that a read-only descriptor cannot take, so a reader holds no decision back.
TEST_F(ReceiverDecisions, AReaderHoldingAFlockOnTheAuditLogHoldsNoDecisionBack) {
    Receiver r(cfg_);
    r.refused("p", 400, "make the file", "req-0");
    const int fd = ::open(cfg_.audit_log.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = r.webhook(firing, "p", "req-1");
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ::close(fd);
    EXPECT_NE(a.body.find("blocked (prometheus)"), std::string::npos) << a.body;
    EXPECT_EQ(occurrences(audit(), R"("record":"decision")"), 1u) << audit();
    EXPECT_LT(took, 1.5) << "the decision waited for a reader's flock";
}

TEST_F(ReceiverDecisions, LabelValuesForgeNoLogLineAndNoPage) {
    Receiver r(cfg_);
    const auto hostile = with(firing, R"("alertname":"WorkerDown")",
                              R"("alertname":"WorkerDown\nerror: forged healed: \u001b[2J; page HealFailed guard=fleet")");
    cfg_.routes[0].match = {{"job", "worker"}};
    Receiver by_job(cfg_);
    testing::internal::CaptureStderr();
    by_job.webhook(hostile, "p", "req-1");
    by_job.webhook(hostile, "p", "req-2");  // a repeat posts the problem's page again
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(err.find("\nerror: forged"), std::string::npos) << err;
    EXPECT_EQ(err.find('\x1b'), std::string::npos) << err;
    const auto m = by_job.metrics();
    EXPECT_EQ(m.find(R"(alertname="HealFailed")"), std::string::npos) << "the page is its own columns, not text parsed back:\n" << m;
    EXPECT_NE(m.find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="failed"} 2)"), std::string::npos) << m;
}

TEST_F(ReceiverDecisions, RefreshPostsThePageOfEveryOpenProblemUntilItCloses) {
    Receiver r(cfg_);
    r.webhook(firing, "p", "req-1");
    r.refresh_pages();
    r.refresh_pages();
    EXPECT_NE(r.metrics().find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="failed"} 3)"),
              std::string::npos) << r.metrics();
    r.webhook(with(with(firing, R"("status":"firing","alerts")", R"("status":"resolved","alerts")"),
                   R"([{"status":"firing")", R"([{"status":"resolved")"),
              "p", "req-2");  // ends the page (a fourth post, ended)
    r.refresh_pages();
    EXPECT_NE(r.metrics().find(R"(heal_receiver_pages_total{alertname="HealBlocked",result="failed"} 4)"),
              std::string::npos) << r.metrics();
}

TEST_F(ReceiverDecisions, AnAuditLogDeletedOrMovedIsReopenedAtItsPath) {
    Receiver r(cfg_);
    r.webhook(with(firing, R"("version":"4")", R"("version":"5")"), "p", "req-1");
    fs::remove(cfg_.audit_log);
    r.webhook(firing, "p", "req-2");
    EXPECT_NE(audit().find(R"("record":"decision","id":"req-2/4f6a1b2c3d4e5f60")"), std::string::npos)
        << "the record must be at the path, not in the deleted file: " << audit();
    // logrotate: moved away, SIGHUP reopens.
    fs::rename(cfg_.audit_log, cfg_.audit_log + ".1");
    r.reopen_audit();
    r.webhook(with(firing, R"("version":"4")", R"("version":"6")"), "p", "req-3");
    EXPECT_NE(audit().find(R"("id":"req-3")"), std::string::npos) << audit();
}

TEST_F(ReceiverDecisions, AnAuditLogReplacedByALinkRefusesTheHealAndWritesNothingThere) {
    Receiver r(cfg_);
    const std::string victim = dir_ + "/victim";
    std::ofstream(victim) << "root's own file\n";
    fs::remove(cfg_.audit_log);
    fs::create_symlink(victim, cfg_.audit_log);
    r.webhook(firing, "p", "req-1");
    r.webhook(with(firing, R"("version":"4")", R"("version":"5")"), "p", "req-2");
    std::ifstream in(victim);
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_EQ(s.str(), "root's own file\n");
}

// logrotate under load: four threads record refused calls while the log is moved away again
// and again, half of the times reopened by SIGHUP's reopen_audit, the other half found moved by
// the next record; every record is in one of the files, whole.
TEST_F(ReceiverDecisions, ARotationUnderLoadLosesNoRecord) {
    Receiver r(cfg_);
    constexpr int threads = 4, per_thread = 500;
    std::atomic<int> finished{0};
    std::vector<std::thread> load;
    for (int t = 0; t < threads; ++t)
        load.emplace_back([&r, &finished, t] {
            for (int i = 0; i < per_thread; ++i)
                r.refused("127.0.0.1:" + std::to_string(t), 401, "no token", "req-" + std::to_string(t) + "-" + std::to_string(i));
            ++finished;
        });
    int rotations = 0;
    while (finished < threads) {
        std::error_code ec;
        fs::rename(cfg_.audit_log, cfg_.audit_log + "." + std::to_string(rotations + 1), ec);
        if (!ec && ++rotations % 2) r.reopen_audit();
        std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    for (auto& t : load) t.join();
    EXPECT_GE(rotations, 2);
    std::size_t records = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
        if (e.path().filename().string().rfind("audit.jsonl", 0) != 0) continue;
        std::ifstream in(e.path());
        for (std::string line; std::getline(in, line);) {
            EXPECT_EQ(line.rfind(R"({"ts":")", 0), 0u) << line;
            EXPECT_EQ(line.back(), '}') << line;
            ++records;
        }
    }
    EXPECT_EQ(records, static_cast<std::size_t>(threads * per_thread)) << rotations << " rotations";
}

TEST(BearerToken, ComparedWhole) {
    const std::string token = "0123456789abcdef-token";
    EXPECT_TRUE(bearer_matches("Bearer 0123456789abcdef-token", token));
    EXPECT_TRUE(bearer_matches("bearer 0123456789abcdef-token", token));  // the scheme is case-insensitive
    EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef-tokem", token));
    EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef-token ", token));
    EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef-toke", token));
    EXPECT_FALSE(bearer_matches("Basic  0123456789abcdef-token", token));
    EXPECT_FALSE(bearer_matches("0123456789abcdef-token", token));
    EXPECT_FALSE(bearer_matches("", token));
}

TEST(BearerToken, TheFileMustHoldAtLeast16Characters) {
    char tmpl[] = "/tmp/heal-token.XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    std::ofstream(dir + "/short") << "short\n";
    std::ofstream(dir + "/crlf") << "0123456789abcdef\r\nsecond line\n";
    EXPECT_THROW(read_token(dir + "/short"), std::runtime_error);
    EXPECT_THROW(read_token(dir + "/missing"), std::runtime_error);
    EXPECT_EQ(read_token(dir + "/crlf"), "0123456789abcdef");
    fs::remove_all(dir);
}

}  // namespace
