// Defects found by trying to break heal-listener, each pinned by a test that fails without
// its fix: signals during the drain, inherited signal dispositions, descriptors leaking into
// scripts (with and without close_range), the request deadline, request framing, the audit
// log's reopen on SIGHUP, an accept loop that must outlive its errors.
#include "tests/integration/listener_fixture.hpp"
#include "common/tls.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

/// A TLS connection that sends `data` as is and returns the reply line ("" when none).
std::string send_raw_tls(unsigned short port, const std::string& certs, const std::string& data,
                         double read_timeout = 8) {
    namespace asio = boost::asio;
    asio::io_context ioc;
    auto ctx = heal::make_client_context(certs + "/ca.crt", certs + "/client.crt",
                                         certs + "/client.key");
    asio::ssl::stream<asio::ip::tcp::socket> s(ioc, *ctx);
    s.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    heal::set_expected_peer(s.native_handle(), "127.0.0.1");
    s.handshake(asio::ssl::stream_base::client);
    asio::write(s, asio::buffer(data));
    timeval tv{static_cast<long>(read_timeout), 0};
    ::setsockopt(s.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string reply;
    boost::system::error_code ec;
    asio::read_until(s, asio::dynamic_buffer(reply), '\n', ec);
    return reply;
}

}  // namespace

class HardeningTest : public ListenerTest {};

TEST_F(HardeningTest, SecondSignalDuringTheDrainNeitherKillsNorLosesTheReply) {
    Child slow(ctl_argv({"restart", "slow"}));
    ASSERT_TRUE(eventually([&] { return contains(log(), "restart slow by"); }));
    listener_->signal(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    listener_->signal(SIGTERM);
    listener_->signal(SIGHUP);
    listener_->signal(SIGINT);
    auto r = slow.wait();
    EXPECT_EQ(r.exit_code, 0) << "the reply was delivered: " << r.output;
    auto l = listener_->wait(10);
    listener_.reset();
    EXPECT_EQ(l.exit_code, 0) << "a clean exit, not death by the second signal";
    EXPECT_TRUE(contains(log(), "received SIGTERM again")) << log();
    EXPECT_TRUE(contains(log(), "SIGHUP while stopping: audit log reopened")) << log();
    EXPECT_TRUE(contains(log(), "stopped")) << log();
}

TEST_F(HardeningTest, AnIdleListenerStopsAtOnceOnSigterm) {
    ASSERT_EQ(ctl({"status", "web"}).exit_code, 0);
    double start = now_seconds();
    auto r = stop_listener();
    EXPECT_EQ(r.exit_code, 0) << log();
    EXPECT_LT(now_seconds() - start, 2.0) << "nothing in flight: nothing to wait for";
}

TEST_F(HardeningTest, AnInheritedIgnoredSigchldDoesNotMakeFailuresLookSuccessful) {
    stop_listener();
    start_listener({"/usr/bin/env", "--ignore-signal=CHLD"});
    auto r = ctl({"--json", "restart", "broken"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    auto reply = parse_object(r.output);
    EXPECT_EQ(str(reply, "outcome"), "failed");
    EXPECT_EQ(reply.at("exit_code").as_int64(), 3) << r.output;
}

TEST_F(HardeningTest, EveryDescriptorOfTheListenerIsCloseOnExec) {
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);  // store, locks and audit open
    int held = raw_connect();                          // an accepted socket in flight
    ASSERT_GE(held, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string fdinfo = "/proc/" + std::to_string(listener_->pid()) + "/fdinfo";
    DIR* d = ::opendir(fdinfo.c_str());
    ASSERT_NE(d, nullptr);
    int checked = 0;
    while (auto* e = ::readdir(d)) {
        int fd = std::atoi(e->d_name);
        if (e->d_name[0] == '.' || fd <= 2) continue;
        std::ifstream in(fdinfo + "/" + e->d_name);
        std::string key, flags;
        while (in >> key >> flags)
            if (key == "flags:") break;
        char target[256] = {};
        ::readlink(("/proc/" + std::to_string(listener_->pid()) + "/fd/" + e->d_name).c_str(),
                   target, sizeof target - 1);
        EXPECT_TRUE(std::stoul(flags, nullptr, 8) & O_CLOEXEC)
            << "fd " << fd << " (" << target << ") would leak into scripts";
        ++checked;
    }
    ::closedir(d);
    ::close(held);
    EXPECT_GE(checked, 4) << "the listening socket, the accepted one, the audit log, the store";
}

TEST_F(HardeningTest, RequestTimeoutReplyIsDelivered) {
    double start = now_seconds();
    auto reply = send_raw_tls(port_, cert("main", "").substr(0, cert("main", "").size() - 1),
                              "HEAL/1 sta");
    double waited = now_seconds() - start;
    ASSERT_FALSE(reply.empty()) << "no reply after the io_timeout";
    EXPECT_EQ(str(parse_object(reply), "reason"), "request_timeout") << reply;
    EXPECT_GT(waited, 1.5);
    EXPECT_LT(waited, 4.0) << "io_timeout is 2 s";
    EXPECT_TRUE(contains(log(), "refused: no complete request line within the io_timeout")) << log();
}

// At most 16 TLS handshakes run at once, 8 per source; the others wait their turn within their
// io_timeout (2 s here). 16 clients from 127.0.0.1 that connect and say nothing hold that
// source's share until their io_timeout: the next client from there waits for them, while a
// client from another address is served at once.
TEST_F(HardeningTest, HandshakesTakeTurnsAndOneSourceCannotHoldThemAll) {
    write_config("max_per_source = 200\nmax_connections = 300\n");
    std::string ini = read_file(dir_ / "heal.ini");
    ini.replace(ini.find("allow = 127.0.0.1, ::1"), 22, "allow = 127.0.0.0/8");
    write_file(dir_ / "heal.ini", ini);
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); }));
    std::vector<int> silent;
    for (int i = 0; i < 16; ++i) {
        int s = raw_connect();
        ASSERT_GE(s, 0);
        silent.push_back(s);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    double start = now_seconds();
    auto other = ctl({"-b", "127.0.0.2", "status", "web"});
    EXPECT_EQ(other.exit_code, 0) << other.output;
    EXPECT_LT(now_seconds() - start, 1.0) << "another source waited for 127.0.0.1's stalled handshakes";
    start = now_seconds();
    auto same = ctl({"status", "web"});
    double took = now_seconds() - start;
    EXPECT_EQ(same.exit_code, 0) << same.output;
    EXPECT_GT(took, 0.8) << "served before 127.0.0.1 had a free slot: more than 8 handshakes for one source";
    EXPECT_LT(took, 2.5) << "it waited longer than the silent ones' io_timeout";
    std::size_t timed_out = 0;
    for (std::size_t at = 0; (at = log().find("handshake: timed out", at)) != std::string::npos; ++at) ++timed_out;
    EXPECT_EQ(timed_out, 1u) << "logged once per source and window, then counted: " << log();
    for (int s : silent) ::close(s);
    stop_listener();  // the window's closing record counts the other 15
    bool counted = false;
    for (const auto& line : read_lines(dir_ / "audit.jsonl"))
        counted |= contains(line, "\"count\":15") && contains(line, "15 more failed TLS handshake(s) from 127.0.0.1");
    EXPECT_TRUE(counted) << read_file(dir_ / "audit.jsonl");
}

