// heal-alert-receiver's pure parts: receiver.ini (good and hostile), routing an alert, the
// host an alert names, and what a Prometheus instant query answered (in the shapes of
// Prometheus' HTTP API, /api/v1/query; tests/e2e/prometheus.sh queries a real one).
#include "receiver/prometheus_guard.hpp"
#include "receiver/pages.hpp"
#include "receiver/prometheus_query.hpp"
#include "receiver/routes.hpp"

#include "common/ini_file.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace heal;
using namespace heal::receiver;
namespace fs = std::filesystem;

namespace {

const std::string base =
    "[receiver]\nlisten = 127.0.0.1:9466\nallow = 127.0.0.1\ncert = server.crt\nkey = server.key\n"
    "client_ca = ca.crt\nprometheus = http://127.0.0.1:9090\nalertmanager = http://127.0.0.1:9093\n";
const std::string route =
    "[route worker-down]\nmatch = alertname=WorkerDown, job=worker\nservice = worker\n"
    "group_size = count(up{job=\"worker\"})\ngroup_unhealthy = count(up{job=\"worker\"} == 0)\n";

class ReceiverConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/heal-receiver-test.XXXXXX";
        dir_ = mkdtemp(tmpl);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string error_of(const std::string& text) {
        std::ofstream(dir_ + "/receiver.ini") << text;
        try {
            load_config(dir_ + "/receiver.ini");
            return "";
        } catch (const ConfigError& e) {
            return e.what();
        }
    }
    Config load(const std::string& text) {
        std::ofstream(dir_ + "/receiver.ini") << text;
        return load_config(dir_ + "/receiver.ini");
    }
    std::string dir_;
};

std::string swap(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    return at == std::string::npos ? "swap: '" + from + "' not found" : text.replace(at, from.size(), to);
}

alertmanager::Alert alert(std::map<std::string, std::string> labels) {
    alertmanager::Alert a;
    a.firing = true;
    a.labels = std::move(labels);
    a.fingerprint = "0123456789abcdef";
    return a;
}

}  // namespace

TEST_F(ReceiverConfigTest, LoadsARouteWithItsDefaults) {
    auto cfg = load(base + "fleet_budget = 5/30m\nmax_unhealthy = 2\nprometheus_ca = p-ca.crt\nalertmanager_ca = /etc/am-ca.crt\n" + route);
    EXPECT_EQ(cfg.listen.port(), 9466);
    EXPECT_EQ(cfg.prometheus_ca, dir_ + "/p-ca.crt");
    EXPECT_EQ(cfg.alertmanager_ca, "/etc/am-ca.crt");
    EXPECT_EQ(cfg.client_ca, dir_ + "/ca.crt") << "relative to the file's folder";
    EXPECT_EQ(cfg.fleet_budget.limit, 5u);
    EXPECT_EQ(cfg.fleet_budget.window_s, 1800);
    EXPECT_EQ(cfg.max_unhealthy.to_string(), "2");
    ASSERT_EQ(cfg.routes.size(), 1u);
    const Route& r = cfg.routes[0];
    EXPECT_EQ(r.name, "worker-down");
    ASSERT_EQ(r.match.size(), 2u);
    EXPECT_EQ(r.match[1], (std::pair<std::string, std::string>{"job", "worker"}));
    EXPECT_EQ(r.host_label, "instance");
    EXPECT_EQ(r.verb, "restart");
    EXPECT_EQ(r.group_unhealthy, "count(up{job=\"worker\"} == 0)");
}

TEST_F(ReceiverConfigTest, MistakesAreRefusedNamingTheKey) {
    struct Case {
        std::string text, words;
    } cases[] = {
        {base, "no [route NAME] section"},
        {"[receiver]\nallow = 127.0.0.1\n" + route, "listen is required"},
        {base + "token_file = t\n" + route + "verb = reboot\n", "verb: expected restart, start or stop, got 'reboot'"},
        {base + swap(route, "match = alertname=WorkerDown, job=worker", "match = alert name=x"), "match: expected LABEL=VALUE"},
        {base + route + "host_label = in-stance\n", "host_label: 'in-stance' is not a label name"},
        {base + route + "server_name = bad_name!\n", "server_name: 'bad_name!' is not a host name"},
        {base + swap(route, "service = worker", "service = ../etc"), "service: '../etc' is not a heal service name"},
        {base + "[route r]\nmatch = a=b\nservice = s\n", "group_size and group_unhealthy are required"},
        {swap(base, "prometheus = http://127.0.0.1:9090", "prometheus = ftp://x") + route, "prometheus: expected an http:// or https:// URL"},
        {base + "max_unhealthy = lots\n" + route, "max_unhealthy: expected a count (1) or a share (25%)"},
        {base + "fleet_budget = 10\n" + route, "fleet_budget: expected N/WINDOW"},
        {base + "colour = blue\n" + route, "unknown key 'colour' in [receiver]"},
        {base + "[routes x]\na = b\n", "unknown section [routes x]"},
        {"[receiver]\nlisten = 127.0.0.1:9466\nallow = 127.0.0.1\ncert = c\nkey = k\nprometheus = http://p\n"
         "alertmanager = http://a\n" + route,
         "needs client_ca, token_file or both"},
    };
    for (const auto& c : cases) {
        const std::string e = error_of(c.text);
        EXPECT_NE(e.find(c.words), std::string::npos) << c.text << "\n=> " << e;
    }
}

