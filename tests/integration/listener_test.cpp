// heal-listener and heal-ctl, the real binaries, on loopback with certificates from
// heal-dev-certs and real scripts.
#include "client.hpp"
#include "harness.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>

using namespace heal::test;
namespace json = boost::json;

namespace {

std::string bin(const std::string& name) { return build_dir() + "/" + name; }

json::object parse_object(const std::string& line) {
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << line;
        return {};
    }
    return v.as_object();
}

std::string str(const json::object& o, const char* key) {
    auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

}  // namespace

class ListenerTest : public ::testing::Test {
protected:
    static inline std::unique_ptr<TempDir> certs_;

    static void SetUpTestSuite() {
        certs_ = std::make_unique<TempDir>();
        for (const char* which : {"main", "other"}) {
            auto r = run({src_dir() + "/scripts/heal-dev-certs", *certs_ / which});
            ASSERT_EQ(r.exit_code, 0) << r.output;
        }
    }
    static void TearDownTestSuite() { certs_.reset(); }

    std::string cert(const std::string& which, const std::string& file) const {
        return *certs_ / (which + "/" + file);
    }

    void SetUp() override {
        setenv("HEAL_TEST_SECRET", "must-not-leak", 1);
        port_ = free_port();
        ::mkdir((dir_ / "state").c_str(), 0750);
        const std::string d = dir_.path();
        script("ok", "echo \"restarted $HEAL_SERVICE ($1)\"\necho \"$HEAL_REQUEST_ID\" >> " + d +
                         "/ran.log\n");
        script("fail", "echo 'disk full' >&2\nexit 3\n");
        script("slow", "sleep 1\necho slow done\n");
        script("hang", "sleep 300 &\necho $! > " + d + "/grandchild.pid\nsleep 300\n");
        script("daemon", "sleep 300 &\necho $! > " + d + "/daemon.pid\necho started\n");
        script("warn", "echo 'WARNING: queue at 80% | queue=80%;70;90'\necho 'consumer 3 slow'\nexit 1\n");
        script("chatty", "head -c 200000 /dev/zero | tr '\\0' x\n");
        script("env", "env\n");
        script("latin1", "printf 'caf\\351 \\377\\n'\n");
        write_config();
        start_listener();
    }

    void TearDown() override {
        stop_listener();
        for (const char* f : {"daemon.pid", "grandchild.pid"}) {
            auto pid = std::atoi(read_file(dir_ / f).c_str());
            if (pid > 0) ::kill(pid, SIGKILL);
        }
        // Every record ever written, in every case, is one valid JSON object with an id; each
        // request has one final record, and a start record only if a script was started.
        std::set<std::string> finals, starts;
        for (const auto& line : read_lines(dir_ / "audit.jsonl")) {
            auto o = parse_object(line);
            EXPECT_FALSE(str(o, "ts").empty()) << line;
            auto& ids = str(o, "record") == "start" ? starts : finals;
            EXPECT_TRUE(str(o, "record") == "start" || str(o, "record") == "final") << line;
            EXPECT_TRUE(ids.insert(str(o, "id")).second) << "duplicate id: " << line;
        }
        for (const auto& id : starts)
            EXPECT_TRUE(finals.count(id)) << "a start record without its final record: " << id;
    }

    void script(const std::string& name, const std::string& body) {
        write_file(dir_ / ("bin/" + name), "#!/bin/sh\n" + body, 0755);
    }

    std::string config_text(const std::string& extra_listener = "",
                            const std::string& extra_services = "") const {
        return "[listener]\n"
               "listen = 127.0.0.1:" + std::to_string(port_) + "\n"
               "allow = 127.0.0.1, ::1\n"
               "cert = " + cert("main", "server.crt") + "\n"
               "key = " + cert("main", "server.key") + "\n"
               "client_ca = " + cert("main", "ca.crt") + "\n"
               "audit_log = audit.jsonl\n"
               "state_dir = state\n"
               "timeout = 10\n"
               "io_timeout = 2\n" + extra_listener +
               "\n[service web]\nstart = bin/ok\nrestart = bin/ok\nstatus = bin/ok\n"
               "[service broken]\nrestart = bin/fail\n"
               "[service slow]\nrestart = bin/slow\n"
               "[service hang]\nrestart = bin/hang\ntimeout = 1\n"
               "[service daemon]\nstart = bin/daemon\n"
               "[service warn]\nstatus = bin/warn\n"
               "[service chatty]\nstatus = bin/chatty\n"
               "[service envdump]\nstatus = bin/env\n"
               "[service latin1]\nstatus = bin/latin1\n" + extra_services;
    }