TEST_F(HardeningTest, A255ByteRequestWithCrlfIsReadAndParsed) {
    const std::string certs = cert("main", "").substr(0, cert("main", "").size() - 1);
    std::string line = "HEAL/1 status " + std::string(241, 'a');
    ASSERT_EQ(line.size(), 255u);
    auto reply = send_raw_tls(port_, certs, line + "\r\n");
    EXPECT_EQ(str(parse_object(reply), "reason"), "bad_service_name")
        << "read and parsed, not cut as too long: " << reply;
    auto longer = send_raw_tls(port_, certs, line + "a\r\n");
    EXPECT_EQ(str(parse_object(longer), "reason"), "request_too_long") << longer;
}

TEST_F(HardeningTest, PipelinedRequestsAreRefusedAndRecordedNotDropped) {
    const std::string certs = cert("main", "").substr(0, cert("main", "").size() - 1);
    auto reply = send_raw_tls(port_, certs, "HEAL/1 restart web\nHEAL/1 restart web\n");
    auto o = parse_object(reply);
    EXPECT_EQ(str(o, "reason"), "malformed_request") << reply;
    EXPECT_TRUE(contains(str(o, "message"), "more than one request")) << reply;
    EXPECT_EQ(read_file(dir_ / "ran.log"), "") << "nothing ran";
    auto a = last_audit();
    EXPECT_EQ(str(a, "reason"), "malformed_request");
    EXPECT_EQ(str(a, "request"), "HEAL/1 restart web?HEAL/1 restart web?") << "both are on record";
}

TEST_F(HardeningTest, SighupReopensTheAuditLogEvenWhenTheReloadFails) {
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    std::rename((dir_ / "audit.jsonl").c_str(), (dir_ / "audit.jsonl.1").c_str());
    ::chmod((dir_ / "bin/warn").c_str(), 0644);  // the new configuration will not load
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "reload failed"); })) << log();
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    EXPECT_EQ(read_lines(dir_ / "audit.jsonl.1").size(), 2u) << "only the first action";
    EXPECT_EQ(read_lines(dir_ / "audit.jsonl").size(), 2u) << "the new file after logrotate";
}

// The gate writes where the operator looks: before each record, the open audit file must still
// be the one at its path. Deleted: made again at the path. Replaced by a link (SIGHUP's reopen
// refused it): every action is refused audit_unavailable, nothing runs, the target is untouched.
TEST_F(HardeningTest, TheAuditGateWritesOnlyToTheFileAtItsPath) {
    const std::string audit = dir_ / "audit.jsonl", victim = dir_ / "victim";
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    std::remove(audit.c_str());
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    EXPECT_EQ(read_lines(audit).size(), 2u) << "start and final record, at the path, not in the deleted file";
    EXPECT_TRUE(contains(log(), "the open file was deleted or replaced; reopened at its path")) << log();
    const auto ran = read_lines(dir_ / "ran.log").size();
    write_file(victim, "root's own file\n", 0644);
    std::rename(audit.c_str(), (audit + ".1").c_str());
    ASSERT_EQ(::symlink(victim.c_str(), audit.c_str()), 0);
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "is a symbolic link"); })) << log();
    for (int i = 0; i < 2; ++i) {
        auto r = ctl({"--json", "restart", "web"});
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_EQ(str(parse_object(r.output), "reason"), "audit_unavailable") << r.output;
    }
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), ran) << "no record, no action";
    EXPECT_EQ(read_file(victim), "root's own file\n");
    EXPECT_EQ(read_lines(audit + ".1").size(), 2u) << "nothing went to the file moved away either";
    std::remove(audit.c_str());  // a plain file again: actions resume
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), ran + 1);
}

