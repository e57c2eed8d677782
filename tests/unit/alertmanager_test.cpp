// Alertmanager's webhook payload (version 4), in the documented shape, and
// hostile variations of it: each refused with the field it is about.
#include "receiver/alertmanager.hpp"

#include <gtest/gtest.h>

using namespace heal::alertmanager;

namespace {

// One firing alert in the shape Alertmanager documents for version 4, every field present (the
// values are made up; the end-to-end test of the receiver will feed it real calls).
const std::string real = R"({"receiver":"heal","status":"firing","alerts":[{"status":"firing",
"labels":{"alertname":"WorkerDown","instance":"web2:8080","job":"worker","severity":"critical"},
"annotations":{"summary":"worker on web2:8080 is down"},"startsAt":"2026-12-02T21:30:01.123Z",
"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=up+%3D%3D+0",
"fingerprint":"4f6a1b2c3d4e5f60"}],"groupLabels":{"alertname":"WorkerDown"},
"commonLabels":{"alertname":"WorkerDown","instance":"web2:8080","job":"worker","severity":"critical"},
"commonAnnotations":{"summary":"worker on web2:8080 is down"},"externalURL":"http://am:9093",
"version":"4","groupKey":"{}:{alertname=\"WorkerDown\"}","truncatedAlerts":0})";

std::string with(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

std::string refused(const std::string& body) {
    std::string error;
    auto w = parse_webhook(body, error);
    EXPECT_FALSE(w) << body;
    return error;
}

}  // namespace

TEST(Webhook, ARealPayloadIsReadWhole) {
    std::string error;
    auto w = parse_webhook(real, error);
    ASSERT_TRUE(w) << error;
    EXPECT_TRUE(w->firing);
    EXPECT_EQ(w->receiver, "heal");
    EXPECT_EQ(w->group_key, "{}:{alertname=\"WorkerDown\"}");
    EXPECT_EQ(w->external_url, "http://am:9093");
    EXPECT_EQ(w->group_labels.at("alertname"), "WorkerDown");
    ASSERT_EQ(w->alerts.size(), 1u);
    const auto& a = w->alerts[0];
    EXPECT_TRUE(a.firing);
    EXPECT_EQ(a.labels.at("instance"), "web2:8080");
    EXPECT_EQ(a.annotations.at("summary"), "worker on web2:8080 is down");
    EXPECT_EQ(a.fingerprint, "4f6a1b2c3d4e5f60");
    EXPECT_EQ(a.starts_at, "2026-12-02T21:30:01.123Z");
    auto resolved = parse_webhook(with(with(real, R"("status":"firing","alerts")", R"("status":"resolved","alerts")"),
                                       R"([{"status":"firing")", R"([{"status":"resolved")"),
                                  error);
    ASSERT_TRUE(resolved) << error;
    EXPECT_FALSE(resolved->firing);
    EXPECT_FALSE(resolved->alerts[0].firing);
    // Fields a newer Alertmanager may add are ignored.
    EXPECT_TRUE(parse_webhook(with(real, R"("version":"4")", R"("version":"4","newField":{"x":[1]})"), error)) << error;
}

