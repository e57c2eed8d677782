#include "common/client_config.hpp"
#include "listener/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace heal;
namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/heal-config-test.XXXXXX";
        dir_ = mkdtemp(tmpl);
        for (const char* f : {"server.crt", "server.key", "ca.crt"}) write(f, "pem\n");
        write("bin/restart", "#!/bin/sh\n");
        chmod((dir_ + "/bin/restart").c_str(), 0755);
        write("bin/not-exec", "#!/bin/sh\n");
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& text) {
        fs::create_directories(fs::path(dir_ + "/" + name).parent_path());
        std::ofstream(dir_ + "/" + name) << text;
    }
    std::string listener_section() const {
        return "[listener]\nallow = 127.0.0.1\ncert = server.crt\nkey = server.key\n"
               "client_ca = ca.crt\naudit_log = audit.jsonl\n";
    }
    /// The error message loading `text` gives, or "" when it loads.
    std::string error_of(const std::string& text) {
        write("heal.ini", text);
        try {
            load_listener_config(dir_ + "/heal.ini");
            return "";
        } catch (const ConfigError& e) {
            return e.what();
        }
    }
    std::string dir_;
};

TEST_F(ConfigTest, LoadsTheDocumentedExample) {
    write("heal.ini", "[listener]\n"
                      "listen = 127.0.0.1:5669, [::1]:5669 ; one or more\n"
                      "allow = 127.0.0.1, 10.0.0.0/8, ::1\n"
                      "cert = server.crt\nkey = server.key\nclient_ca = ca.crt\n"
                      "audit_log = audit.jsonl\ntimeout = 30\n\n"
                      "[service web]\nrestart = bin/restart\nstatus = " +
                          dir_ + "/bin/restart\ntimeout = 60\n");
    auto cfg = load_listener_config(dir_ + "/heal.ini");
    ASSERT_EQ(cfg.listen.size(), 2u);
    EXPECT_EQ(cfg.listen[1].port(), 5669);
    EXPECT_TRUE(cfg.allow.allows(boost::asio::ip::make_address("10.2.3.4")));
    EXPECT_EQ(cfg.cert, dir_ + "/server.crt");
    ASSERT_EQ(cfg.services.count("web"), 1u);
    const auto& web = cfg.services.at("web");
    EXPECT_EQ(web.scripts.at(Verb::restart).argv, std::vector<std::string>{dir_ + "/bin/restart"});
    EXPECT_FALSE(web.scripts.at(Verb::restart).command_line);
    EXPECT_EQ(web.scripts.count(Verb::stop), 0u);
    EXPECT_EQ(cfg.timeout_for(web), 60);
    EXPECT_EQ(cfg.max_connections, 512u);
    EXPECT_EQ(cfg.max_per_source, 32u);
}

TEST_F(ConfigTest, DefaultsListenToLoopback) {
    auto err = error_of(listener_section());
    ASSERT_EQ(err, "");
    auto cfg = load_listener_config(dir_ + "/heal.ini");
    ASSERT_EQ(cfg.listen.size(), 1u);
    EXPECT_EQ(endpoint_text(cfg.listen[0]), "127.0.0.1:5669");
}

TEST_F(ConfigTest, UnknownKeyNamesFileLineAndKey) {
    auto err = error_of(listener_section() + "colour = blue\n");
    EXPECT_NE(err.find("heal.ini:7: unknown key 'colour' in [listener]"), std::string::npos) << err;
}

TEST_F(ConfigTest, UnknownSectionIsRefused) {
    auto err = error_of(listener_section() + "[servise web]\nrestart = bin/restart\n");
    EXPECT_NE(err.find(":8: unknown section [servise web]"), std::string::npos) << err;
}