// Started as root, the listener binds, loads its key, opens the audit log, then drops to
// [listener] user for good; without `user` it refuses to run as root.
class PrivilegesTest : public ListenerTest {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to test dropping root";
        ListenerTest::SetUp();
        stop_listener();
        script("whoami", "grep -E '^(Uid|Gid|Groups|CapEff):' /proc/self/status\n");
        ::chmod(dir_.path().c_str(), 0755);  // the scripts are reached as nobody
        std::filesystem::remove_all(dir_ / "state");  // the root-run start of SetUp made it
        ::mkdir((dir_ / "state").c_str(), 0750);
        ::chown((dir_ / "state").c_str(), 65534, 65534);
    }

    void use(const std::string& listener_keys) {
        auto text = config_text("", "[service who]\nstatus = bin/whoami\nrestart = bin/whoami\n");
        text.replace(text.find("allow_root = yes\n"), 17, listener_keys);
        write_file(dir_ / "heal.ini", text);
    }
};

TEST_F(PrivilegesTest, RefusesToRunAsRootWithoutUser) {
    use("");
    auto r = run({bin("heal-listener"), "-c", dir_ / "heal.ini"}, 5);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "refusing to run as root")) << r.output;
    EXPECT_TRUE(contains(r.output, "user = heal")) << r.output;
    auto check = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(check.exit_code, 0) << "--check-config warns, it may run as any user";
    EXPECT_TRUE(contains(check.output, "refuses to start")) << check.output;
}

TEST_F(PrivilegesTest, DropsToUserForGoodBeforeRunningAnything) {
    use("user = nobody\n");
    start_listener();
    EXPECT_TRUE(contains(log(), "dropped privileges to user nobody (uid 65534")) << log();
    std::string status = read_file("/proc/" + std::to_string(listener_->pid()) + "/status");
    EXPECT_TRUE(contains(status, "Uid:\t65534\t65534\t65534\t65534")) << "saved uid too: " << status;
    EXPECT_TRUE(contains(status, "Gid:\t65534\t65534\t65534\t65534")) << status;
    EXPECT_TRUE(contains(status, "CapEff:\t0000000000000000")) << status;
    auto r = ctl({"--json", "restart", "who"});
    ASSERT_EQ(r.exit_code, 0) << r.output << log();
    auto out = str(parse_object(r.output), "output");
    EXPECT_TRUE(contains(out, "Uid:\t65534\t65534\t65534\t65534")) << out;
    EXPECT_TRUE(contains(out, "CapEff:\t0000000000000000")) << out;
    EXPECT_EQ(ctl({"restart", "who"}).exit_code, 0) << "state and locks work as nobody: " << log();
}

TEST_F(PrivilegesTest, CheckConfigNamesStateOwnedByAnotherUser) {
    use("user = nobody\n");
    auto ok = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    ::chown((dir_ / "state").c_str(), 0, 0);
    auto bad = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(bad.exit_code, 1) << bad.output;
    EXPECT_TRUE(contains(bad.output, "is owned by uid 0, not by user nobody")) << bad.output;
}

TEST_F(PrivilegesTest, InetdInstanceDropsToo) {
    use("user = nobody\n");
    auto r = inetd_calls({{"--json", "status", "who"}})[0].client;
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(str(parse_object(r.output), "output"), "Uid:\t65534\t65534\t65534\t65534"))
        << r.output;
}

TEST_F(PrivilegesTest, CheckConfigWarnsAboutWritableScriptsAndConfig) {
    use("allow_root = yes\n");
    auto quiet = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_FALSE(contains(quiet.output, "-writable")) << quiet.output;
    ::chmod((dir_ / "bin/whoami").c_str(), 0775);
    ::chmod((dir_ / "heal.ini").c_str(), 0666);
    ::chown((dir_ / "bin/ok").c_str(), 65534, 65534);
    auto r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_TRUE(contains(r.output, "bin/whoami' is group-writable")) << r.output;
    EXPECT_TRUE(contains(r.output, "heal.ini' is world-writable")) << r.output;
    EXPECT_TRUE(contains(r.output, "bin/ok' is owned by uid 65534")) << r.output;
}

// A root-owned script in a folder others may write is as good as theirs: they replace it.
TEST_F(PrivilegesTest, CheckConfigWarnsAboutAFolderUpTheScriptsPathThatOthersCanWrite) {
    use("allow_root = yes\n");
    auto quiet = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_FALSE(contains(quiet.output, "folder '")) << quiet.output;
    ::chmod((dir_ / "bin").c_str(), 0777);
    auto r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_TRUE(contains(r.output, "folder '" + dir_ / "bin' of script '" + dir_ / "bin/whoami' is world-writable"))
        << r.output;
    ::chmod((dir_ / "bin").c_str(), 01777);  // sticky: nobody replaces another's file
    ::chown(dir_.path().c_str(), 65534, 65534);
    r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_FALSE(contains(r.output, "folder '" + dir_ / "bin' of")) << r.output;
    EXPECT_TRUE(contains(r.output, "folder '" + dir_.path() + "' of script '" + dir_ / "bin/whoami' is owned by uid 65534"))
        << r.output;
    ::chown(dir_.path().c_str(), 0, 0);
}

