// heal-listener and heal-ctl, the real binaries, on loopback with certificates from
// heal-dev-certs and real scripts.
#include "tests/integration/listener_fixture.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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

// A script that moves children out of its process group (setsid) or detaches one (a double
// fork) does not keep them past its timeout: found by descent and by HEAL_REQUEST_ID, killed,
// and the reply says so.
TEST_F(ListenerTest, ATimeoutAlsoKillsWhatTheScriptMovedOutOfItsGroup) {
    const std::string d = dir_.path();
    script("escape", "setsid sleep 300 &\necho $! > " + d + "/setsid.pid\n"
                     "setsid -f sh -c 'echo $$ > " + d + "/detached.pid; exec sleep 300'\n"
                     "sleep 300\n");
    write_config("", "[service escape]\nrestart = bin/escape\ntimeout = 1\nbudget = none\n");
    stop_listener();
    start_listener();
    auto r = ctl({"--json", "restart", "escape"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    auto reply = parse_object(r.output);
    EXPECT_TRUE(contains(str(reply, "message"), "and 2 process(es) it had moved out of that group (pid "))
        << r.output;
    EXPECT_FALSE(contains(str(reply, "message"), "STILL RUNNING")) << r.output;
    for (const char* f : {"setsid.pid", "detached.pid"}) {
        auto pid = std::atoi(read_file(dir_ / f).c_str());
        ASSERT_GT(pid, 0) << f;
        EXPECT_TRUE(eventually([&] { return !process_alive(pid); }, 3)) << f << " " << pid << " survived the timeout";
        ::kill(pid, SIGKILL);
    }
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
    EXPECT_TRUE(contains(warn.output, ") | queue=80%;70;90 time=")) << warn.output;
    EXPECT_TRUE(contains(warn.output, "s;;;0\nconsumer 3 slow\n")) << warn.output;
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

// status, verify and diagnose runs are started at once with clone(CLONE_VM | CLONE_VFORK),
// actions with fork at the gate: both must give a script the same world.
TEST_F(ListenerTest, SpawnedAndGatedScriptsGetTheSameGuarantees) {
    script("world",
           "read -r _ _ _ _ pgrp _ < /proc/$$/stat\n"
           "[ \"$pgrp\" = $$ ] && echo 'own process group' || echo \"group $pgrp is not $$\"\n"
           // Builtins only, before the script forks anything: dash blocks every signal around
           // its own vfork, so a grep reading the shell's mask could catch that window.
           "while read -r key value; do\n"
           "  case $key in SigIgn:|SigBlk:) printf '%s\\t%s\\n' \"$key\" \"$value\";; esac\n"
           "done < /proc/$$/status\n"
           "echo \"cwd $(pwd)\"\n"
           "echo \"stdin $(readlink /proc/$$/fd/0)\"\n"
           // Not in a pipeline: the shell holds a pipe's end while it starts the next stage.
           "ls -v /proc/$$/fd\n");
    script("hangs", "sleep 300 &\necho $! > " + dir_ / "status-grandchild.pid" + "\nsleep 300\n");
    script("gone", "echo here\n");
    write_config("", "[service world]\nstatus = bin/world\nrestart = bin/world\n"
                     "[service hangs]\nstatus = bin/hangs\ntimeout = 1\n[service gone]\nstatus = bin/gone\n");
    listener_->signal(SIGHUP);
    ASSERT_TRUE(eventually([&] { return contains(log(), "configuration reloaded"); }));
    auto spawned = str(parse_object(ctl({"--json", "status", "world"}).output), "output");
    auto gated = str(parse_object(ctl({"--json", "restart", "world"}).output), "output");
    EXPECT_EQ(spawned, gated);
    for (const char* want : {"own process group\n", "SigIgn:\t0000000000000000\n", "SigBlk:\t0000000000000000\n",
                             "cwd /\n", "stdin /dev/null\n"})
        EXPECT_TRUE(contains(spawned, want)) << want << " in:\n" << spawned;
    // Only 0, 1, 2 and the one dash keeps open for the script it reads (10).
    auto fds = spawned.substr(spawned.rfind("stdin /dev/null\n") + 16);
    EXPECT_EQ(fds.rfind("0\n1\n2\n", 0), 0u) << fds;
    EXPECT_LE(std::count(fds.begin(), fds.end(), '\n'), 4) << "a descriptor leaked: " << fds;
    // A status run that hangs is killed with its whole group at the timeout, like an action.
    auto r = ctl({"status", "hangs"});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_LT(r.seconds, 4.0);
    auto grandchild = std::atoi(read_file(dir_ / "status-grandchild.pid").c_str());
    ASSERT_GT(grandchild, 0);
    EXPECT_TRUE(eventually([&] { return !process_alive(grandchild); }, 3))
        << "grandchild " << grandchild << " of a status run survived the timeout";
    ASSERT_EQ(::unlink((dir_ / "bin/gone").c_str()), 0);  // gone after the configuration was read
    auto missing = ctl({"--json", "status", "gone"});
    EXPECT_TRUE(contains(missing.output, "cannot execute " + dir_ / "bin/gone" + ": No such file or directory"))
        << missing.output;
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

// A Nagios server's burst from one address beyond max_per_source waits its turn (within
// io_timeout) instead of being closed: every one of 100 concurrent checks is answered.
TEST_F(ListenerTest, ABurstBeyondMaxPerSourceWaitsItsTurn) {
    stop_listener();
    script("brief", "sleep 0.05\necho brief ok\n");
    auto text = config_text("max_per_source = 4\n", "[service brief]\nstatus = bin/brief\n");
    text.replace(text.find("io_timeout = 2\n"), 15, "io_timeout = 20\n");
    write_file(dir_ / "heal.ini", text);
    start_listener();
    std::vector<std::unique_ptr<Child>> clients;
    for (int i = 0; i < 100; ++i) clients.push_back(std::make_unique<Child>(ctl_argv({"status", "brief"})));
    int ok = 0;
    for (auto& c : clients) {
        auto r = c->wait(60);
        if (r.exit_code == 0) ++ok;
        else ADD_FAILURE() << "exit " << r.exit_code << ": " << r.output;
    }
    EXPECT_EQ(ok, 100);
    for (const auto& rec : audit()) EXPECT_NE(str(rec, "reason"), "too_many_connections") << json::serialize(rec);
}

// Past io_timeout in the queue: closed before TLS, audited once per window, and heal-ctl names
// the likely causes instead of a bare "connection closed".
TEST_F(ListenerTest, PerSourceCapClosesWhatWaitedLongerThanIoTimeout) {
    stop_listener();
    script("slow3", "touch " + dir_ / "slow3.started" + "\nsleep 3\necho done\n");
    auto text = config_text("max_per_source = 1\n", "[service slow3]\nstatus = bin/slow3\n");
    text.replace(text.find("io_timeout = 2\n"), 15, "io_timeout = 1\n");
    write_file(dir_ / "heal.ini", text);
    start_listener();
    Child holder(ctl_argv({"status", "slow3"}));  // holds the only slot for 3 s
    ASSERT_TRUE(eventually([&] { return ::access((dir_ / "slow3.started").c_str(), F_OK) == 0; }, 5)) << log();
    auto r = ctl({"status", "web"});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "the listener closed the connection before TLS")) << r.output;
    EXPECT_TRUE(contains(r.output, "max_per_source")) << r.output;
    EXPECT_EQ(holder.wait(10).exit_code, 0);
    bool seen = false;
    for (const auto& rec : audit()) seen |= str(rec, "reason") == "too_many_connections";
    EXPECT_TRUE(seen);
    EXPECT_EQ(ctl({"status", "web"}).exit_code, 0);
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
    EXPECT_TRUE(contains(bad.output, "bad.ini:12: unknown key 'colour'")) << bad.output;
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

TEST_F(ListenerTest, WarnsAboutAWideAllowlistAndASystemCaBundle) {
    auto quiet = run({bin("heal-listener"), "--check-config", "-c", dir_ / "heal.ini"});
    EXPECT_FALSE(contains(quiet.output, "large part of the Internet")) << quiet.output;
    EXPECT_FALSE(contains(quiet.output, "system CA bundle")) << quiet.output;
    auto with = [&](const std::string& from, const std::string& to) {
        auto text = config_text();
        text.replace(text.find(from), from.size(), to);
        write_file(dir_ / "risky.ini", text);
        return run({bin("heal-listener"), "--check-config", "-c", dir_ / "risky.ini"});
    };
    for (const char* wide : {"0.0.0.0/0", "::/0", "10.0.0.0/7", "2001::/31"}) {
        auto r = with("allow = 127.0.0.1, ::1", std::string("allow = 127.0.0.1, ") + wide);
        EXPECT_EQ(r.exit_code, 0) << "a warning, not an error: " << r.output;
        EXPECT_TRUE(contains(r.output, std::string("allow = ") + wide + " lets in a large part of the Internet"))
            << wide << ": " << r.output;
    }
    for (const char* narrow : {"10.0.0.0/8", "2001:db8::/32", "192.168.1.0/24"})
        EXPECT_FALSE(contains(with("allow = 127.0.0.1, ::1", std::string("allow = ") + narrow).output,
                              "large part of the Internet")) << narrow;
    auto bundle = with("client_ca = " + cert("main", "ca.crt"), "client_ca = /etc/ssl/certs/ca-certificates.crt");
    EXPECT_TRUE(contains(bundle.output, "client_ca '/etc/ssl/certs/ca-certificates.crt' holds"))
        << bundle.output;
    EXPECT_TRUE(contains(bundle.output, "a certificate from any of those CAs would be let in")) << bundle.output;
    // Six CAs in a file of our own: a bundle too.
    std::string six;
    for (int i = 0; i < 6; ++i) six += read_file(cert(i % 2 ? "other" : "main", "ca.crt"));
    write_file(dir_ / "six.crt", six);
    auto many = with("client_ca = " + cert("main", "ca.crt"), "client_ca = " + (dir_ / "six.crt"));
    EXPECT_TRUE(contains(many.output, "six.crt' holds 6 CA certificates")) << many.output;
    // Start-up says it too.
    write_config();
    auto text = config_text();
    text.replace(text.find("allow = 127.0.0.1, ::1"), 22, "allow = 0.0.0.0/0");
    write_file(dir_ / "heal.ini", text);
    stop_listener();
    start_listener();
    EXPECT_TRUE(contains(log(), "allow = 0.0.0.0/0 lets in a large part of the Internet")) << log();
}

// --inetd: the test plays xinetd: it accepts the connection and hands the socket over as fd 0.
class InetdTest : public ListenerTest {
protected:
    RunResult serve_one(const std::vector<std::string>& ctl_args, RunResult& listener_result) {
        auto run = inetd_calls({ctl_args})[0];
        listener_result = run.listener;
        return run.client;
    }
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

TEST_F(ListenerTest, ACommandLineRunsWithExactlyItsWordsAndAScriptGetsTheVerb) {
    const std::string d = dir_.path();
    script("record", "for a in \"$0\" \"$@\"; do printf '[%s]\\n' \"$a\"; done > " + d +
                         "/argv.$HEAL_VERB\n");
    stop_listener();
    write_config("", "[service cmd]\n"
                     "restart = /usr/bin/env HEAL_VIA=env " + d + "/bin/record -n \"two words\" restart web.service\n"
                     "stop = bin/record\n"
                     "start = bin/record --quoted \"\" \"a|b;c\"\n");
    start_listener();
    ASSERT_EQ(ctl({"restart", "cmd"}).exit_code, 0) << log();
    EXPECT_EQ(read_file(dir_ / "argv.restart"),
              "[" + d + "/bin/record]\n[-n]\n[two words]\n[restart]\n[web.service]\n")
        << "sudo-style: the program runs the next words, exactly";
    ASSERT_EQ(ctl({"stop", "cmd"}).exit_code, 0) << log();
    EXPECT_EQ(read_file(dir_ / "argv.stop"), "[" + d + "/bin/record]\n[stop]\n") << "a script: SCRIPT VERB";
    ASSERT_EQ(ctl({"start", "cmd"}).exit_code, 0) << log();
    EXPECT_EQ(read_file(dir_ / "argv.start"), "[" + d + "/bin/record]\n[--quoted]\n[]\n[a|b;c]\n");
}

TEST_F(ListenerTest, ShellSyntaxInACommandIsRefusedAtLoad) {
    for (const char* value : {"bin/ok $HOME", "bin/ok | tee /tmp/x", "bin/ok;id", "bin/ok > /tmp/x",
                              "bin/ok `id`", "bin/ok *", "bin/ok \"open"}) {
        write_file(dir_ / "bad.ini", config_text() + "[service shell]\nrestart = " + value + "\n");
        auto r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "bad.ini"});
        EXPECT_NE(r.exit_code, 0) << value << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "restart:")) << value << ": " << r.output;
        EXPECT_TRUE(contains(r.output, "without a shell") || contains(r.output, "unterminated"))
            << value << ": " << r.output;
    }
    write_file(dir_ / "bad.ini", config_text() + "[service missing]\nrestart = bin/nosuch --flag\n");
    auto missing = run({bin("heal-listener"), "--check-config", "-c", dir_ / "bad.ini"});
    EXPECT_NE(missing.exit_code, 0);
    EXPECT_TRUE(contains(missing.output, "bin/nosuch': No such file or directory")) << missing.output;
}

