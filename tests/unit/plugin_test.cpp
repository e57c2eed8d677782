#include "common/plugin.hpp"
#include "checks/http_response.hpp"
#include "checks/verdicts.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

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

TEST(Output, PerfdataIsCutAtWholeItemsBelowNagiosLimit) {
    Result r("HEAL");
    r.set(ok, "fine");
    for (int i = 0; i < 2000; ++i) r.add_perf({"service" + std::to_string(i) + "_actions", "0", "", "1", "", "0", "3"});
    auto out = r.format();
    EXPECT_LE(out.size(), 8000u);
    auto first = out.substr(0, out.find('\n'));
    EXPECT_EQ(first.find("HEAL OK: fine | service0_actions=0;1;;0;3 service1_actions="), 0u) << first;
    EXPECT_EQ(first.substr(first.size() - 7), ";1;;0;3") << "an item cut in half: " << first;
    EXPECT_NE(out.find("more perfdata item(s) not shown"), std::string::npos) << out;
    Result few("HEAL");
    few.set(ok, "fine");
    few.add_perf({"a", "1", "", "", "", "", ""});
    EXPECT_EQ(few.format(), "HEAL OK: fine | a=1\n");
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

TEST(PageSize, MinimumAloneOrWithMaximum) {
    std::string err;
    auto min_only = parse_pagesize("100", err);
    ASSERT_TRUE(min_only) << err;
    EXPECT_TRUE(min_only->alerts(99));
    EXPECT_FALSE(min_only->alerts(100));
    EXPECT_FALSE(min_only->alerts(1e9)) << "-m 100 is a minimum, not check_range's 0..100";
    auto both = parse_pagesize("10:100", err);
    ASSERT_TRUE(both) << err;
    EXPECT_TRUE(both->alerts(9));
    EXPECT_FALSE(both->alerts(50));
    EXPECT_TRUE(both->alerts(101));
    EXPECT_EQ(both->text, "10:100");
    for (const char* bad : {"", "x", "-1", "10:x", "1.5", "10:5", ":", "10:20:30", "@10"})
        EXPECT_FALSE(parse_pagesize(bad, err)) << bad;
}

TEST(HttpDate, TheThreeFormsOfRfc9110AndNothingElse) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    for (const char* bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 GMT x",
                            "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                            "784111777"})
        EXPECT_FALSE(parse_http_date(bad)) << bad;
    EXPECT_FALSE(parse_http_date(std::string(100, 'a')));
}

TEST(Location, ResolvedAgainstTheUrlThatRedirected) {
    const Location base{false, "web1", 8080, "/status"};
    auto rel = parse_location("/next?x=1", base);
    ASSERT_TRUE(rel);
    EXPECT_EQ(rel->host, "web1");
    EXPECT_EQ(rel->port, 8080);
    EXPECT_EQ(rel->path, "/next?x=1");
    auto abs = parse_location("HTTPS://Web2.Example/a", base);
    ASSERT_TRUE(abs);
    EXPECT_TRUE(abs->tls);
    EXPECT_EQ(abs->host, "web2.example");
    EXPECT_EQ(abs->port, 443);
    EXPECT_EQ(abs->path, "/a");
    auto v6 = parse_location("http://[::1]:81", base);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 81);
    EXPECT_EQ(v6->path, "/");
    auto scheme_relative = parse_location("//web3/x", base);
    ASSERT_TRUE(scheme_relative);
    EXPECT_FALSE(scheme_relative->tls);
    EXPECT_EQ(scheme_relative->host, "web3");
    EXPECT_EQ(scheme_relative->port, 80);
    for (const char* bad : {"", "next", "ftp://web1/", "http://user@web1/", "http://web1:0/",
                            "http://web1:99999/", "http://:80/", "http://[::1/", "/a b", "/a\r\nX: y",
                            "javascript:alert(1)", "http://[::1]x/"})
        EXPECT_FALSE(parse_location(bad, base)) << bad;
}