// The listener opens its audit log as root, in a folder its own user may own: that user must
// not be able to point it at another file, nor stall the start with a FIFO.
TEST_F(HardeningTest, TheAuditLogIsNeverALinkAFifoOrAFolder) {
    stop_listener();
    const std::string audit = dir_ / "audit.jsonl", victim = dir_ / "victim";
    write_file(victim, "root's own file\n", 0644);
    auto refused = [&](const std::string& why) {
        auto check = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
        EXPECT_EQ(check.exit_code, 1) << check.output;
        EXPECT_TRUE(contains(check.output, "audit_log '" + audit + "' " + why)) << check.output;
        auto start = run({bin("heal-listener"), "-c", dir_ / "heal.ini"}, 5);
        EXPECT_EQ(start.exit_code, 1) << "the listener started (or hung): " << start.output;
        EXPECT_TRUE(contains(start.output, "cannot open audit log '" + audit + "': " + why)) << start.output;
        EXPECT_EQ(read_file(victim), "root's own file\n");
    };
    std::remove(audit.c_str());
    ASSERT_EQ(::symlink(victim.c_str(), audit.c_str()), 0);
    refused("is a symbolic link");
    std::remove(audit.c_str());
    ASSERT_EQ(::symlink((dir_ / "made-by-root").c_str(), audit.c_str()), 0);  // dangling
    refused("is a symbolic link");
    EXPECT_FALSE(std::filesystem::exists(dir_ / "made-by-root"));
    std::remove(audit.c_str());
    ASSERT_EQ(::link(victim.c_str(), audit.c_str()), 0);
    refused("has 2 hard links");
    std::remove(audit.c_str());
    ASSERT_EQ(::mkfifo(audit.c_str(), 0600), 0);
    refused("is a FIFO, not a regular file");
    int reader = ::open(audit.c_str(), O_RDONLY | O_NONBLOCK);  // a FIFO with a reader opens
    refused("is a FIFO, not a regular file");
    ::close(reader);
    std::remove(audit.c_str());
    ASSERT_EQ(::mkdir(audit.c_str(), 0700), 0);
    auto check = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(check.exit_code, 1) << check.output;
    EXPECT_TRUE(contains(check.output, "audit_log '" + audit + "' is a folder")) << check.output;
    ::rmdir(audit.c_str());
    start_listener();  // a plain file again: it starts
}

class TlsPolicyTest : public ListenerTest {
protected:
    /// Restarts the listener on the certificates in certs_/which (its own CA for both sides).
    void use_certs(const std::string& which) {
        stop_listener();
        auto text = config_text();
        const std::string from = cert("main", ""), to = cert(which, "");
        for (std::string::size_type at; (at = text.find(from)) != std::string::npos;)
            text.replace(at, from.size(), to);
        write_file(dir_ / "heal.ini", text);
        start_listener();
    }
    /// openssl s_client with TLS 1.2 and one cipher: did the handshake succeed?
    bool tls12_with(const std::string& cipher, const std::string& which = "main") {
        auto r = run({"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port_),
                      "-tls1_2", "-cipher", cipher, "-cert", cert(which, "client.crt"), "-key",
                      cert(which, "client.key"), "-CAfile", cert(which, "ca.crt")},
                     10);
        return r.exit_code == 0 && contains(r.output, "Cipher is " + cipher);
    }
};

TEST_F(TlsPolicyTest, Tls12OffersOnlyEcdheWithAead) {
    EXPECT_TRUE(tls12_with("ECDHE-ECDSA-AES128-GCM-SHA256"));
    EXPECT_TRUE(tls12_with("ECDHE-ECDSA-CHACHA20-POLY1305"));
    EXPECT_FALSE(tls12_with("ECDHE-ECDSA-AES128-SHA")) << "CBC (LUCKY13)";
    EXPECT_FALSE(tls12_with("ECDHE-ECDSA-AES256-SHA384")) << "CBC";
    // With an RSA certificate: no static RSA (no forward secrecy), no CBC.
    const std::string d = cert("rsa", "");
    ::mkdir(d.c_str(), 0700);
    for (const char* f : {"ca.crt", "ca.key", "client.crt", "client.key"})
        write_file(d + f, read_file(cert("main", f)), 0600);
    write_file(d + "ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    ASSERT_EQ(run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                   d + "server.key", "-out", d + "server.crt", "-subj", "/CN=localhost", "-days",
                   "2", "-CA", d + "ca.crt", "-CAkey", d + "ca.key", "-addext",
                   "subjectAltName=IP:127.0.0.1"})
                  .exit_code,
              0);
    use_certs("rsa");
    EXPECT_TRUE(tls12_with("ECDHE-RSA-AES128-GCM-SHA256", "rsa"));
    EXPECT_FALSE(tls12_with("AES128-GCM-SHA256", "rsa")) << "static RSA key exchange";
    EXPECT_FALSE(tls12_with("ECDHE-RSA-AES128-SHA", "rsa")) << "CBC";
}

TEST_F(TlsPolicyTest, HostNamesComeFromSubjectAltNamesOnly) {
    auto r = run({src_dir() + "/scripts/heal-dev-certs", "--san", "", cert("nosan", "").substr(
                                                                      0, cert("nosan", "").size() - 1)});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    use_certs("nosan");  // server certificate: CN=localhost and no subjectAltName
    auto ctl_nosan = [&](const std::vector<std::string>& args) {
        auto argv = ctl_argv(args);
        const std::string from = cert("main", ""), to = cert("nosan", "");
        for (auto& a : argv)
            if (a.rfind(from, 0) == 0) a = to + a.substr(from.size());
        return run(argv);
    };
    auto by_cn = ctl_nosan({"--server-name", "localhost", "status", "web"});
    EXPECT_EQ(by_cn.exit_code, 3) << by_cn.output;
    EXPECT_TRUE(contains(by_cn.output, "hostname mismatch")) << by_cn.output;
}