TEST_F(InetdTest, RunByHandOnATerminalOrAFileItSaysSoAndExits2) {
    // A terminal: a pseudo-terminal as its stdin, stdout and stderr, as someone typing.
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(::grantpt(master), 0);
    ASSERT_EQ(::unlockpt(master), 0);
    int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave, 0);
    Child on_tty({bin("heal-listener"), "--inetd", "-c", dir_ / "heal.ini"}, slave);
    ::close(slave);
    auto r = on_tty.wait(10);
    EXPECT_EQ(r.exit_code, 2);
    std::string said;
    char buf[4096];
    for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) said.append(buf, static_cast<std::size_t>(n));
    ::close(master);
    EXPECT_TRUE(contains(said, "standard input is a terminal")) << said;
    EXPECT_TRUE(contains(said, "Run it from xinetd")) << said;

    write_file(dir_ / "stdin.txt", "HEAL/1 restart web\n");
    int file = ::open((dir_ / "stdin.txt").c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    ASSERT_GE(file, 0);
    Child on_file({bin("heal-listener"), "--inetd", "-c", dir_ / "heal.ini"}, file);
    ::close(file);
    EXPECT_EQ(on_file.wait(10).exit_code, 2);
    EXPECT_TRUE(contains(read_file(dir_ / "stdin.txt"), "standard input is a regular file"))
        << read_file(dir_ / "stdin.txt");
    EXPECT_TRUE(read_file(dir_ / "ran.log").empty()) << "nothing ran";
}

