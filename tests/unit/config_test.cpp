#include "client_config.hpp"
#include "config.hpp"

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
    EXPECT_EQ(web.scripts.at(Verb::restart), dir_ + "/bin/restart");
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
}