TEST_F(ListenerTest, ScriptOutputIsSafeForATerminalAndExactInJson) {
    script("evil", "printf 'ok\\000 \\033[31mred\\033[0m \\302\\233x\\r\\n'\n");
    write_config("", "[service evil]\nstatus = bin/evil\nrestart = bin/evil\n");
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); }));
    for (const char* verb : {"restart", "status"}) {
        auto text = ctl({verb, "evil"});
        EXPECT_EQ(text.exit_code, 0) << text.output;
        EXPECT_EQ(text.output.find('\x1b'), std::string::npos) << verb << ": ESC reached the terminal";
        EXPECT_EQ(text.output.find('\0'), std::string::npos) << verb << ": NUL reached the terminal";
        EXPECT_EQ(text.output.find("\xc2\x9b"), std::string::npos) << verb << ": C1 CSI got through";
    }
    EXPECT_TRUE(contains(ctl({"restart", "evil"}).output, "?[31mred?[0m"));
    auto json = ctl({"--json", "status", "evil"});
    EXPECT_EQ(str(parse_object(json.output), "output"), std::string("ok\0 \x1b[31mred\x1b[0m \xc2\x9bx\r\n", 22))
        << "--json carries the output exactly";
}

// heal-ctl's words for the mistakes people make, and `heal-ctl status` as a Nagios check.
namespace {
/// `argv` with the value after `option` replaced.
std::vector<std::string> with(std::vector<std::string> argv, const std::string& option,
                              const std::string& value) {
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
        if (argv[i] == option) argv[i + 1] = value;
    return argv;
}
}  // namespace

TEST_F(ListenerTest, ClientFileMistakesAreSaidInWords) {
    auto missing = run(with(ctl_argv({"status", "web"}), "--cert", dir_ / "nope.crt"));
    EXPECT_EQ(missing.exit_code, 3);
    EXPECT_TRUE(contains(missing.output, "cannot read certificate '" + dir_ / "nope.crt" +
                                             "': No such file or directory"))
        << missing.output;
    EXPECT_FALSE(contains(missing.output, "error:")) << "no raw OpenSSL codes: " << missing.output;
    auto mismatch = run(with(ctl_argv({"status", "web"}), "--key", cert("main", "server.key")));
    EXPECT_TRUE(contains(mismatch.output, "private key '" + cert("main", "server.key") +
                                              "' does not belong to certificate '" +
                                              cert("main", "client.crt") + "'"))
        << mismatch.output;
}

// Keys are read with decoder hints for EC PEM keys (heal's own); any other key type takes the
// unhinted path and must work all the same: an RSA client key, PKCS#8 and PKCS#1.
TEST_F(ListenerTest, RsaKeysAndOtherKeyFormatsStillLoad) {
    const std::string ca = cert("main", "ca.crt"), ca_key = cert("main", "ca.key");
    for (const char* format : {"pkcs8", "traditional"}) {
        const std::string key = dir_ / (std::string("rsa-") + format + ".key");
        const std::string csr = dir_ / "rsa.csr", crt = dir_ / "rsa.crt", ext = dir_ / "rsa.ext";
        auto r = run({"/usr/bin/openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key});
        ASSERT_EQ(r.exit_code, 0) << r.output;
        if (std::string(format) == "traditional") {
            r = run({"/usr/bin/openssl", "pkey", "-in", key, "-traditional", "-out", key + ".1"});
            ASSERT_EQ(r.exit_code, 0) << r.output;
            ASSERT_EQ(::rename((key + ".1").c_str(), key.c_str()), 0);
            ASSERT_TRUE(contains(read_file(key), "BEGIN RSA PRIVATE KEY"));
        }
        r = run({"/usr/bin/openssl", "req", "-new", "-key", key, "-subj", "/CN=heal-ctl", "-out", csr});
        ASSERT_EQ(r.exit_code, 0) << r.output;
        write_file(ext, "extendedKeyUsage=clientAuth\n");
        r = run({"/usr/bin/openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-CAserial", dir_ / "ca.srl", "-days", "2", "-extfile", ext, "-out", crt});
        ASSERT_EQ(r.exit_code, 0) << r.output;
        auto text = run(with(with(ctl_argv({"status", "web"}), "--cert", crt), "--key", key));
        EXPECT_EQ(text.exit_code, 0) << format << ": " << text.output;
    }
    auto not_a_key = run(with(ctl_argv({"status", "web"}), "--key", cert("main", "ca.crt")));
    EXPECT_EQ(not_a_key.exit_code, 3);
    EXPECT_TRUE(contains(not_a_key.output, "cannot load private key '" + cert("main", "ca.crt") + "'"))
        << not_a_key.output;
    EXPECT_FALSE(contains(not_a_key.output, "error:")) << "no raw OpenSSL codes: " << not_a_key.output;
}

TEST_F(ListenerTest, HandshakeFailuresComeWithAHint) {
    auto wrong_ca = run(with(ctl_argv({"status", "web"}), "--ca", cert("other", "ca.crt")));
    EXPECT_TRUE(contains(wrong_ca.output, "not signed by the CA given with --ca")) << wrong_ca.output;
    auto refused = ctl({"status", "web"}, "other");  // a client certificate from another CA
    EXPECT_EQ(refused.exit_code, 3);
    EXPECT_TRUE(contains(refused.output, "signed by the listener's client_ca?")) << refused.output;
    auto name = ctl({"--server-name", "web1.example", "status", "web"});
    EXPECT_TRUE(contains(name.output, "the certificate names DNS:localhost, IP:127.0.0.1, IP:::1; "
                                      "connect by one of those names or give it with --server-name"))
        << name.output;
}

TEST_F(ListenerTest, UsageErrorsGoToStdoutAsUnknown) {
    auto foo = ctl({"--foo", "status", "web"});
    EXPECT_EQ(foo.exit_code, 3);
    EXPECT_EQ(foo.output, "HEAL UNKNOWN: heal-ctl: unknown option '--foo' (see heal-ctl --help)\n");
    auto nothing = run({bin("heal-ctl")});
    EXPECT_EQ(nothing.exit_code, 3);
    EXPECT_TRUE(contains(nothing.output, "HEAL UNKNOWN: heal-ctl: VERB is required")) << nothing.output;
    auto bad_config = ctl({"-c", dir_ / "heal.ini", "status", "web"});  // not a client file
    EXPECT_EQ(bad_config.exit_code, 3);
    EXPECT_EQ(bad_config.output.rfind("HEAL UNKNOWN: heal-ctl: " + dir_ / "heal.ini" +
                                          ":2: unknown section [listener]", 0),
              0u)
        << bad_config.output;
    auto help = run({bin("heal-ctl"), "--help"});
    EXPECT_TRUE(contains(help.output, "(default localhost)")) << help.output;
}

TEST_F(ListenerTest, StatusIsANagiosCheckWithinItsLimits) {
    auto refused = ctl({"status", "nosuch"});
    EXPECT_EQ(refused.exit_code, 3);
    EXPECT_EQ(refused.output.rfind("HEAL UNKNOWN: status nosuch on 127.0.0.1: unknown service", 0), 0u)
        << "no state word Nagios does not know: " << refused.output;
    auto ok = ctl({"status", "web"});
    EXPECT_TRUE(contains(ok.output, " | time=")) << ok.output;
    EXPECT_TRUE(contains(ok.output, "s;;;0\n")) << ok.output;
    script("lines", "echo 'OK: many | rows=3'\nseq 1 5000\n");
    write_config("", "[service lines]\nstatus = bin/lines\n");
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); }));
    auto big = ctl({"status", "lines"});
    EXPECT_EQ(big.exit_code, 0) << big.output.substr(0, 300);
    EXPECT_LE(big.output.size(), 8000u) << "Nagios 4 keeps 8 KiB";
    EXPECT_EQ(big.output.rfind("HEAL OK: status lines on 127.0.0.1: OK: many (", 0), 0u) << big.output.substr(0, 200);
    EXPECT_TRUE(contains(big.output, "| rows=3 time=")) << big.output.substr(0, 200);
    EXPECT_TRUE(contains(big.output, "more line(s) not shown\n")) << "said, not silently cut";
}

