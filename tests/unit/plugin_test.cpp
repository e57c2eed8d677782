#include "plugin.hpp"
#include "verdicts.hpp"

#include <gtest/gtest.h>

using namespace heal::plugin;

namespace {
Range range(const char* text) {
    std::string err;
    auto r = parse_range(text, err);
    EXPECT_TRUE(r) << text << ": " << err;
    return r ? *r : Range{};
}
std::string range_error(const char* text) {
    std::string err;
    return parse_range(text, err) ? "" : err;
}
}  // namespace

TEST(Range, PlainNumberAlertsOutsideZeroToN) {
    auto r = range("10");
    EXPECT_TRUE(r.alerts(-0.001));
    EXPECT_FALSE(r.alerts(0));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_TRUE(r.alerts(10.0001));
}

TEST(Range, OpenEndAlertsBelowStart) {
    auto r = range("10:");
    EXPECT_TRUE(r.alerts(9.999));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_FALSE(r.alerts(1e12));
}

TEST(Range, TildeAlertsAboveEnd) {
    auto r = range("~:10");
    EXPECT_FALSE(r.alerts(-1e12));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_TRUE(r.alerts(10.001));
}

TEST(Range, StartEndAlertsOutside) {
    auto r = range("10:20");
    EXPECT_TRUE(r.alerts(9.99));
    EXPECT_FALSE(r.alerts(10));
    EXPECT_FALSE(r.alerts(20));
    EXPECT_TRUE(r.alerts(20.01));
}

TEST(Range, AtAlertsInsideEndpointsIncluded) {
    auto r = range("@10:20");
    EXPECT_FALSE(r.alerts(9.99));
    EXPECT_TRUE(r.alerts(10));
    EXPECT_TRUE(r.alerts(15));
    EXPECT_TRUE(r.alerts(20));
    EXPECT_FALSE(r.alerts(20.01));
}

TEST(Range, DecimalsAndNegatives) {
    auto r = range("0.25:1.5");
    EXPECT_TRUE(r.alerts(0.2499));
    EXPECT_FALSE(r.alerts(0.25));
    EXPECT_FALSE(r.alerts(1.5));
    EXPECT_TRUE(r.alerts(1.5001));
    auto n = range("-5:-1");
    EXPECT_FALSE(n.alerts(-3));
    EXPECT_TRUE(n.alerts(0));
    auto at = range("@~:0.5");
    EXPECT_TRUE(at.alerts(-100));
    EXPECT_TRUE(at.alerts(0.5));
    EXPECT_FALSE(at.alerts(0.51));
}

TEST(Range, RejectsInvalidRanges) {
    for (const char* bad : {"", "@", "abc", "10:5", "1:x", "x:1", "1::2", "~", "~:", "1e3", "inf",
                            "nan", "10 ", "@@1", "1,2", "--1", "1.2.3"})
        EXPECT_NE(range_error(bad), "") << "accepted '" << bad << "'";
    EXPECT_EQ(range_error("10:5"), "invalid range '10:5': start is above end");
}

TEST(Thresholds, CriticalBeatsWarning) {
    Thresholds th{range("1"), range("2")};
    EXPECT_EQ(th.check(0.5), ok);
    EXPECT_EQ(th.check(1.5), warning);
    EXPECT_EQ(th.check(2.5), critical);
    EXPECT_EQ(Thresholds{}.check(1e9), ok);
}

TEST(Output, FirstLineWithPerfdataAndLongOutput) {
    Result r("WORKER");
    r.set(warning, "slow");
    r.add_perf({"time", "1.5", "s", "1", "2", "0", "10"});
    r.add_perf({"size", "10", "B", "", "", "0", ""});
    r.add_long("detail one");
    EXPECT_EQ(r.format(),
              "WORKER WARNING: slow | time=1.5s;1;2;0;10 size=10B;;;0\ndetail one\n");
}

TEST(Output, NetworkTextCannotInjectPerfdataOrLines) {
    Result r("WORKER");
    r.set(ok, "worker says: fine | fake=1\nWORKER CRITICAL: lies");
    r.add_long("component | x=1\r\nmore");
    r.add_perf({"time", "1", "s", "", "", "", ""});
    auto out = r.format();
    EXPECT_EQ(out.find('|'), out.find(" | time=") + 1);
    EXPECT_EQ(std::count(out.begin(), out.end(), '|'), 1);
    EXPECT_EQ(out, "WORKER OK: worker says: fine / fake=1 WORKER CRITICAL: lies | time=1s\n"
                   "component / x=1  more\n");
}

TEST(Output, PerfdataLabelsAreQuotedAndCleaned) {
    EXPECT_EQ((Perfdata{"queue length", "3", "", "", "", "", ""}.format()), "'queue length'=3");
    EXPECT_EQ((Perfdata{"a'b=c|d", "3", "c", "", "", "", ""}.format()), "abc/d=3c");
}