TEST_F(ConfigTest, MissingRequiredKeysAreNamed) {
    EXPECT_NE(error_of("[listener]\nallow = ::1\ncert = server.crt\nkey = server.key\n"
                       "audit_log = a\n")
                  .find("client_ca"),
              std::string::npos);
    EXPECT_NE(error_of("[listener]\ncert = server.crt\nkey = server.key\nclient_ca = ca.crt\n"
                       "audit_log = a\n")
                  .find("allow"),
              std::string::npos);
    EXPECT_NE(error_of("").find("cert is required"), std::string::npos);
}

TEST_F(ConfigTest, BadAddressesAreRefusedWithLine) {
    auto err = error_of("[listener]\nlisten = 127.0.0.1:99999\n");
    EXPECT_NE(err.find(":2: listen:"), std::string::npos) << err;
    err = error_of("[listener]\nallow = 10.0.0.0/40\n");
    EXPECT_NE(err.find(":2: allow:"), std::string::npos) << err;
    err = error_of("[listener]\nlisten = example.com:5669\n");
    EXPECT_NE(err.find("host names are not accepted"), std::string::npos) << err;
}

TEST_F(ConfigTest, UnreadableAndMissingFilesAreRefused) {
    auto err = error_of("[listener]\ncert = nope.crt\n");
    EXPECT_NE(err.find(":2: cert: cannot read"), std::string::npos) << err;
    err = error_of(listener_section() + "[service web]\nrestart = bin/missing\n");
    EXPECT_NE(err.find(":8: restart:"), std::string::npos) << err;
    err = error_of(listener_section() + "[service web]\nrestart = bin/not-exec\n");
    EXPECT_NE(err.find("is not executable"), std::string::npos) << err;
    err = error_of(listener_section() + "[service web]\nrestart = bin\n");
    EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
    try {
        load_listener_config(dir_ + "/does-not-exist.ini");
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("cannot open"), std::string::npos);
    }
}

TEST_F(ConfigTest, ServiceRules) {
    EXPECT_NE(error_of(listener_section() + "[service web]\nreboot = bin/restart\n")
                  .find("unknown key 'reboot' in [service web]"),
              std::string::npos);
    EXPECT_NE(error_of(listener_section() + "[service ../x]\nrestart = bin/restart\n")
                  .find("bad service name"),
              std::string::npos);
    EXPECT_NE(error_of(listener_section() + "[service web]\ntimeout = 5\n").find("defines no verb"),
              std::string::npos);
    EXPECT_NE(error_of(listener_section() + "[service web]\nrestart = bin/restart\ntimeout = -1\n")
                  .find("timeout: expected a duration"),
              std::string::npos);
}

TEST_F(ConfigTest, HostileSyntax) {
    EXPECT_NE(error_of("[listener\n").find(":1: syntax error"), std::string::npos);
    EXPECT_NE(error_of("allow = ::1\n").find("outside any section"), std::string::npos);
    EXPECT_NE(error_of("[listener]\njust words\n").find(":2:"), std::string::npos);
    EXPECT_NE(error_of(listener_section() + "allow = ::1\n").find("duplicate key 'allow'"),
              std::string::npos);
    EXPECT_NE(error_of(listener_section() + "max_connections = 0\n").find("max_connections"),
              std::string::npos);
    EXPECT_NE(error_of(listener_section() + "timeout = 1e9\n").find("timeout"), std::string::npos);
    EXPECT_NE(error_of(std::string("[listener]\nallow = 1\0x27.0.0.1\n", 29)), "");
}