// -t bounds name resolution too. A DNS server that receives and never answers, seen only inside
// a private mount namespace (no machine-wide change): before, the resolver thread was joined at
// exit and -t 1 took 10 s.
TEST(NameResolution, TimeoutCoversADnsServerThatNeverAnswers) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for private mount and network namespaces";
    TempDir d;
    write_file(d / "resolv.conf", "nameserver 127.0.0.77\noptions timeout:5 attempts:2\n");
    write_file(d / "silent_dns.py",
               "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
               "s.bind(('127.0.0.77', 53))\nprint('ready', flush=True)\ntime.sleep(30)\n");
    // Each command in its own mount and network namespace, with its own silent DNS server on
    // its own loopback: nothing binds or mounts on the host.
    auto in_namespace = [&](const std::string& cmd) {
        const std::string log = d / "dns.log";
        return run({"/usr/bin/unshare", "-m", "-n", "/bin/sh", "-c",
                    "ip link set lo up && /usr/bin/python3 " + d / "silent_dns.py" + " >" + log + " 2>&1 & "
                    "i=0; until grep -q ready " + log + " 2>/dev/null; do sleep 0.05; i=$((i+1)); "
                    "[ $i -gt 200 ] && { echo 'the DNS stub did not start'; cat " + log + "; exit 99; }; done; "
                    "mount --bind " + d / "resolv.conf" + " /etc/resolv.conf && " + cmd + "; rc=$?; kill $!; exit $rc"},
                   30);
    };
    auto check = in_namespace(bin("check_worker") + " -H never.example.invalid -t 1");
    if (check.exit_code == 99) GTEST_SKIP() << check.output;
    EXPECT_EQ(check.exit_code, 2) << check.output;
    EXPECT_LT(check.seconds, 2.5) << check.output;
    ASSERT_EQ(run({src_dir() + "/scripts/heal-dev-certs", d / "certs"}).exit_code, 0);
    auto ctl = in_namespace(bin("heal-ctl") + " -H never.example.invalid -t 1 --cert " +
                            d / "certs/client.crt" + " --key " + d / "certs/client.key" + " --ca " +
                            d / "certs/ca.crt" + " status web");
    EXPECT_EQ(ctl.exit_code, 3) << ctl.output;
    EXPECT_LT(ctl.seconds, 2.5) << ctl.output;
}

TEST_F(HardeningTest, TheAcceptLoopSurvivesRunningOutOfDescriptors) {
    // Leave the listener a handful of descriptors, then hold more connections than that.
    const pid_t pid = listener_->pid();
    int open_now = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
        (void)e, ++open_now;
    rlimit old{};
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &old), 0) << std::strerror(errno);
    rlimit tight{static_cast<rlim_t>(open_now + 3), old.rlim_max};  // the soft limit only
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &tight, nullptr), 0) << std::strerror(errno);
    std::vector<int> held;
    for (int i = 0; i < 12; ++i)
        if (int s = raw_connect(); s >= 0) held.push_back(s);
    EXPECT_TRUE(eventually([&] { return contains(log(), "accept: Too many open files"); }, 5)) << log();
    // The limit back first: under UBSan, its vptr check probes memory through a pipe, which
    // needs two free descriptors when the listener reads the held connections' EOF.
    ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &old, nullptr), 0) << std::strerror(errno);
    for (int s : held) ::close(s);
    // The loop paused and went on: the next request is served.
    auto r = ctl({"status", "web"});
    EXPECT_EQ(r.exit_code, 0) << r.output << log();
}