TEST(Output, CappedBelowNagiosLimit) {
    Result r("WORKER");
    r.set(critical, std::string(5000, 's'));
    for (int i = 0; i < 1000; ++i) r.add_long(std::string(100, 'x'));
    auto out = r.format();
    EXPECT_LE(out.size(), 8000u);
    EXPECT_NE(out.find("more line(s) not shown"), std::string::npos);
    EXPECT_EQ(out.find("WORKER CRITICAL: "), 0u);
}

TEST(Output, RaiseKeepsTheWorstState) {
    Result r("WORKER");
    r.set(ok, "HTTP 200");
    r.raise(warning, "slow");
    r.raise(ok, "ignored");
    r.raise(critical, "string not found");
    r.raise(warning, "certificate expires in 5 day(s)");
    EXPECT_EQ(r.state(), critical);
    EXPECT_EQ(r.summary(), "string not found, slow, HTTP 200, certificate expires in 5 day(s)");
    EXPECT_EQ(worst(unknown, ok), unknown);
    EXPECT_EQ(worst(unknown, warning), warning);
}

TEST(Health, TopLevelStatusDecides) {
    EXPECT_EQ(evaluate_health(R"({"status":"UP"})").state, ok);
    EXPECT_EQ(evaluate_health(R"({"status":"DOWN"})").state, critical);
    EXPECT_EQ(evaluate_health(R"({"status":"OUT_OF_SERVICE"})").state, critical);
    EXPECT_EQ(evaluate_health(R"({"status":"UNKNOWN"})").state, unknown);
    EXPECT_EQ(evaluate_health(R"({"status":"DEGRADED"})").state, warning);
}

TEST(Health, NestedUpNeverHidesTopLevelDown) {
    auto v = evaluate_health(R"({"status":"DOWN","components":{"db":{"status":"UP"}}})");
    EXPECT_EQ(v.state, critical);
    EXPECT_EQ(v.status, "DOWN");
}

TEST(Health, ListsFailingComponentsAtAnyDepth) {
    auto v = evaluate_health(
        R"({"status":"UP","components":{"a":{"status":"UP","components":{"b":{"status":"DOWN"}}},
            "c":{"status":"OUT_OF_SERVICE"}}})");
    EXPECT_EQ(v.state, ok);
    ASSERT_EQ(v.failing.size(), 2u);
    EXPECT_EQ(v.failing[0], "a/b: DOWN");
    EXPECT_EQ(v.failing[1], "c: OUT_OF_SERVICE");
}

TEST(Health, MalformedDocumentsAreCriticalWithAReason) {
    for (const char* bad : {"", "UP", "<html>UP</html>", "[]", R"({"status":1})", R"({"state":"UP"})",
                            R"({"status":"UP")", "null", "\"UP\""}) {
        auto v = evaluate_health(bad);
        EXPECT_EQ(v.state, critical) << bad;
        EXPECT_FALSE(v.error.empty()) << bad;
    }
    std::string deep(100000, '[');
    EXPECT_EQ(evaluate_health(deep).state, critical);
}

TEST(Codes, ListsAndRanges) {
    std::string err;
    auto c = parse_codes("200,204,300-399", err);
    ASSERT_TRUE(c) << err;
    EXPECT_TRUE(code_listed(*c, 204));
    EXPECT_TRUE(code_listed(*c, 300));
    EXPECT_TRUE(code_listed(*c, 399));
    EXPECT_FALSE(code_listed(*c, 201));
    EXPECT_FALSE(code_listed(*c, 400));
    for (const char* bad : {"", "20", "2000", "200,", "abc", "399-300", "200-", "-200", "200;204"})
        EXPECT_FALSE(parse_codes(bad, err)) << bad;
    EXPECT_EQ(default_code_state(204), ok);
    EXPECT_EQ(default_code_state(302), ok);
    EXPECT_EQ(default_code_state(404), warning);
    EXPECT_EQ(default_code_state(503), critical);
    EXPECT_EQ(default_code_state(100), critical);
}

TEST(Escapes, SendText) {
    std::string err;
    EXPECT_EQ(unescape("status\\r\\n", err).value(), "status\r\n");
    EXPECT_EQ(unescape("a\\\\n", err).value(), "a\\n");
    EXPECT_FALSE(unescape("bad\\x", err));
    EXPECT_FALSE(unescape("trailing\\", err));
}

TEST(StatusLine, Words) {
    EXPECT_EQ(parse_status_line("OK all fine\n")->first, ok);
    EXPECT_EQ(parse_status_line("WARNING: queue")->second, "queue");
    EXPECT_EQ(parse_status_line("CRITICAL")->first, critical);
    EXPECT_EQ(parse_status_line("UNKNOWN x\r\n")->first, unknown);
    EXPECT_FALSE(parse_status_line("ok lowercase"));
    EXPECT_FALSE(parse_status_line("OKAY"));
    EXPECT_FALSE(parse_status_line(""));
    EXPECT_FALSE(parse_status_line("hello there"));
}