TEST_F(ConfigTest, ClientConfig) {
    write("ctl.ini", "[client]\nhost = web1.example\nport = 6000\ncert = c.crt\nkey = /abs/c.key\n"
                     "ca = ca.crt\ntimeout = 2.5\n");
    ClientOptions o;
    load_client_config(dir_ + "/ctl.ini", o);
    EXPECT_EQ(o.host, "web1.example");
    EXPECT_EQ(o.port, 6000);
    EXPECT_EQ(o.cert, dir_ + "/c.crt");
    EXPECT_EQ(o.key, "/abs/c.key");
    EXPECT_DOUBLE_EQ(o.timeout, 2.5);
    write("bad.ini", "[client]\nport = 0\n");
    EXPECT_THROW(load_client_config(dir_ + "/bad.ini", o), ConfigError);
    write("bad.ini", "[cliente]\nhost = x\n");
    EXPECT_THROW(load_client_config(dir_ + "/bad.ini", o), ConfigError);
    // crl and crl_stale (the CRL file itself is read at the call, by add_crls).
    write("crl.ini", "[client]\ncrl = revoked.pem\ncrl_stale = refuse\n");
    load_client_config(dir_ + "/crl.ini", o);
    EXPECT_EQ(o.crl, dir_ + "/revoked.pem");
    EXPECT_TRUE(o.crl_refuse_stale);
    for (const char* bad : {"crl_stale = maybe\n", "crl_stale = REFUSE\n", "crl_stale =\n", "crl =\n"}) {
        write("bad.ini", std::string("[client]\n") + bad);
        EXPECT_THROW(load_client_config(dir_ + "/bad.ini", o), ConfigError) << bad;
    }
    // The command line wins over the file; without certificate, key and CA it is an error.
    auto merged = client_options(dir_ + "/ctl.ini", true, {.host = "web2", .port = 7000});
    EXPECT_EQ(merged.host, "web2");
    EXPECT_EQ(merged.port, 7000);
    EXPECT_EQ(merged.cert, dir_ + "/c.crt");
    EXPECT_THROW(client_options(dir_ + "/crl.ini", true, {}), ConfigError);
    EXPECT_THROW(client_options(dir_ + "/none.ini", true, {}), ConfigError);
}

TEST_F(ConfigTest, CrlKeysOfTheListener) {
    EXPECT_NE(error_of(listener_section() + "crl = missing.pem\n").find("crl: "), std::string::npos);
    EXPECT_NE(error_of(listener_section() + "crl_stale = sometimes\n").find("crl_stale: expected warn or refuse"),
              std::string::npos);
}

TEST_F(ConfigTest, GuardDefaultsAndKeys) {
    auto svc = listener_section() + "[service web]\nrestart = bin/restart\n";
    write("heal.ini", svc);
    auto cfg = load_listener_config(dir_ + "/heal.ini");
    EXPECT_EQ(cfg.state_dir, "/var/lib/heal");
    EXPECT_EQ(cfg.max_concurrent_actions, 4u);
    const auto& web = cfg.services.at("web");
    ASSERT_TRUE(web.budget);
    EXPECT_EQ(web.budget->limit, 3u);
    EXPECT_EQ(web.budget->window_s, 3600);
    EXPECT_EQ(web.cooldown_s, 0);
    EXPECT_EQ(web.quarantine_for_s, 0);
    EXPECT_FALSE(web.dry_run);
    EXPECT_TRUE(cfg.clients.empty());

    write("heal.ini", listener_section() + "state_dir = st\nmax_concurrent_actions = 2\n"
                      "[service web]\nrestart = bin/restart\nbudget = 5/30m\ncooldown = 90\n"
                      "quarantine_for = 2d\ndry_run = yes\ntimeout = 2m\n");
    cfg = load_listener_config(dir_ + "/heal.ini");
    EXPECT_EQ(cfg.state_dir, dir_ + "/st");
    EXPECT_EQ(cfg.max_concurrent_actions, 2u);
    const auto& w = cfg.services.at("web");
    EXPECT_EQ(w.budget->limit, 5u);
    EXPECT_EQ(w.budget->window_s, 1800);
    EXPECT_EQ(w.cooldown_s, 90);
    EXPECT_EQ(w.quarantine_for_s, 2 * 86400);
    EXPECT_TRUE(w.dry_run);
    EXPECT_EQ(w.timeout, 120);
    write("heal.ini", svc + "budget = none\n");
    EXPECT_FALSE(load_listener_config(dir_ + "/heal.ini").services.at("web").budget);
}