TEST_F(HardeningTest, ConnectionsResetBeforeTheyAreAcceptedDoNotEndTheAcceptLoop) {
    // Connect and reset at once (SO_LINGER 0), many times: the accepted socket has no peer any
    // more by the time the listener asks for its address.
    for (int i = 0; i < 300; ++i) {
        int s = raw_connect();
        ASSERT_GE(s, 0);
        linger l{1, 0};
        ::setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(s);
    }
    auto r = ctl({"status", "web"});
    EXPECT_EQ(r.exit_code, 0) << r.output << log();
    EXPECT_TRUE(process_alive(listener_->pid()));
}

TEST_F(HardeningTest, WithoutCloseRangeAnInheritedDescriptorStillStaysOutOfScripts) {
    // Started with fd 5 open without close-on-exec, on a "kernel" without close_range: the
    // listener's fallback must mark it close-on-exec, or every script inherits it.
    script("fd5", "if [ -e /proc/$$/fd/5 ]; then echo \"fd 5 leaked: $(readlink /proc/$$/fd/5)\"; "
                  "else echo 'fd 5 closed'; fi\n");
    write_config("", "[service fds]\nstatus = bin/fd5\n");
    stop_listener();
    start_listener({bin("without-close-range"), dir_ / "heal.ini"});
    auto r = ctl({"status", "fds"});
    EXPECT_TRUE(contains(r.output, "fd 5 closed")) << r.output;
    EXPECT_FALSE(contains(r.output, "leaked")) << r.output;
}