TEST_F(ReceiverConfigTest, TheFirstMatchingRouteTakesTheAlert) {
    auto cfg = load(base + route + "[route any-down]\nmatch = alertname=WorkerDown\nservice = other\n"
                               "group_size = 1\ngroup_unhealthy = 0\n");
    EXPECT_EQ(route_for(cfg, alert({{"alertname", "WorkerDown"}, {"job", "worker"}}))->name, "worker-down");
    EXPECT_EQ(route_for(cfg, alert({{"alertname", "WorkerDown"}, {"job", "db"}}))->name, "any-down");
    EXPECT_EQ(route_for(cfg, alert({{"alertname", "DiskFull"}, {"job", "worker"}})), nullptr);
    EXPECT_EQ(route_for(cfg, alert({{"job", "worker"}})), nullptr);
}

TEST(HostOf, TheLabelWithoutItsPort) {
    Route r;
    r.name = "r";
    std::string error;
    for (auto [value, want] : std::vector<std::pair<std::string, std::string>>{
             {"web2:9100", "web2"}, {"web2", "web2"}, {"10.0.0.5:80", "10.0.0.5"},
             {"[2001:db8::1]:9100", "2001:db8::1"}, {"[::1]", "::1"}, {"2001:db8::2", "2001:db8::2"},
             {"web-2.example.org:443", "web-2.example.org"}}) {
        auto h = host_of(r, alert({{"instance", value}}), error);
        ASSERT_TRUE(h) << value << ": " << error;
        EXPECT_EQ(*h, want) << value;
    }
    for (const char* bad : {"", ":9100", "web 2:80", "-web:80", "[::1", "[::1]x", "web/../x", "a..b"}) {
        EXPECT_FALSE(host_of(r, alert({{"instance", bad}}), error)) << bad;
        EXPECT_NE(error.find("instance"), std::string::npos) << error;
    }
    EXPECT_FALSE(host_of(r, alert({{"job", "x"}}), error));
    EXPECT_EQ(error, "the alert has no label 'instance' (host_label of [route r])");
}

TEST(QueryNumber, WhatPrometheusAnswers) {
    std::string error;
    auto one = parse_query_number(
        R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764711000.123,"4"]}]}})",
        std::nullopt, error);
    ASSERT_TRUE(one) << error;
    EXPECT_EQ(*one, 4);
    auto none = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
    EXPECT_EQ(parse_query_number(none, 0.0, error).value_or(-1), 0) << "count() of nothing down";
    EXPECT_FALSE(parse_query_number(none, std::nullopt, error));
    EXPECT_EQ(error, "the query found nothing (an empty vector)");
    EXPECT_EQ(parse_query_number(R"({"status":"success","data":{"resultType":"scalar","result":[1764711000,"2.5"]}})",
                                 std::nullopt, error)
                  .value_or(-1),
              2.5);
    struct {
        const char* body;
        const char* words;
    } bad[] = {
        {"", "not JSON"},
        {R"({"status":"error","errorType":"bad_data","error":"parse error at char 6"})",
         "Prometheus answered error: parse error at char 6"},
        {R"({"status":"success","data":{"resultType":"matrix","result":[]}})", "a matrix, not one number"},
        {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]}})",
         "2 samples, not one"},
        {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"NaN"]}]}})", "not a finite number"},
        {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"+Inf"]}]}})", "not a finite number"},
        {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"4x"]}]}})", "not a finite number"},
        {R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,4]}]}})", "not [time, \"value\"]"},
        {R"({"status":"success"})", "no data.resultType"},
        {R"([1,2])", "has no status"},
    };
    for (const auto& b : bad) {
        EXPECT_FALSE(parse_query_number(b.body, 0.0, error)) << b.body;
        EXPECT_NE(error.find(b.words), std::string::npos) << b.body << " => " << error;
    }
}