TEST_F(ConfigTest, HostileGuardValues) {
    auto svc = listener_section() + "[service web]\nrestart = bin/restart\n";
    for (const char* bad : {"budget = 3", "budget = 0/1h", "budget = -1/1h", "budget = 3/",
                            "budget = 3/1y", "budget = 3/1h/2", "budget = /1h", "budget = 3/0",
                            "budget = 99999999999999999999/1h", "budget = 3 / 1h", "budget = NONE",
                            "budget = 3/400d"})
        EXPECT_NE(error_of(svc + bad + "\n").find("budget: expected N/WINDOW"), std::string::npos)
            << bad;
    for (const char* bad : {"cooldown = -1", "cooldown = 1x", "cooldown = s", "cooldown = 1e9",
                            "cooldown = nan", "quarantine_for = 0", "quarantine_for = 10w"})
        EXPECT_NE(error_of(svc + bad + "\n").find("expected a duration"), std::string::npos) << bad;
    EXPECT_EQ(error_of(svc + "cooldown = 0\n"), "");
    EXPECT_NE(error_of(svc + "dry_run = maybe\n").find("dry_run: expected yes or no"), std::string::npos);
    EXPECT_NE(error_of(listener_section() + "max_concurrent_actions = 0\n").find("max_concurrent_actions"),
              std::string::npos);
    EXPECT_NE(error_of(svc + "info = bin/restart\n").find("unknown key 'info'"), std::string::npos)
        << "info and reset are the listener's own, not scripts";
}

TEST_F(ConfigTest, ClientSections) {
    auto base = listener_section() + "[service web]\nrestart = bin/restart\n";
    write("heal.ini", base + "[client nagios]\ncn = nagios.example.com\nverbs = status, restart\n"
                             "[client ops]\nfingerprint = ab" + std::string(62, 'c') + "\nverbs = *\nadmin = yes\n"
                             "[client web-only]\ncn = w\nservices = web\n");
    auto cfg = load_listener_config(dir_ + "/heal.ini");
    ASSERT_EQ(cfg.clients.size(), 3u);
    EXPECT_EQ(cfg.clients[0].name, "nagios");
    EXPECT_EQ(cfg.clients[0].verbs, (std::set<Verb>{Verb::status, Verb::restart}));
    EXPECT_FALSE(cfg.clients[0].admin);
    EXPECT_EQ(cfg.clients[1].fingerprint.substr(0, 9), "AB:CC:CC:");
    EXPECT_EQ(cfg.clients[1].verbs.size(), 4u);
    EXPECT_TRUE(cfg.clients[1].admin);
    EXPECT_EQ(cfg.clients[2].verbs, std::set<Verb>{Verb::status}) << "default verbs: status";
    EXPECT_FALSE(cfg.clients[2].all_services);
    EXPECT_TRUE(cfg.clients[2].grants(Verb::status, "web"));
    EXPECT_FALSE(cfg.clients[2].grants(Verb::status, "db"));

    struct Case {
        std::string text, want;
    } cases[] = {
        {"[client a]\nverbs = status\n", "needs exactly one of cn and fingerprint"},
        {"[client a]\ncn = x\nfingerprint = " + std::string(64, 'a') + "\n", "exactly one of"},
        {"[client a]\ncn = x\n[client b]\ncn = x\n", "same certificate as an earlier"},
        {"[client a]\ncn = x\nservices = wbe\n", "no [service wbe]"},
        {"[client a]\ncn = x\nverbs = reboot\n", "verbs: unknown verb 'reboot'"},
        {"[client a]\ncn = x\nverbs = reset\n", "admin = yes"},
        {"[client a]\ncn = x\nverbs =\n", "verbs: no verb given"},
        {"[client a]\ncn = x\nadmin = sure\n", "admin: expected yes or no"},
        {"[client a]\nfingerprint = zz\n", "fingerprint: expected"},
        {"[client a]\nfingerprint = " + std::string(66, 'a') + "\n", "fingerprint: expected"},
        {"[client a]\ncn = x\nrole = root\n", "unknown key 'role' in [client a]"},
        {"[client a/b]\ncn = x\n", "bad client name"},
        {"[client a]\ncn =\n", "cn: empty"},
        {"[client a]\ncn = x\nservices = ../web\n", "bad service name"},
    };
    for (const auto& c : cases)
        EXPECT_NE(error_of(base + c.text).find(c.want), std::string::npos)
            << c.text << " -> " << error_of(base + c.text);
}