// verify = yes: status after a start or restart, until healthy or verify_timeout.
class VerifyTest : public ListenerTest {
protected:
    void SetUp() override {
        ListenerTest::SetUp();
        const std::string d = dir_.path();
        // Unhealthy for its first two runs, then healthy; counts its runs.
        script("warming", "n=$(cat " + d + "/runs 2>/dev/null || echo 0); n=$((n + 1)); echo $n > " + d +
                              "/runs\nif [ $n -ge 3 ]; then echo 'OK worker up'; exit 0; fi\n"
                              "echo \"CRITICAL: warming up ($n)\"; exit 2\n");
        script("down", "echo \"$HEAL_VERB\" >> " + d + "/down.runs\necho 'CRITICAL: worker down'\nexit 2\n");
        stop_listener();
        write_config("", "[service warming]\nrestart = bin/ok\nstop = bin/ok\nstatus = bin/warming\n"
                         "verify = yes\nverify_interval = 0.2s\nverify_timeout = 5s\n"
                         "[service down]\nstart = bin/ok\nrestart = bin/ok\nstatus = bin/down\n"
                         "verify = yes\nverify_interval = 0.2s\nverify_timeout = 1s\n"
                         "[service failing]\nrestart = bin/fail\nstatus = bin/down\nverify = yes\n");
        start_listener();
    }
};

