// The listener fixture: a fresh folder per test with scripts, a config, a state_dir and a running
// heal-listener (the real binary) on a free loopback port; certificates from heal-dev-certs.
#pragma once

#include "common/client.hpp"
#include "tests/integration/harness.hpp"
#include "common/json_get.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <set>

using namespace heal::test;
namespace json = boost::json;

namespace heal::test {

inline std::string bin(const std::string& name) { return build_dir() + "/" + name; }

inline json::object parse_object(const std::string& line) {
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not a JSON object: " << line;
        return {};
    }
    return v.as_object();
}

inline std::string str(const json::object& o, const char* key) { return heal::json_text(o, key); }

inline bool contains(const std::string& hay, const std::string& needle) {
    return hay.find(needle) != std::string::npos;
}

}  // namespace heal::test

class ListenerTest : public ::testing::Test {
protected:
    static inline std::unique_ptr<TempDir> certs_;

    static void SetUpTestSuite() {
        certs_ = std::make_unique<TempDir>();
        for (const char* which : {"main", "other"}) {
            auto r = run({src_dir() + "/scripts/heal-dev-certs", "--client", "ops", "--client",
                          "viewer", "--client", "stranger", *certs_ / which});
            ASSERT_EQ(r.exit_code, 0) << r.output;
        }
    }
    static void TearDownTestSuite() { certs_.reset(); }

    std::string cert(const std::string& which, const std::string& file) const {
        return *certs_ / (which + "/" + file);
    }

    void SetUp() override {
        setenv("HEAL_TEST_SECRET", "must-not-leak", 1);
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
               "listen = 127.0.0.1:0\n"  // the kernel's choice: start_listener() reads it back
               "allow = 127.0.0.1, ::1\n"
               "cert = " + cert("main", "server.crt") + "\n"
               "key = " + cert("main", "server.key") + "\n"
               "client_ca = " + cert("main", "ca.crt") + "\n"
               "audit_log = audit.jsonl\n"
               "state_dir = state\n"
               "allow_root = yes\n"  // CI runs as root; PrivilegesTest covers dropping
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

    /// Starts heal-listener (under `wrapper`, e.g. env with options) and learns its port.
    void start_listener(std::vector<std::string> wrapper = {}) {
        std::remove((dir_ / "listener.log").c_str());  // wait for *this* start's line
        for (const auto& arg : {bin("heal-listener"), std::string("-c"), dir_ / "heal.ini"})
            wrapper.push_back(arg);
        listener_ = std::make_unique<Child>(wrapper, -1, dir_ / "listener.log");
        ASSERT_TRUE(eventually([&] { return contains(log(), "ready: accepting connections"); }))
            << "listener did not start: " << log();
        const std::string text = log(), marker = "listening on 127.0.0.1:";
        auto at = text.find(marker);
        ASSERT_NE(at, std::string::npos) << text;
        port_ = static_cast<unsigned short>(std::atoi(text.c_str() + at + marker.size()));
        ASSERT_NE(port_, 0) << text;
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

    /// A plain TCP connection to the listener (or another loopback port), without TLS; -1 if refused.
    int raw_connect(unsigned short port = 0) const {
        int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port ? port : port_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return s;
        ::close(s);
        return -1;
    }

    struct InetdRun {
        RunResult client, listener;
    };
    /// Plays xinetd for each call at once: a fresh loopback port (the kernel's choice, never a
    /// port picked and released), every connection handed to its own `heal-listener --inetd` as
    /// fd 0; heal-ctl runs with `args` against it.
    std::vector<InetdRun> inetd_calls(const std::vector<std::vector<std::string>>& calls) const {
        int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        EXPECT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        ::listen(lfd, 64);
        ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
        const std::string port = std::to_string(ntohs(a.sin_port));
        std::vector<std::unique_ptr<Child>> clients, servers;
        for (const auto& args : calls) {
            auto argv = ctl_argv(args);
            for (auto& arg : argv)
                if (arg == std::to_string(port_)) arg = port;
            clients.push_back(std::make_unique<Child>(argv));
        }
        for (std::size_t i = 0; i < calls.size(); ++i) {
            int conn = ::accept(lfd, nullptr, nullptr);
            servers.push_back(std::make_unique<Child>(
                std::vector<std::string>{bin("heal-listener"), "--inetd", "-c", dir_ / "heal.ini"},
                conn));
            ::close(conn);
        }
        ::close(lfd);
        std::vector<InetdRun> out(calls.size());
        for (std::size_t i = 0; i < calls.size(); ++i) out[i].client = clients[i]->wait(30);
        for (std::size_t i = 0; i < calls.size(); ++i) out[i].listener = servers[i]->wait(30);
        return out;
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

    /// The audit log once it has settled: the listener writes the records of reads (status, info,
    /// history, diagnostics), failed handshakes and denied connections on its audit thread after
    /// the reply, so a test that has its answer may be a moment ahead of the log. Settled: the same size for 50 ms
    /// (at most 3 s of waiting).
    std::vector<json::object> audit() const {
        const std::string path = dir_ / "audit.jsonl";
        auto size = [&] {
            struct stat st {};
            return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1LL;
        };
        long long seen = size();
        for (int stable = 0, waited = 0; stable < 5 && waited < 300; ++waited) {
            ::usleep(10'000);
            const long long now = size();
            stable = now == seen ? stable + 1 : 0;
            seen = now;
        }
        std::vector<json::object> out;
        for (const auto& line : read_lines(path)) out.push_back(parse_object(line));
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

    /// heal-ctl with the certificate of client `name` (ops, viewer, stranger).
    RunResult ctl_as(const std::string& name, const std::vector<std::string>& args) {
        return run(ctl_as_argv(name, args));
    }

    std::vector<std::string> ctl_as_argv(const std::string& name,
                                         const std::vector<std::string>& args) const {
        auto argv = ctl_argv(args);
        for (auto& a : argv) {
            if (a == cert("main", "client.crt")) a = cert("main", name + ".crt");
            if (a == cert("main", "client.key")) a = cert("main", name + ".key");
        }
        return argv;
    }

    std::vector<json::object> finals() const {
        std::vector<json::object> out;
        for (auto& o : audit())
            if (str(o, "record") == "final") out.push_back(o);
        return out;
    }

    json::object final_of(const std::string& id) const {
        for (auto& o : finals())
            if (str(o, "id") == id) return o;
        ADD_FAILURE() << "no final record for " << id;
        return {};
    }

    TempDir dir_;
    unsigned short port_ = 0;
    std::unique_ptr<Child> listener_;
};