TEST(Fingerprint, NormalizesCaseAndColons) {
    std::string plain(64, 'a');
    auto n = normalize_fingerprint(plain);
    EXPECT_EQ(n.size(), 95u);
    EXPECT_EQ(n.substr(0, 6), "AA:AA:");
    EXPECT_EQ(normalize_fingerprint(n), n);
    EXPECT_EQ(normalize_fingerprint(""), "");
    EXPECT_EQ(normalize_fingerprint(std::string(63, 'a')), "");
    EXPECT_EQ(normalize_fingerprint(std::string(64, 'g')), "");
}

TEST_F(ConfigTest, EmptyDuplicateSectionsAndLongLinesAreRefused) {
    auto base = listener_section() + "[service web]\nrestart = bin/restart\n";
    EXPECT_NE(error_of(base + "[bogus]\n").find("heal.ini:9: section [bogus] is empty"),
              std::string::npos) << error_of(base + "[bogus]\n");
    EXPECT_NE(error_of(base + "[client x]\n; nothing\n\n[service db]\nrestart = bin/restart\n")
                  .find(":9: section [client x] is empty"),
              std::string::npos);
    auto dup = error_of(base + "[service web]\nstatus = bin/restart\n");
    EXPECT_NE(dup.find("heal.ini:9: duplicate section [service web] (first at line 7)"), std::string::npos)
        << dup;
    EXPECT_NE(error_of(base + "[ service web ]\nstatus = bin/restart\n").find("duplicate section"),
              std::string::npos) << "blanks around the name do not make another section";
    // inih's buffer is 200 bytes: a longer line would be cut and its rest read as a new line.
    auto at_limit = base + "[client a]\ncn = " + std::string(194, 'x') + "\n";  // 199 bytes
    EXPECT_EQ(error_of(at_limit), "") << "199 bytes is fine";
    auto too_long = base + "[client a]\ncn = " + std::string(195, 'x') + "\n";
    EXPECT_NE(error_of(too_long).find("heal.ini:10: line too long (200 bytes; at most 199)"),
              std::string::npos) << error_of(too_long);
    EXPECT_NE(error_of(base + "; " + std::string(300, 'c') + "\n").find("line too long"),
              std::string::npos) << "comments too: inih reads them in the same buffer";
    EXPECT_NE(error_of(base + std::string("x = \0y\n", 7)).find("NUL byte"), std::string::npos);
}

TEST(SplitCommand, WordsAndDoubleQuotesOnly) {
    std::string err;
    auto sudo = split_command("/usr/bin/sudo -n /bin/systemctl restart web.service", err);
    ASSERT_TRUE(sudo) << err;
    EXPECT_EQ(*sudo, (std::vector<std::string>{"/usr/bin/sudo", "-n", "/bin/systemctl", "restart",
                                               "web.service"}));
    auto quoted = split_command("  bin/tool  \"two words\" --name=\"a b\"\t\"\" x", err);
    ASSERT_TRUE(quoted) << err;
    EXPECT_EQ(*quoted, (std::vector<std::string>{"bin/tool", "two words", "--name=a b", "", "x"}));
    auto literal = split_command("bin/tool \"a|b;c>d*\"", err);
    ASSERT_TRUE(literal) << err;
    EXPECT_EQ(literal->at(1), "a|b;c>d*") << "inside double quotes these are plain text";
    for (const char* bad : {"", "   ", "bin/x $HOME", "bin/x \"$HOME\"", "bin/x `id`", "bin/x | tee y",
                            "bin/x;id", "bin/x > /tmp/y", "bin/x < y", "bin/x *", "bin/x ?",
                            "bin/x [ab]", "bin/x ~/y", "bin/x 'a b'", "bin/x a\\ b", "bin/x &",
                            "bin/x $(id)", "bin/x \"unterminated", "\"\" x", "bin/x {a,b}"}) {
        err.clear();
        EXPECT_FALSE(split_command(bad, err)) << "accepted: " << bad;
        EXPECT_FALSE(err.empty()) << bad;
    }
    split_command("bin/x | tee y", err);
    EXPECT_NE(err.find("without a shell"), std::string::npos) << err;
    EXPECT_NE(err.find("put anything more in a script"), std::string::npos) << err;
}