TEST_F(VerifyTest, ARestartIsVerifiedHealthyAfterStatusSaysSo) {
    auto r = ctl({"restart", "warming"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL OK: restart warming on 127.0.0.1: restarted, healthy after 0."))
        << r.output;
    EXPECT_EQ(read_file(dir_ / "runs"), "3\n") << "status ran until it said OK, not longer";
    auto j = parse_object(ctl({"--json", "restart", "warming"}).output);
    EXPECT_TRUE(j.at("verified").as_bool());
    EXPECT_EQ(str(j, "verify_status"), "OK worker up");
    auto final_record = audit().back();
    EXPECT_EQ(str(final_record, "record"), "final");
    EXPECT_TRUE(final_record.at("verified").as_bool()) << json::serialize(final_record);
    EXPECT_GE(final_record.at("healthy_after_ms").as_int64(), 0);
}

TEST_F(VerifyTest, StillFailingAfterVerifyTimeoutExits1WithTheStatusLine) {
    double start = now_seconds();
    auto r = ctl({"restart", "down"});
    double took = now_seconds() - start;
    EXPECT_EQ(r.exit_code, 1) << "the event handler must page: " << r.output;
    EXPECT_TRUE(contains(r.output, "HEAL STILL FAILING: restart down on 127.0.0.1: restarted, still "
                                   "failing after 1s: CRITICAL: worker down"))
        << r.output;
    EXPECT_GE(took, 0.8);
    EXPECT_LT(took, 4.0) << "verify_timeout bounds it";
    auto j = parse_object(ctl({"--json", "start", "down"}).output);
    EXPECT_EQ(str(j, "outcome"), "ok") << "the action itself ran fine";
    EXPECT_FALSE(j.at("verified").as_bool());
    EXPECT_TRUE(j.at("healthy_after_ms").is_null());
    EXPECT_FALSE(audit().back().at("verified").as_bool());
}

TEST_F(VerifyTest, StopAndFailedActionsAreNotVerified) {
    auto stop = parse_object(ctl({"--json", "stop", "warming"}).output);
    EXPECT_EQ(str(stop, "outcome"), "ok");
    EXPECT_FALSE(stop.contains("verified"));
    EXPECT_TRUE(read_file(dir_ / "runs").empty()) << "no status run after a stop";
    auto failed = parse_object(ctl({"--json", "restart", "failing"}).output);
    EXPECT_EQ(str(failed, "outcome"), "failed");
    EXPECT_FALSE(failed.contains("verified"));
    EXPECT_TRUE(read_file(dir_ / "down.runs").empty()) << "no status run after a failed restart";
    write_file(dir_ / "bad.ini", config_text() + "[service blind]\nrestart = bin/ok\nverify = yes\n");
    auto r = run({bin("heal-listener"), "--check-config", "-c", dir_ / "bad.ini"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "[service blind] verify = yes needs a status command")) << r.output;
}