TEST(Output, LinkWrapsTheTextButNotThePerfdata) {
    Result r("WORKER");
    r.set(ok, "HTTP 200 <b>");
    r.add_perf({"time", "0.1", "s", "", "", "", ""});
    r.set_link("http://web1/a?b=1&c=\"2\"");
    EXPECT_EQ(r.format(),
              "<A HREF=\"http://web1/a?b=1&amp;c=&quot;2&quot;\" target=\"_blank\">WORKER OK: HTTP 200 "
              "&lt;b&gt;</A> | time=0.1s\n");
}

TEST(Expect, CodesWhenEveryItemIsOneElseStatusLineTexts) {
    std::string err;
    auto codes = parse_expect("200,300-399", err);
    ASSERT_TRUE(codes) << err;
    EXPECT_TRUE(codes->strings.empty());
    EXPECT_TRUE(expect_met(*codes, 302, "HTTP/1.1 302 Found"));
    EXPECT_FALSE(expect_met(*codes, 404, "HTTP/1.1 404 Not Found"));
    auto texts = parse_expect("HTTP/1.1 200,204 No Content", err);
    ASSERT_TRUE(texts) << err;
    EXPECT_EQ(texts->strings, (std::vector<std::string>{"HTTP/1.1 200", "204 No Content"}));
    EXPECT_TRUE(expect_met(*texts, 200, "HTTP/1.1 200 OK"));
    EXPECT_FALSE(expect_met(*texts, 200, "HTTP/1.0 200 OK"));
    EXPECT_FALSE(parse_expect("200,", err));
    EXPECT_FALSE(parse_expect("99-100", err)) << "codes are checked as before";
    EXPECT_FALSE(parse_expect("", err));
    EXPECT_FALSE(parse_expect(",OK", err));
}

TEST(HostPort, CheckHttpsHostColonPort) {
    std::string err;
    auto hp = split_host_port("web1:8080", err);
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->first, "web1");
    EXPECT_EQ(hp->second, 8080);
    auto v6 = split_host_port("[2001:db8::1]:443", err);
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->first, "2001:db8::1");
    for (const char* none : {"web1", "10.0.0.1", "::1", "2001:db8::1", "[::1]"}) {
        err.clear();
        EXPECT_FALSE(split_host_port(none, err)) << none;
        EXPECT_TRUE(err.empty()) << none << ": no port, no error";
    }
    for (const char* bad : {"web1:", "web1:0", "web1:65536", ":80", "web1:8o", "[::1]:", "[]:80"}) {
        err.clear();
        EXPECT_FALSE(split_host_port(bad, err)) << bad;
        EXPECT_FALSE(err.empty()) << bad;
    }
}

TEST(Proxy, HttpProxiesOnlyWithCurlsDefaultPort) {
    std::string err;
    auto p = parse_proxy("http://proxy.example:3128/", err);
    ASSERT_TRUE(p) << err;
    EXPECT_EQ(p->first, "proxy.example");
    EXPECT_EQ(p->second, 3128);
    EXPECT_EQ(parse_proxy("proxy.example", err)->second, 1080);
    EXPECT_EQ(parse_proxy("HTTP://[::1]:8080", err)->first, "::1");
    EXPECT_EQ(parse_proxy("[::1]", err)->second, 1080);
    for (const char* bad : {"", "socks5://p:1080", "https://p:443", "user:pw@p:3128", "p:3128/path", "p:0",
                            "::1", "p q:1", "http://"})
        EXPECT_FALSE(parse_proxy(bad, err)) << bad;
    parse_proxy("socks5://p:1080", err);
    EXPECT_NE(err.find("only http:// proxies"), std::string::npos) << err;
}