TEST_F(ConfigTest, DiagnoseAndItsLimits) {
    write("heal.ini", listener_section() + "diagnostics_keep = 7d\ndiagnostics_max_size = 64M\n"
                               "[service web]\nrestart = bin/restart\ndiagnose = bin/restart --dump \"a b\"\n"
                               "diagnose_timeout = 10s\n");
    auto cfg = load_listener_config(dir_ + "/heal.ini");
    EXPECT_EQ(cfg.diagnostics_keep_s, 7 * 86400.0);
    EXPECT_EQ(cfg.diagnostics_max_size, 64ull << 20);
    const auto& web = cfg.services.at("web");
    ASSERT_TRUE(web.diagnose);
    EXPECT_EQ(web.diagnose->argv, (std::vector<std::string>{dir_ + "/bin/restart", "--dump", "a b"}));
    EXPECT_EQ(web.diagnose_timeout_s, 10);
    for (const char* bad : {"diagnostics_max_size = 12X\n", "diagnostics_max_size = -1\n",
                            "diagnostics_max_size = 2000G\n", "diagnostics_keep = soon\n"}) {
        write("bad.ini", listener_section() + bad + "[service web]\nrestart = bin/restart\n");
        EXPECT_THROW(load_listener_config(dir_ + "/bad.ini"), ConfigError) << bad;
    }
    for (const char* bad : {"diagnose = bin/nosuch\n", "diagnose = bin/restart | tee x\n",
                            "diagnose_timeout = 0\n"}) {
        write("bad.ini", listener_section() + "[service web]\nrestart = bin/restart\n" + bad);
        EXPECT_THROW(load_listener_config(dir_ + "/bad.ini"), ConfigError) << bad;
    }
}

TEST_F(ConfigTest, WatchCheckIsTheStatusOfItsService) {
    write("heal.ini", listener_section() +
                          "[service web]\nrestart = bin/restart\nwatch = 1s\n"
                          "watch_check = HTTPS://Web1.example:8443/health?full=1\nwatch_health = yes\n"
                          "watch_expect = UP\nwatch_codes = 200,204\nwatch_ca = ca.crt\n"
                          "[service cache]\nrestart = bin/restart\nwatch_check = tcp://[::1]:6379\n"
                          "watch_send = PING\\r\\n\nwatch_expect = +PONG\n"
                          "[service plain]\nrestart = bin/restart\nwatch_check = http://127.0.0.1\nwatch_reuse = 1\n");
    auto cfg = load_listener_config(dir_ + "/heal.ini");
    const auto& web = cfg.services.at("web");
    ASSERT_TRUE(web.check);
    EXPECT_TRUE(web.can(Verb::status)) << "watch_check stands for status";
    EXPECT_FALSE(web.can(Verb::stop));
    EXPECT_TRUE(web.check->tls);
    EXPECT_FALSE(web.check->tcp);
    EXPECT_EQ(web.check->host, "web1.example");
    EXPECT_EQ(web.check->port, 8443);
    EXPECT_EQ(web.check->path, "/health?full=1");
    EXPECT_TRUE(web.check->health);
    EXPECT_EQ(web.check->expect, "UP");
    EXPECT_EQ(web.check->codes.size(), 2u);
    EXPECT_EQ(web.check->ca, dir_ + "/ca.crt") << "relative to heal.ini's folder";
    const auto& cache = cfg.services.at("cache");
    ASSERT_TRUE(cache.check);
    EXPECT_TRUE(cache.check->tcp);
    EXPECT_EQ(cache.check->host, "::1");
    EXPECT_EQ(cache.check->port, 6379);
    EXPECT_EQ(cache.check->send, "PING\r\n");
    const auto& plain = cfg.services.at("plain");
    EXPECT_EQ(plain.check->port, 80);
    EXPECT_EQ(plain.check->path, "/");
    EXPECT_EQ(plain.check->rounds_per_connection(), 1u) << "watch_reuse = 1: a new connection every round";
    EXPECT_EQ(web.check->rounds_per_connection(), 10u) << "the default";
}