    void write_config(const std::string& extra_listener = "", const std::string& extra = "") {
        write_file(dir_ / "heal.ini", config_text(extra_listener, extra));
    }

    void start_listener() {
        std::remove((dir_ / "listener.log").c_str());  // wait for *this* start's line
        listener_ = std::make_unique<Child>(
            std::vector<std::string>{bin("heal-listener"), "-c", dir_ / "heal.ini"}, -1,
            dir_ / "listener.log");
        ASSERT_TRUE(eventually([&] { return contains(log(), "listening on"); }))
            << "listener did not start: " << log();
    }

    RunResult stop_listener() {
        if (!listener_) return {};
        listener_->signal(SIGTERM);
        auto r = listener_->wait(15);
        listener_.reset();
        return r;
    }

    std::string log() const { return read_file(dir_ / "listener.log"); }

    std::vector<std::string> ctl_argv(const std::vector<std::string>& args,
                                      const std::string& which = "main") const {
        std::vector<std::string> argv{bin("heal-ctl"), "-H", "127.0.0.1", "-p", std::to_string(port_),
                                      "--cert", cert(which, "client.crt"),
                                      "--key", cert(which, "client.key"),
                                      "--ca", cert("main", "ca.crt"), "-t", "10"};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    RunResult ctl(const std::vector<std::string>& args, const std::string& which = "main") {
        return run(ctl_argv(args, which));
    }

    /// A plain TCP connection to the listener (no TLS), or -1.
    int raw_connect() const {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return s;
        ::close(s);
        return -1;
    }

    heal::ClientOptions client_options() const {
        heal::ClientOptions o;
        o.host = "127.0.0.1";
        o.port = port_;
        o.cert = cert("main", "client.crt");
        o.key = cert("main", "client.key");
        o.ca = cert("main", "ca.crt");
        o.timeout = 5;
        return o;
    }

    std::vector<json::object> audit() const {
        std::vector<json::object> out;
        for (const auto& line : read_lines(dir_ / "audit.jsonl")) out.push_back(parse_object(line));
        return out;
    }

    /// The newest audit record once it has `reason`: a TLS alert can reach the client before the
    /// listener has finished writing the record of the failed handshake.
    json::object audit_with_reason(const std::string& reason) const {
        eventually([&] {
            auto all = audit();
            return !all.empty() && str(all.back(), "reason") == reason;
        });
        return last_audit();
    }

    json::object last_audit() const {
        auto all = audit();
        if (all.empty()) {
            ADD_FAILURE() << "audit log is empty";
            return {};
        }
        return all.back();
    }

    TempDir dir_;
    unsigned short port_ = 0;
    std::unique_ptr<Child> listener_;
};

TEST_F(ListenerTest, RestartRunsTheScriptAndSucceeds) {
    auto r = ctl({"--json", "restart", "web"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto reply = parse_object(r.output);
    EXPECT_EQ(str(reply, "outcome"), "ok");
    EXPECT_EQ(str(reply, "output"), "restarted web (restart)\n");
    auto id = str(reply, "id");
    EXPECT_EQ(id.size(), 36u);
    EXPECT_EQ(read_file(dir_ / "ran.log"), id + "\n") << "the script ran once, with the request id";

    auto a = last_audit();
    EXPECT_EQ(str(a, "id"), id);
    EXPECT_EQ(str(a, "outcome"), "ok");
    EXPECT_EQ(str(a, "verb"), "restart");
    EXPECT_EQ(str(a, "service"), "web");
    EXPECT_EQ(a.at("exit_code").as_int64(), 0);
    EXPECT_TRUE(contains(str(a, "subject"), "CN=heal-ctl")) << str(a, "subject");
    EXPECT_EQ(str(a, "fingerprint_sha256").size(), 95u);
    EXPECT_TRUE(contains(str(a, "peer"), "127.0.0.1:"));
    EXPECT_EQ(str(a, "output_excerpt"), "restarted web (restart)\n");
    EXPECT_EQ(str(a, "ts").back(), 'Z');
}

TEST_F(ListenerTest, SummaryLineNamesOutcomeServiceHostAndId) {
    auto r = ctl({"restart", "web"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL OK: restart web on 127.0.0.1: done (")) << r.output;
    EXPECT_TRUE(contains(r.output, ", id " + str(last_audit(), "id") + ")\nrestarted web (restart)\n"))
        << r.output;
}

TEST_F(ListenerTest, FailingScriptReportsFailureAndItsOutput) {
    auto r = ctl({"restart", "broken"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL FAILED: restart broken")) << r.output;
    EXPECT_TRUE(contains(r.output, "script exited with status 3")) << r.output;
    EXPECT_TRUE(contains(r.output, "disk full")) << r.output;
    auto a = last_audit();
    EXPECT_EQ(str(a, "outcome"), "failed");
    EXPECT_EQ(a.at("exit_code").as_int64(), 3);
    EXPECT_EQ(str(a, "output_excerpt"), "disk full\n");
}

TEST_F(ListenerTest, KillsWholeProcessGroupOnTimeout) {
    auto r = ctl({"restart", "hang"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL TIMED OUT: restart hang")) << r.output;
    EXPECT_LT(r.seconds, 4.0);
    auto grandchild = std::atoi(read_file(dir_ / "grandchild.pid").c_str());
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(eventually([&] { return !process_alive(grandchild); }, 3))
        << "grandchild " << grandchild << " survived the timeout";
    auto a = last_audit();
    EXPECT_EQ(str(a, "outcome"), "timed_out");
    EXPECT_TRUE(a.at("timed_out").as_bool());
    EXPECT_EQ(a.at("signal").as_int64(), SIGKILL);
}

TEST_F(ListenerTest, DaemonizingScriptDoesNotHoldTheReply) {
    auto r = ctl({"start", "daemon"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_LT(r.seconds, 3.0) << "the reply waited for the background child";
    EXPECT_TRUE(contains(r.output, "started")) << r.output;
    auto daemon = std::atoi(read_file(dir_ / "daemon.pid").c_str());
    ASSERT_GT(daemon, 0);
    EXPECT_TRUE(process_alive(daemon)) << "a started daemon must keep running";
}

TEST_F(ListenerTest, StatusExitCodeIsTheNagiosState) {
    auto warn = ctl({"status", "warn"});
    EXPECT_EQ(warn.exit_code, 1) << warn.output;
    // The script's first line leads, its perfdata stays at the end, the rest is long output.
    EXPECT_EQ(warn.output.substr(0, 63), "HEAL WARNING: status warn on 127.0.0.1: WARNING: queue at 80% (")
        << warn.output;
    EXPECT_TRUE(contains(warn.output, ") | queue=80%;70;90\nconsumer 3 slow\n")) << warn.output;
    auto ok = ctl({"status", "web"});
    EXPECT_EQ(ok.exit_code, 0) << ok.output;
    auto refused = ctl({"status", "nosuch"});
    EXPECT_EQ(refused.exit_code, 3) << "refusals are UNKNOWN for status: " << refused.output;
}

TEST_F(ListenerTest, OutputIsCappedAndFlagged) {
    auto r = ctl({"--json", "status", "chatty"});
    ASSERT_EQ(r.exit_code, 0) << r.output.substr(0, 300);
    auto reply = parse_object(r.output);
    EXPECT_EQ(str(reply, "output").size(), 65536u);
    EXPECT_TRUE(reply.at("truncated").as_bool());
    EXPECT_TRUE(last_audit().at("truncated").as_bool());
    EXPECT_EQ(str(last_audit(), "output_excerpt").size(), 512u);
}

TEST_F(ListenerTest, OutputThatIsNotUtf8StillMakesAReadableReply) {
    auto r = ctl({"--json", "status", "latin1"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(str(parse_object(r.output), "output"), "caf\xEF\xBF\xBD \xEF\xBF\xBD\n");
    EXPECT_EQ(str(last_audit(), "output_excerpt"), "caf\xEF\xBF\xBD \xEF\xBF\xBD\n");
}

TEST_F(ListenerTest, ScriptGetsFixedMinimalEnvironment) {
    auto r = ctl({"--json", "status", "envdump"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto reply = parse_object(r.output);
    auto env = str(reply, "output");
    EXPECT_FALSE(contains(env, "HEAL_TEST_SECRET")) << env;
    EXPECT_TRUE(contains(env, "HEAL_VERB=status\n")) << env;
    EXPECT_TRUE(contains(env, "HEAL_SERVICE=envdump\n")) << env;
    EXPECT_TRUE(contains(env, "HEAL_REQUEST_ID=" + str(reply, "id") + "\n")) << env;
    EXPECT_TRUE(contains(env, "HEAL_PEER=127.0.0.1:")) << env;
    EXPECT_TRUE(contains(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"))
        << env;
}

TEST_F(ListenerTest, RefusesClientWithoutCertificate) {
    auto o = client_options();
    o.cert.clear();
    o.key.clear();
    auto r = heal::call_listener(o, heal::format_request("restart", "web"));
    EXPECT_FALSE(r.answered);
    auto a = audit_with_reason("tls_handshake_failed");
    EXPECT_EQ(str(a, "reason"), "tls_handshake_failed");
    EXPECT_TRUE(contains(str(a, "message"), "certificate")) << str(a, "message");
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
}

TEST_F(ListenerTest, RefusesClientCertificateFromAnotherCA) {
    auto r = ctl({"restart", "web"}, "other");
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL UNKNOWN: restart web on 127.0.0.1: no answer")) << r.output;
    auto a = audit_with_reason("tls_handshake_failed");
    EXPECT_EQ(str(a, "reason"), "tls_handshake_failed");
    EXPECT_TRUE(contains(str(a, "message"), "certificate verify failed")) << str(a, "message");
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
}

TEST_F(ListenerTest, ClientRefusesServerWithWrongName) {
    auto r = ctl({"--server-name", "web1.example", "restart", "web"});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "certificate verify failed: hostname mismatch")) << r.output;
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
}

TEST_F(ListenerTest, RefusesPeerNotOnAllowlist) {
    auto r = ctl({"-b", "127.0.0.2", "restart", "web"});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    auto a = last_audit();
    EXPECT_EQ(str(a, "reason"), "not_allowed");
    EXPECT_TRUE(contains(str(a, "peer"), "127.0.0.2:")) << str(a, "peer");
    EXPECT_EQ(str(a, "subject"), "") << "denied before the TLS handshake";
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
}

TEST_F(ListenerTest, RefusesUnknownVerb) {
    auto r = ctl({"reboot", "web"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL REFUSED: reboot web on 127.0.0.1: unknown verb 'reboot'"))
        << r.output;
    auto a = last_audit();
    EXPECT_EQ(str(a, "reason"), "unknown_verb");
    EXPECT_EQ(str(a, "request"), "HEAL/1 reboot web");
}

TEST_F(ListenerTest, RefusesUnknownService) {
    auto r = ctl({"restart", "nosuch"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(str(last_audit(), "reason"), "unknown_service");
}

TEST_F(ListenerTest, RefusesBadServiceName) {
    auto r = ctl({"restart", "../../bin/sh"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(str(last_audit(), "reason"), "bad_service_name");
}

TEST_F(ListenerTest, RefusesNonUtf8NamesWithAReadableReply) {
    auto r = ctl({"--json", "restart", "caf\xe9"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(str(parse_object(r.output), "reason"), "bad_service_name") << r.output;
    EXPECT_EQ(str(last_audit(), "request"), "HEAL/1 restart caf\xEF\xBF\xBD");
}

TEST_F(ListenerTest, RefusesVerbTheServiceDoesNotDefine) {
    auto r = ctl({"stop", "web"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(str(last_audit(), "reason"), "verb_not_allowed");
}

TEST_F(ListenerTest, RefusesOversizeRequest) {
    auto r = heal::call_listener(client_options(), "HEAL/1 restart " + std::string(5000, 'a') + "\n");
    ASSERT_TRUE(r.answered) << r.error;
    EXPECT_EQ(r.reply.outcome, heal::Outcome::refused);
    EXPECT_EQ(r.reply.reason, heal::Reason::request_too_long);
    EXPECT_EQ(str(last_audit(), "reason"), "request_too_long");
}

TEST_F(ListenerTest, RefusesNulByteInRequest) {
    auto r = heal::call_listener(client_options(), std::string("HEAL/1 restart w\0eb\n", 20));
    ASSERT_TRUE(r.answered) << r.error;
    EXPECT_EQ(r.reply.reason, heal::Reason::malformed_request);
    EXPECT_EQ(str(last_audit(), "request"), "HEAL/1 restart w?eb");
}

TEST_F(ListenerTest, OneActionPerServiceAtATime) {
    Child first(ctl_argv({"--json", "restart", "slow"}));
    ASSERT_TRUE(eventually([&] { return contains(log(), "restart slow by"); }));
    Child second(ctl_argv({"--json", "restart", "slow"}));
    auto r2 = second.wait();
    auto r1 = first.wait();
    EXPECT_EQ(r1.exit_code, 0) << r1.output;
    EXPECT_EQ(r2.exit_code, 2) << r2.output;
    auto busy = parse_object(r2.output);
    EXPECT_EQ(str(busy, "reason"), "busy");
    EXPECT_EQ(str(busy, "running_id"), str(parse_object(r1.output), "id"));
    auto again = ctl({"restart", "slow"});
    EXPECT_EQ(again.exit_code, 0) << "the service is free again: " << again.output;
}

TEST_F(ListenerTest, OtherServicesRunWhileOneIsBusy) {
    Child slow(ctl_argv({"restart", "slow"}));
    ASSERT_TRUE(eventually([&] { return contains(log(), "restart slow by"); }));
    auto web = ctl({"restart", "web"});
    EXPECT_EQ(web.exit_code, 0) << web.output;
    EXPECT_LT(web.seconds, 0.9) << "web waited for slow";
    EXPECT_EQ(slow.wait().exit_code, 0);
}

TEST_F(ListenerTest, PlaintextBytesDoNotStopTheListener) {
    int s = raw_connect();
    ASSERT_GE(s, 0);
    std::string junk = "GET / HTTP/1.0\r\n\r\nHEAL/1 restart web\n";
    ASSERT_EQ(::write(s, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
    char buf[512];
    timeval tv{3, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (::read(s, buf, sizeof buf) > 0) {
    }
    ::close(s);
    EXPECT_EQ(str(audit_with_reason("tls_handshake_failed"), "reason"), "tls_handshake_failed");
    auto r = ctl({"restart", "web"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_lines(dir_ / "ran.log").size(), 1u);
}

TEST_F(ListenerTest, SilentClientIsCutAfterIoTimeout) {
    int s = raw_connect();
    ASSERT_GE(s, 0);
    double start = now_seconds();
    char buf[64];
    timeval tv{6, 0};
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::read(s, buf, sizeof buf);  // says nothing, so the listener must hang up
    double waited = now_seconds() - start;
    ::close(s);
    EXPECT_EQ(n, 0) << "expected the listener to close the connection";
    EXPECT_GT(waited, 1.5);
    EXPECT_LT(waited, 4.0) << "io_timeout is 2 s";
    auto rec = audit_with_reason("tls_handshake_failed");
    EXPECT_EQ(str(rec, "message"), "TLS handshake failed: timed out");
}

TEST_F(ListenerTest, AnswersEveryClientOfABurst) {
    stop_listener();
    write_config("max_per_source = 64\n");
    start_listener();
    std::vector<std::unique_ptr<Child>> clients;
    for (int i = 0; i < 50; ++i)
        clients.push_back(std::make_unique<Child>(ctl_argv({"restart", "nosuch" + std::to_string(i)})));
    int answered = 0;
    for (auto& c : clients) {
        auto r = c->wait(30);
        if (r.exit_code == 2) ++answered;
        else ADD_FAILURE() << "exit " << r.exit_code << ": " << r.output;
    }
    EXPECT_EQ(answered, 50) << "every client of the burst gets its refusal, none is dropped";
    EXPECT_EQ(audit().size(), 50u);
}

TEST_F(ListenerTest, PerSourceCapRefusesExtraConnections) {
    stop_listener();
    write_config("max_per_source = 1\n");
    start_listener();
    int s = raw_connect();  // holds the only slot until io_timeout
    ASSERT_GE(s, 0);
    auto r = ctl({"restart", "web"});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    ::close(s);
    bool seen = false;
    for (const auto& rec : audit()) seen |= str(rec, "reason") == "too_many_connections";
    EXPECT_TRUE(seen);
    EXPECT_TRUE(eventually([&] { return ctl({"restart", "web"}).exit_code == 0; }, 5));
}

TEST_F(ListenerTest, ReloadsConfigurationOnSighup) {
    EXPECT_EQ(ctl({"status", "api"}).exit_code, 3);
    write_config("", "[service api]\nstatus = bin/ok\n");
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); })) << log();
    auto r = ctl({"status", "api"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(ListenerTest, KeepsRunningConfigurationWhenReloadIsBroken) {
    write_config("", "[service api]\nstatus = bin/missing\n");
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "reload failed"); })) << log();
    EXPECT_TRUE(contains(log(), "heal.ini:"));
    auto r = ctl({"restart", "web"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(ctl({"status", "api"}).exit_code, 3);
}

TEST_F(ListenerTest, SighupReopensTheAuditLog) {
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    std::rename((dir_ / "audit.jsonl").c_str(), (dir_ / "audit.jsonl.1").c_str());
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); }));
    ASSERT_EQ(ctl({"restart", "web"}).exit_code, 0);
    EXPECT_EQ(read_lines(dir_ / "audit.jsonl.1").size(), 2u) << "start and final record";
    EXPECT_EQ(read_lines(dir_ / "audit.jsonl").size(), 2u);
}

TEST_F(ListenerTest, SigtermLetsTheRunningActionFinish) {
    Child slow(ctl_argv({"restart", "slow"}));
    ASSERT_TRUE(eventually([&] { return contains(log(), "restart slow by"); }));
    listener_->signal(SIGTERM);
    auto r = slow.wait();
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto l = listener_->wait(10);
    listener_.reset();
    EXPECT_EQ(l.exit_code, 0);
    EXPECT_TRUE(contains(log(), "stopped"));
}

TEST_F(ListenerTest, CheckConfigValidates) {
    auto good = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_EQ(good.exit_code, 0) << good.output;
    write_file(dir_ / "bad.ini", config_text("colour = blue\n"));
    auto bad = run({bin("heal-listener"), "--check-config", "-c", dir_ / "bad.ini"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_TRUE(contains(bad.output, "bad.ini:11: unknown key 'colour'")) << bad.output;
}

TEST_F(ListenerTest, WarnsAboutAWorldReadableKey) {
    auto quiet = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_FALSE(contains(quiet.output, "readable by every user")) << quiet.output;
    write_file(dir_ / "open.key", read_file(cert("main", "server.key")), 0644);
    auto text = config_text();
    text.replace(text.find(cert("main", "server.key")), cert("main", "server.key").size(),
                 dir_ / "open.key");
    write_file(dir_ / "open.ini", text);
    auto r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "open.ini"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "open.key' is readable by every user")) << r.output;
}

// --inetd: the test plays xinetd: it accepts the connection and hands the socket over as fd 0.
class InetdTest : public ListenerTest {
protected:
    RunResult serve_one(const std::vector<std::string>& ctl_args, RunResult& listener_result) {
        int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(inetd_port_);
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        EXPECT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ::listen(lfd, 5);
        auto argv = ctl_argv(ctl_args);
        for (auto& arg : argv)
            if (arg == std::to_string(port_)) arg = std::to_string(inetd_port_);
        Child client(argv);
        int conn = ::accept(lfd, nullptr, nullptr);
        ::close(lfd);
        Child inetd({bin("heal-listener"), "--inetd", "-c", dir_ / "heal.ini"}, conn);
        ::close(conn);
        listener_result = inetd.wait();
        return client.wait();
    }
    unsigned short inetd_port_ = free_port();
};

TEST_F(InetdTest, ServesOneRequestOnStandardInput) {
    RunResult l;
    auto r = serve_one({"restart", "web"}, l);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL OK: restart web")) << r.output;
    EXPECT_EQ(l.exit_code, 0);
    EXPECT_EQ(str(last_audit(), "outcome"), "ok");
}

TEST_F(InetdTest, DeniesPeerNotOnAllowlist) {
    RunResult l;
    auto r = serve_one({"-b", "127.0.0.2", "restart", "web"}, l);
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_EQ(l.exit_code, 1);
    EXPECT_EQ(str(last_audit(), "reason"), "not_allowed");
    EXPECT_EQ(read_file(dir_ / "ran.log"), "");
}