TEST_F(ReceiverConfigTest, TheFleetGuardJudgesPrometheusCountsAsItJudgesNagios) {
    auto cfg = load(base + route);  // max_unhealthy 25%
    const Route& r = cfg.routes[0];
    auto ok = fleet_view(cfg, r, 4.0, 1.0, "");
    EXPECT_FALSE(ok.blocked_by) << *ok.blocked_by;
    EXPECT_EQ(ok.seen, "1 of 4 members of route worker-down not OK");
    auto wide = fleet_view(cfg, r, 4.0, 3.0, "");
    ASSERT_TRUE(wide.blocked_by);
    EXPECT_EQ(*wide.blocked_by, "widespread failure: 3 of 4 members of route worker-down are not OK "
                                "(max_unhealthy 25%: at most 1)");
    auto down = fleet_view(cfg, r, std::nullopt, 1.0, "Prometheus at http://127.0.0.1:9090: connection refused");
    ASSERT_TRUE(down.blocked_by);
    EXPECT_EQ(*down.blocked_by, "cannot use Prometheus' answer: Prometheus at http://127.0.0.1:9090: connection "
                                "refused; healing needs the group's state");
    EXPECT_TRUE(fleet_view(cfg, r, 0.0, 0.0, "").blocked_by) << "a group of none";
    EXPECT_TRUE(fleet_view(cfg, r, 4.0, 5.0, "").blocked_by) << "more down than members";
    EXPECT_TRUE(fleet_view(cfg, r, 4.5, 1.0, "").blocked_by) << "not a count";
    EXPECT_TRUE(fleet_view(cfg, r, 4.0, -1.0, "").blocked_by);
}

TEST(HttpUrl, PrometheusAndAlertmanagerAddresses) {
    HttpUrl u;
    ASSERT_EQ(parse_http_url("http://127.0.0.1:9090", u), "");
    EXPECT_FALSE(u.tls);
    EXPECT_EQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, 9090);
    EXPECT_EQ(u.prefix, "");
    ASSERT_EQ(parse_http_url("https://prom.example.org/prometheus/", u), "");
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.port, 443);
    EXPECT_EQ(u.prefix, "/prometheus");
    ASSERT_EQ(parse_http_url("http://[::1]:9093", u), "");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 9093);
    ASSERT_EQ(parse_http_url("http://am", u), "");
    EXPECT_EQ(u.port, 80);
    for (const char* bad : {"ftp://x", "http://", "http://:9090", "http://h:0", "http://h:99999", "http://h:",
                            "http://u:p@h", "http://h/?q", "http://h/#f", "http://[::1", "http://[::1]x"})
        EXPECT_NE(parse_http_url(bad, u), "") << bad;
}

TEST(FormEncode, QueriesGoAsForms) {
    EXPECT_EQ(form_encode("count(up{job=\"worker\"} == 0)"), "count%28up%7Bjob%3D%22worker%22%7D%20%3D%3D%200%29");
    EXPECT_EQ(form_encode("a-b._~Z9"), "a-b._~Z9");
    EXPECT_EQ(form_encode(std::string("\0\xff", 2)), "%00%FF");
}

TEST(Pages, HealBlockedAndHealFailedForAlertmanager) {
    Page blocked;
    blocked.host = "web2";
    blocked.service = "worker";
    blocked.route = "worker-down";
    blocked.guard = "fleet";
    blocked.sentence = "fleet guard: widespread failure: 3 of 4 are not OK\n(max_unhealthy 25%)";
    blocked.fingerprint = "4f6a1b2c3d4e5f60";
    Page failed = blocked;
    failed.failed = true;
    failed.guard.clear();
    failed.request_id = "0f0e0d0c-0000-4000-8000-000000000001";
    const std::int64_t t0 = 1'800'000'000'000;
    const auto v = boost::json::parse(alerts_body({blocked, failed}, t0, 3600));
    ASSERT_TRUE(v.is_array());
    ASSERT_EQ(v.as_array().size(), 2u);
    const auto& b = v.as_array()[0].as_object();
    const auto& bl = b.at("labels").as_object();
    EXPECT_EQ(bl.at("alertname").as_string(), "HealBlocked");
    EXPECT_EQ(bl.at("host").as_string(), "web2");
    EXPECT_EQ(bl.at("service").as_string(), "worker");
    EXPECT_EQ(bl.at("route").as_string(), "worker-down");
    EXPECT_EQ(bl.at("guard").as_string(), "fleet");
    EXPECT_EQ(bl.at("severity").as_string(), "critical");
    EXPECT_EQ(bl.at("heal_fingerprint").as_string(), "4f6a1b2c3d4e5f60");
    const std::string summary(b.at("annotations").at("summary").as_string());
    EXPECT_EQ(summary.find('\n'), std::string::npos) << "one printable line: " << summary;
    EXPECT_NE(summary.find("(max_unhealthy 25%)"), std::string::npos) << summary;
    EXPECT_EQ(b.at("startsAt").as_string(), "2027-01-15T08:00:00.000Z");
    EXPECT_EQ(b.at("endsAt").as_string(), "2027-01-15T09:00:00.000Z");
    const auto& f = v.as_array()[1].as_object();
    EXPECT_EQ(f.at("labels").at("alertname").as_string(), "HealFailed");
    EXPECT_FALSE(f.at("labels").as_object().contains("guard"));
    EXPECT_EQ(f.at("annotations").at("request_id").as_string(), "0f0e0d0c-0000-4000-8000-000000000001");
    const auto ended = boost::json::parse(alerts_body({blocked}, t0, 0));
    EXPECT_EQ(ended.as_array()[0].at("endsAt").as_string(), "2027-01-15T08:00:00.000Z") << "ended now: resolved";
}
