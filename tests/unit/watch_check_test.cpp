// watch_check's verdicts (listener/watch_check.hpp): what a probe's answer means as a status run.
#include "checks/verdicts.hpp"
#include "listener/classify.hpp"
#include "listener/watch_check.hpp"

#include <gtest/gtest.h>

using namespace heal;

namespace {

WatchCheck http_check(const std::string& url = "http://127.0.0.1:8080/health") {
    WatchCheck c;
    EXPECT_EQ(parse_watch_check(url, c), "");
    return c;
}

plugin::ProbeResult answer(unsigned status, const std::string& body) {
    plugin::ProbeResult r;
    r.status = status;
    r.status_line = "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Service Unavailable");
    r.body = body;
    r.body_bytes = body.size();
    r.seconds = 0.004;
    return r;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(WatchCheck, StatusCodesAsCheckHttpUnlessWatchCodesSays) {
    auto c = http_check();
    auto ok = check_result(c, answer(200, "fine"));
    EXPECT_EQ(ok.exit_code, 0);
    EXPECT_EQ(ok.verdict, "");
    EXPECT_EQ(ok.output, "HTTP OK - HTTP/1.1 200 OK - 4 bytes in 0.004 s (http://127.0.0.1:8080/health)\n");
    EXPECT_EQ(classify(ok).outcome, Outcome::ok);
    auto down = check_result(c, answer(503, "no"));
    EXPECT_EQ(down.exit_code, 2);
    EXPECT_EQ(down.verdict, "watch_check CRITICAL: HTTP/1.1 503 Service Unavailable");
    auto said = classify(down);
    EXPECT_EQ(said.outcome, Outcome::failed);
    EXPECT_EQ(said.message, down.verdict) << "the probe's words, not 'script exited with status 2'";
    EXPECT_EQ(check_result(c, answer(404, "")).exit_code, 1) << "4xx is a WARNING, as check_http";
    std::string err;
    c.codes = *plugin::parse_codes("204", err);
    EXPECT_EQ(check_result(c, answer(200, "")).exit_code, 2);
    EXPECT_TRUE(has(check_result(c, answer(200, "")).verdict, "(watch_codes)"));
    EXPECT_EQ(check_result(c, answer(204, "")).exit_code, 0);
}

TEST(WatchCheck, ExpectedTextAndTheHealthDocumentDecideToo) {
    auto c = http_check();
    c.expect = "\"UP\"";
    EXPECT_EQ(check_result(c, answer(200, "{\"status\":\"UP\"}")).exit_code, 0);
    auto missing = check_result(c, answer(200, "{\"status\":\"DOWN\"}"));
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_TRUE(has(missing.verdict, "'\"UP\"' not found in the answer")) << missing.verdict;
    c.expect.clear();
    c.health = true;
    EXPECT_EQ(check_result(c, answer(200, "{\"status\":\"UP\"}")).exit_code, 0);
    // Only the top-level status decides: a nested UP never makes a DOWN look healthy.
    auto down = check_result(c, answer(200, "{\"status\":\"DOWN\",\"components\":{\"db\":{\"status\":\"DOWN\"}}}"));
    EXPECT_EQ(down.exit_code, 2);
    EXPECT_TRUE(has(down.verdict, "health DOWN (db: DOWN)")) << down.verdict;
    EXPECT_EQ(check_result(c, answer(200, "<html>hi</html>")).exit_code, 2);
    auto cut = answer(200, std::string(max_check_body, ' '));
    cut.body_over_limit = true;
    EXPECT_TRUE(has(check_result(c, cut).verdict, "over 64 KiB"));
    // A 503 with an UP document is still a 503.
    EXPECT_EQ(check_result(c, answer(503, "{\"status\":\"UP\"}")).exit_code, 2);
}

TEST(WatchCheck, NoAnswerIsCriticalAndHostileTextStaysOneLine) {
    auto c = http_check();
    plugin::ProbeResult r;
    r.error = "cannot connect to 127.0.0.1:8080: Connection refused";
    auto a = check_result(c, r);
    EXPECT_EQ(a.exit_code, 2);
    EXPECT_FALSE(a.timed_out) << "a probe that timed out is a failed check, never a killed script";
    EXPECT_EQ(a.verdict, "watch_check CRITICAL: cannot connect to 127.0.0.1:8080: Connection refused");
    auto hostile = answer(500, "");
    hostile.status_line = "HTTP/1.1 500 \x1b[2J\nCRITICAL fake line" + std::string(5000, 'x');
    auto h = check_result(c, hostile);
    EXPECT_EQ(h.output.find('\n'), h.output.size() - 1) << h.output;
    EXPECT_EQ(h.output.find('\x1b'), std::string::npos);
    EXPECT_LT(h.output.size(), 400u);
}

TEST(WatchCheck, TcpConnectsOrReadsALine) {
    WatchCheck c;
    ASSERT_EQ(parse_watch_check("tcp://127.0.0.1:6379", c), "");
    plugin::ProbeResult r;
    r.seconds = 0.001;
    auto a = check_result(c, r);
    EXPECT_EQ(a.exit_code, 0);
    EXPECT_EQ(a.output, "TCP OK - connected to 127.0.0.1:6379 in 0.001 s (tcp://127.0.0.1:6379)\n");
    c.send = "PING\r\n";
    c.expect = "+PONG";
    r.line = "+PONG\r\n";
    EXPECT_EQ(check_result(c, r).exit_code, 0);
    r.line = "-ERR loading\r\n";
    auto bad = check_result(c, r);
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_TRUE(has(bad.verdict, "'+PONG' not in the line '-ERR loading")) << bad.verdict;
}