// What the prober cannot do, or what does not fit together, is refused at load with the key.
TEST_F(ConfigTest, HostileWatchChecksAreRefusedNamingTheKey) {
    const std::string svc = "[service web]\nrestart = bin/restart\n";
    struct Case {
        std::string keys, says;
    } cases[] = {
        {"watch_check = ftp://web1/\n", "watch_check: expected http://"},
        {"watch_check = http://user:pw@web1/\n", "no user info"},
        {"watch_check = http://web1:0/\n", "watch_check: expected"},
        {"watch_check = http://web1:99999/\n", "watch_check: expected"},
        {"watch_check = http:///health\n", "watch_check: expected"},
        {"watch_check = http://web1/health#top\n", "a fragment is never sent"},
        {"watch_check = tcp://web1\n", "watch_check: expected"},
        {"watch_check = tcp://web1:80/path\n", "watch_check: expected"},
        {"watch_check = unix:///run/web.sock\n", "watch_check: expected"},
        {"watch_check = http://web1/\x1b[2J\n", "watch_check: expected"},
        {"watch_expect = UP\n", "qualify a watch_check, and there is none"},
        {"watch_check = http://web1/\nstatus = bin/restart\n", "both a status command and watch_check"},
        {"watch_check = tcp://web1:80\nwatch_health = yes\n", "are for an http:// or https:// watch_check"},
        {"watch_check = http://web1/\nwatch_send = x\n", "watch_send is for a tcp:// watch_check"},
        {"watch_check = http://web1/\nwatch_ca = ca.crt\n", "watch_ca is for an https:// watch_check"},
        {"watch_check = https://web1/\nwatch_ca = nosuch.crt\n", "watch_ca: cannot read"},
        {"watch_check = http://web1/\nwatch_codes = 200-x\n", "watch_codes:"},
        {"watch_check = tcp://web1:80\nwatch_send = a\\qb\n", "watch_send: expected text"},
        {"watch_check = http://web1/\nwatch_health = maybe\n", "watch_health: expected yes or no"},
        {"watch_check = http://web1/\nwatch_colour = red\n", "unknown key 'watch_colour'"},
        {"watch_check = http://web1/\nwatch_reuse = 0\n", "watch_reuse: expected how many rounds"},
        {"watch_check = http://web1/\nwatch_reuse = 1001\n", "watch_reuse: expected how many rounds"},
        {"watch_check = http://web1/\nwatch_reuse = -1\n", "watch_reuse: expected how many rounds"},
        {"watch_check = http://web1/\nwatch_reuse = 5x\n", "watch_reuse: expected how many rounds"},
        {"watch_check = tcp://web1:80\nwatch_reuse = 5\n", "watch_reuse are for an http:// or https://"},
        {"watch_reuse = 5\n", "qualify a watch_check, and there is none"},
    };
    for (const auto& c : cases) {
        const std::string e = error_of(listener_section() + svc + c.keys);
        EXPECT_NE(e.find(c.says), std::string::npos) << c.keys << " gave: " << e;
    }
    // A watched service needs a status: a command or a watch_check.
    EXPECT_NE(error_of(listener_section() + svc + "watch = 1s\n").find("a status command or watch_check"),
              std::string::npos);
    EXPECT_EQ(error_of(listener_section() + svc + "watch = 1s\nwatch_check = tcp://127.0.0.1:80\n"), "");
}