TEST(Proxy, NoProxyListsAsCurl) {
    EXPECT_TRUE(no_proxy_for("*", "anything"));
    EXPECT_TRUE(no_proxy_for("example.com", "example.com"));
    EXPECT_TRUE(no_proxy_for("example.com", "web1.EXAMPLE.com"));
    EXPECT_TRUE(no_proxy_for(" .example.com , other", "web1.example.com"));
    EXPECT_FALSE(no_proxy_for("example.com", "badexample.com"));
    EXPECT_TRUE(no_proxy_for("localhost,127.0.0.1", "127.0.0.1"));
    EXPECT_FALSE(no_proxy_for("", "web1"));
    EXPECT_FALSE(no_proxy_for(",,", "web1"));
}

TEST(HeaderBlock, EndsAtAnEmptyLineWhateverTheLineEnds) {
    EXPECT_EQ(header_end("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), 25u);
    EXPECT_EQ(header_end("HTTP/1.1 200 OK\nA: b\n\nbody"), 22u);
    EXPECT_EQ(header_end("HTTP/1.1 200 OK\nA: b\r\n\nbody"), 23u);
    EXPECT_EQ(header_end("HTTP/1.1 200 OK\r\nA: b\n\r\nbody"), 24u);
    EXPECT_EQ(header_end("HTTP/1.1 200 OK\r\nA: b\r\n"), 0u) << "not ended yet";
    EXPECT_EQ(header_end(""), 0u);
    EXPECT_EQ(tidy_header_block("HTTP/1.1 200 OK\nA: b\n\n"), "HTTP/1.1 200 OK\r\nA: b\r\n\r\n");
    EXPECT_EQ(tidy_header_block("HTTP/1.0 200 OK\r\nA: b\r\n"), "HTTP/1.0 200 OK\r\nA: b\r\n\r\n");
    EXPECT_EQ(tidy_header_block("HTTP/1.0 200 OK"), "HTTP/1.0 200 OK\r\n\r\n");
    EXPECT_EQ(tidy_header_block("HTTP/1.1 200 OK\r\n\r\n"), "HTTP/1.1 200 OK\r\n\r\n");
}

namespace {
std::string deflated(const std::string& text, int bits) {
    z_stream z{};
    deflateInit2(&z, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, text.size()) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}
}  // namespace

TEST(Inflate, GzipZlibAndRawDeflateWithinTheLimit) {
    const std::string text(5000, 'w');
    for (auto [encoding, bits] : {std::pair{"gzip", 31}, {"x-gzip", 31}, {"deflate", 15}, {"deflate", -15}, {"GZIP", 31}}) {
        std::string body = deflated(text, bits);
        EXPECT_EQ(inflate_body(body, encoding, 10000), "") << encoding << bits;
        EXPECT_EQ(body, text) << encoding << bits;
    }
    std::string bomb = deflated(std::string(1 << 20, '\0'), 31);
    EXPECT_NE(inflate_body(bomb, "gzip", 4096).find("inflates to more than --max-size 4096 bytes"), std::string::npos);
    std::string cut = deflated(text, 31).substr(0, 20);
    EXPECT_NE(inflate_body(cut, "gzip", 10000).find("does not inflate"), std::string::npos);
    std::string junk = "not compressed at all";
    EXPECT_NE(inflate_body(junk, "gzip", 10000).find("does not inflate: corrupt data"), std::string::npos);
    std::string plain = "as it is";
    EXPECT_EQ(inflate_body(plain, "identity", 10), "");
    EXPECT_EQ(plain, "as it is");
    EXPECT_NE(inflate_body(plain, "br", 10).find("not asked for"), std::string::npos);
}

TEST(Base64, Rfc4648TestVectors) {
    EXPECT_EQ(base64(""), "");
    EXPECT_EQ(base64("f"), "Zg==");
    EXPECT_EQ(base64("fo"), "Zm8=");
    EXPECT_EQ(base64("foo"), "Zm9v");
    EXPECT_EQ(base64("foob"), "Zm9vYg==");
    EXPECT_EQ(base64("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64("user:pass"), "dXNlcjpwYXNz");
    EXPECT_EQ(base64(std::string("\xff\xfe\0", 3)), "//4A");
}