// Client certificates the listener must refuse, and saying why: OpenSSL's verify reason in the
// log and the audit record, and heal-ctl's hint following it. The certificates come from
// tests/fixtures/mint-client-certs (openssl ca: chosen dates, a revocation, CRLs).
class CertificateTest : public ListenerTest {
protected:
    static void SetUpTestSuite() {
        ListenerTest::SetUpTestSuite();
        auto r = run({src_dir() + "/tests/fixtures/mint-client-certs", *certs_ / "main"});
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    RunResult ctl_with(const std::string& name, std::vector<std::string> args) {
        auto argv = ctl_argv(std::move(args));
        for (auto& a : argv) {
            if (a == cert("main", "client.crt")) a = cert("main", name + ".crt");
            if (a == cert("main", "client.key")) a = cert("main", name + ".key");
        }
        return run(argv);
    }
    std::vector<json::object> handshake_failures() const {
        std::vector<json::object> out;
        for (const auto& line : read_lines(dir_ / "audit.jsonl")) {
            auto o = parse_object(line);
            if (str(o, "reason") == "tls_handshake_failed") out.push_back(o);
        }
        return out;
    }
};

TEST_F(CertificateTest, AVerifyFailureSaysWhyInTheAuditTheLogAndHealCtl) {
    auto future = ctl_with("future", {"status", "web"});
    EXPECT_EQ(future.exit_code, 3) << future.output;
    EXPECT_TRUE(contains(future.output, "our certificate is not valid yet (not before ")) << future.output;
    EXPECT_FALSE(contains(future.output, "client_ca")) << "not the CA's fault: " << future.output;
    ASSERT_TRUE(eventually([&] { return handshake_failures().size() == 1; }));
    EXPECT_EQ(str(handshake_failures()[0], "verify_error"), "certificate is not yet valid");
    EXPECT_TRUE(contains(log(), "the client's certificate: certificate is not yet valid")) << log();
    auto expired = ctl_with("expired", {"status", "web"});
    EXPECT_EQ(expired.exit_code, 3) << expired.output;
    EXPECT_TRUE(contains(expired.output, "our certificate has expired (not after ")) << expired.output;
    auto stranger = run(ctl_argv({"status", "web"}, "other"));  // another CA's certificate
    EXPECT_TRUE(contains(stranger.output, "is it signed by the listener's client_ca?")) << stranger.output;
    stop_listener();  // writes the window's closing record
    bool named = false;
    for (const auto& o : handshake_failures()) {
        if (!contains(str(o, "message"), "more failed TLS handshake(s) from 127.0.0.1")) continue;
        named = true;
        // The aggregated ones keep their reasons, counted per reason.
        EXPECT_TRUE(contains(str(o, "message"), "the client's certificate: certificate has expired")) << str(o, "message");
        ASSERT_TRUE(o.contains("reasons")) << json::serialize(o);
        EXPECT_EQ(o.at("reasons").as_object().size(), 2u) << json::serialize(o);
    }
    EXPECT_TRUE(named) << read_file(dir_ / "audit.jsonl");
}

// A peer without a good certificate cannot fill the disk: one record per source per 10 s with a
// count, and after 10 failures in the window its connections are closed before any TLS work;
// other sources are not affected.
TEST_F(CertificateTest, FailedHandshakesAreAggregatedPerSourceAndCapped) {
    stop_listener();
    auto text = config_text();
    text.replace(text.find("allow = 127.0.0.1, ::1"), 22, "allow = 127.0.0.1, 127.0.0.2, ::1");
    write_file(dir_ / "heal.ini", text);
    start_listener();
    for (int i = 0; i < 30; ++i) run(ctl_argv({"-b", "127.0.0.2", "status", "web"}, "other"));
    EXPECT_EQ(handshake_failures().size(), 1u) << "one record per source per window";
    auto blocked = ctl({"-b", "127.0.0.2", "status", "web"});
    EXPECT_EQ(blocked.exit_code, 3) << "past 10 failures, closed before TLS: " << blocked.output;
    auto other = ctl({"status", "web"});
    EXPECT_EQ(other.exit_code, 0) << "another source is not affected: " << other.output;
    std::size_t lines = 0;
    for (auto at = log().find(" handshake: "); at != std::string::npos; at = log().find(" handshake: ", at + 1)) ++lines;
    EXPECT_EQ(lines, 1u) << log();
    stop_listener();
    auto all = handshake_failures();
    ASSERT_EQ(all.size(), 2u) << read_file(dir_ / "audit.jsonl");
    EXPECT_EQ(all[1].at("count").as_int64(), 30);
    EXPECT_TRUE(contains(str(all[1], "message"),
                         "30 more failed TLS handshake(s) from 127.0.0.2 (21 of them closed before TLS"))
        << str(all[1], "message");
}

// [listener] crl: one revoked client certificate is refused, every other still served; read
// again on SIGHUP; a stale CRL warns (crl_stale = warn) or refuses all (refuse); a CRL file
// without its CA's CRL is a configuration error. Clients check the listener the same way.
TEST_F(CertificateTest, ARevokedClientCertificateIsRefusedOnceItsCrlIsLoaded) {
    ASSERT_EQ(ctl_with("revoked", {"status", "web"}).exit_code, 0) << "no crl yet: not checked";
    write_config("crl = " + cert("main", "crl.pem") + "\n");
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); }));
    auto revoked = ctl_with("revoked", {"status", "web"});
    EXPECT_EQ(revoked.exit_code, 3) << revoked.output;
    EXPECT_TRUE(contains(revoked.output, "it is revoked (in the listener's crl)")) << revoked.output;
    EXPECT_EQ(ctl_with("fresh", {"status", "web"}).exit_code, 0);
    EXPECT_EQ(ctl({"status", "web"}).exit_code, 0);
    ASSERT_TRUE(eventually([&] { return !handshake_failures().empty(); }));
    EXPECT_EQ(str(handshake_failures()[0], "verify_error"), "certificate revoked");

    stop_listener();
    write_config("crl = " + cert("main", "stale-crl.pem") + "\n");
    start_listener();
    EXPECT_TRUE(contains(log(), "is past its next update")) << log();
    EXPECT_TRUE(contains(log(), "still used; publish a fresh one")) << log();
    EXPECT_EQ(ctl({"status", "web"}).exit_code, 0) << "crl_stale = warn: still served";
    EXPECT_EQ(ctl_with("revoked", {"status", "web"}).exit_code, 3) << "and still revoked";
    stop_listener();
    write_config("crl = " + cert("main", "stale-crl.pem") + "\ncrl_stale = refuse\n");
    start_listener();
    auto stale = ctl({"status", "web"});
    EXPECT_EQ(stale.exit_code, 3) << "crl_stale = refuse: " << stale.output;
    stop_listener();

    write_config("crl = " + cert("main", "ca.crt") + "\n");
    auto none = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(none.exit_code, 1) << none.output;
    EXPECT_TRUE(contains(none.output, "no PEM X509 CRL in it")) << none.output;
    std::string text = read_file(dir_ / "heal.ini");
    text.replace(text.find("client_ca = " + cert("main", "ca.crt")), 12 + cert("main", "ca.crt").size(),
                 "client_ca = " + cert("other", "ca.crt"));
    text.replace(text.find("crl = " + cert("main", "ca.crt")), 6 + cert("main", "ca.crt").size(),
                 "crl = " + cert("main", "crl.pem"));
    write_file(dir_ / "heal.ini", text);
    auto foreign = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(foreign.exit_code, 1) << foreign.output;
    EXPECT_TRUE(contains(foreign.output, "has no CRL signed by the CA 'CN=heal dev CA,O=heal dev'")) << foreign.output;
    write_config();
    start_listener();
}

TEST_F(CertificateTest, ClientsCheckTheListenersCertificateAgainstTheirCrl) {
    EXPECT_EQ(ctl({"--crl", cert("main", "crl.pem"), "status", "web"}).exit_code, 0);
    auto revoked = ctl({"--crl", cert("main", "server-revoked-crl.pem"), "status", "web"});
    EXPECT_EQ(revoked.exit_code, 3) << revoked.output;
    EXPECT_TRUE(contains(revoked.output, "certificate verify failed: certificate revoked")) << revoked.output;
    auto stale = ctl({"--crl", cert("main", "stale-crl.pem"), "status", "web"});
    EXPECT_EQ(stale.exit_code, 0) << stale.output;
    EXPECT_TRUE(contains(stale.output, "heal-ctl: warning: crl '")) << stale.output;
    write_file(dir_ / "ctl.ini", "[client]\ncrl = " + cert("main", "server-revoked-crl.pem") + "\n");
    auto from_file = ctl({"-c", dir_ / "ctl.ini", "status", "web"});
    EXPECT_EQ(from_file.exit_code, 3) << from_file.output;
    auto check = run({bin("check_heal"), "-H", "127.0.0.1", "-p", std::to_string(port_), "--cert",
                      cert("main", "client.crt"), "--key", cert("main", "client.key"), "--ca", cert("main", "ca.crt"),
                      "--crl", cert("main", "server-revoked-crl.pem")});
    EXPECT_EQ(check.exit_code, 2) << check.output;
    EXPECT_TRUE(contains(check.output, "certificate revoked")) << check.output;
}