TEST(Webhook, HostilePayloadsAreRefusedNamingTheField) {
    EXPECT_EQ(refused(""), "not JSON: incomplete JSON");
    EXPECT_NE(refused("{").find("not JSON"), std::string::npos);
    EXPECT_EQ(refused("[]"), "payload: not a JSON object");
    EXPECT_EQ(refused(with(real, R"("version":"4")", R"("version":"3")")),
              "version: '3', and only version 4 is understood");
    EXPECT_EQ(refused(with(real, R"("version":"4",)", "")), "version: missing");
    EXPECT_EQ(refused(with(real, R"([{"status":"firing")", R"([{"status":"burning")")),
              "alerts[0].status: 'burning' is neither firing nor resolved");
    EXPECT_EQ(refused(with(real, R"("instance":"web2:8080","job":"worker","severity":"critical"},
"annotations")", R"("instance":8080},
"annotations")")),
              "alerts[0].labels.instance: not a string");
    EXPECT_EQ(refused(with(real, R"("fingerprint":"4f6a1b2c3d4e5f60")", R"("fingerprint":"../../etc/passwd")")),
              "alerts[0].fingerprint: '../../etc/passwd' is not 16 lower-case hex digits");
    EXPECT_EQ(refused(with(real, R"("fingerprint":"4f6a1b2c3d4e5f60")", R"("x":1)")), "alerts[0].fingerprint: missing");
    EXPECT_EQ(refused(with(real, R"({"status":"firing",
"labels":{"alertname":"WorkerDown",)", R"({"status":"firing",
"labels":{"alert name":"WorkerDown",)")),
              "alerts[0].labels: 'alert name' is not a label name");
    EXPECT_EQ(refused(with(real, R"("alerts":[{)", R"("alerts":[7,{)")), "alerts[0]: not an object");
    EXPECT_EQ(refused(with(real, R"("truncatedAlerts":0)", R"("truncatedAlerts":-1)")),
              "truncatedAlerts: not a whole number of 0 or more");
    EXPECT_EQ(refused(with(real, R"("truncatedAlerts":0)", R"("truncatedAlerts":"0")")),
              "truncatedAlerts: not a whole number of 0 or more");
    EXPECT_EQ(refused(with(real, R"("summary":"worker on web2:8080 is down"},"startsAt")",
                           R"("summary":")" + std::string(5000, 'x') + R"("},"startsAt")")),
              "alerts[0].annotations.summary: longer than 4096 bytes");
    EXPECT_EQ(refused(std::string(2 << 20, ' ')), "body larger than 1048576 bytes");
    EXPECT_NE(refused(std::string(100, '[') + std::string(100, ']')).find("not JSON"), std::string::npos)
        << "nesting deeper than the payload's is not Alertmanager's";
    std::string many = R"({"version":"4","status":"firing","receiver":"r","groupKey":"k","groupLabels":{},"commonLabels":{},"alerts":[)";
    for (int i = 0; i < 1001; ++i)
        many += std::string(i ? "," : "") + R"({"status":"firing","labels":{"a":"b"},"annotations":{},"startsAt":"t","fingerprint":"0123456789abcdef"})";
    EXPECT_EQ(refused(many + "]}"), "alerts: more than 1000");
    EXPECT_EQ(refused(with(real, R"({"status":"firing",
"labels":{"alertname":"WorkerDown","instance":"web2:8080","job":"worker","severity":"critical"},)",
                           R"({"status":"firing",
"labels":{},)")),
              "alerts[0].labels: empty: an alert has at least its alertname");
}

// startsAt orders an alert's episodes (fleet/store.hpp): its time, the zone applied, to the ms.
TEST(Webhook, StartsAtIsReadAsEpochMilliseconds) {
    EXPECT_EQ(rfc3339_ms("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(rfc3339_ms("2026-12-02T21:30:01Z"), 1796247001000LL);
    EXPECT_EQ(rfc3339_ms("2026-12-02T21:30:01.123456789Z"), 1796247001123LL);
    EXPECT_EQ(rfc3339_ms("2026-12-02T22:30:01.1+01:00"), 1796247001100LL);
    EXPECT_EQ(rfc3339_ms("2026-12-02T16:00:01-05:30"), 1796247001000LL);
    EXPECT_EQ(rfc3339_ms("2024-02-29T00:00:00Z"), 1709164800000LL);
    EXPECT_LT(*rfc3339_ms("0001-01-01T00:00:00Z"), 0) << "Go's zero time, as Alertmanager writes an unset endsAt";
    EXPECT_EQ(rfc3339_ms("since lunch"), std::nullopt);
}

TEST(Webhook, StartsAtAndEndsAtAreRfc3339Only) {
    for (const char* good : {"2026-12-02T21:30:01Z", "2026-12-02T21:30:01.123Z", "2026-12-02T21:30:01.123456789Z",
                             "2026-12-02t21:30:01z", "2026-12-02T22:30:01+01:00", "2026-12-02T16:00:00-05:30",
                             "0001-01-01T00:00:00Z", "2016-12-31T23:59:60Z"})
        EXPECT_TRUE(is_rfc3339(good)) << good;
    for (const char* bad : {"", "now", "2026-12-02", "2026-12-02 21:30:01Z", "2026-13-02T21:30:01Z", "2026-12-32T21:30:01Z",
                            "2026-12-02T24:30:01Z", "2026-12-02T21:60:01Z", "2026-12-02T21:30:01", "2026-12-02T21:30:01.Z",
                            "2026-12-02T21:30:01.1234567890Z", "2026-12-02T21:30:01+0100", "2026-12-02T21:30:01Z ",
                            "２026-12-02T21:30:01Z", "2026-12-02T21:30:01\nZ"})
        EXPECT_FALSE(is_rfc3339(bad)) << bad;
    const std::string real_starts = R"("startsAt":"2026-12-02T21:30:01.123Z")";
    EXPECT_EQ(refused(with(real, real_starts, R"("startsAt":"")")), "alerts[0].startsAt: '' is not an RFC 3339 time");
    EXPECT_EQ(refused(with(real, real_starts, R"("startsAt":"since lunch")")),
              "alerts[0].startsAt: 'since lunch' is not an RFC 3339 time");
    EXPECT_EQ(refused(with(real, R"("endsAt":"0001-01-01T00:00:00Z")", R"("endsAt":"never")")),
              "alerts[0].endsAt: 'never' is not an RFC 3339 time");
}

TEST(Webhook, LabelNames) {
    for (const char* good : {"a", "_", "alertname", "heal_host", "A9_b"}) EXPECT_TRUE(is_label_name(good)) << good;
    for (const char* bad : {"", "9a", "a-b", "a b", "a.b", "é", "a\n"}) EXPECT_FALSE(is_label_name(bad)) << bad;
}
