#include "common/protocol.hpp"
#include "common/text.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <set>

#include <sys/wait.h>
#include <unistd.h>

using namespace heal;

namespace {
std::string refusal_of(std::string_view line) {
    Refusal r;
    auto req = parse_request(line, r);
    return req ? "" : std::string(to_string(r.reason));
}
}  // namespace

TEST(Request, ParsesAllFourVerbs) {
    for (const char* verb : {"start", "stop", "restart", "status"}) {
        Refusal r;
        auto req = parse_request(std::string("HEAL/1 ") + verb + " web", r);
        ASSERT_TRUE(req) << r.message;
        EXPECT_EQ(to_string(req->verb), verb);
        EXPECT_EQ(req->service, "web");
    }
}

TEST(Request, ToleratesCrlf) {
    Refusal r;
    auto req = parse_request("HEAL/1 restart web-1.a_b\r", r);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->service, "web-1.a_b");
}

TEST(Request, FormatRoundTrips) {
    auto line = format_request("restart", "web");
    EXPECT_EQ(line, "HEAL/1 restart web\n");
    EXPECT_EQ(refusal_of(std::string_view(line).substr(0, line.size() - 1)), "");
}

TEST(Request, RefusesUnknownVerb) {
    EXPECT_EQ(refusal_of("HEAL/1 reboot web"), "unknown_verb");
    EXPECT_EQ(refusal_of("HEAL/1 RESTART web"), "unknown_verb");
    EXPECT_EQ(refusal_of("HEAL/1 restart; web"), "unknown_verb");
}

TEST(Request, RefusesBadServiceNames) {
    for (const char* bad : {"HEAL/1 restart -web", "HEAL/1 restart .web", "HEAL/1 restart ../etc",
                            "HEAL/1 restart we$b", "HEAL/1 restart web/x", "HEAL/1 restart ä"})
        EXPECT_EQ(refusal_of(bad), "bad_service_name") << bad;
    EXPECT_EQ(refusal_of("HEAL/1 restart " + std::string(64, 'a')), "");
    EXPECT_EQ(refusal_of("HEAL/1 restart " + std::string(65, 'a')), "bad_service_name");
}

TEST(Request, RefusesMalformedLines) {
    for (const char* bad : {"", "restart web", "HEAL/1 restart", "HEAL/1  restart web",
                            "HEAL/1 restart web ", "HEAL/1 restart web extra", " HEAL/1 restart web",
                            "HEAL/1\trestart\tweb"})
        EXPECT_EQ(refusal_of(bad), "malformed_request") << "'" << bad << "'";
}

TEST(Request, RefusesNulBytes) {
    std::string line = "HEAL/1 restart web";
    line[10] = '\0';
    EXPECT_EQ(refusal_of(line), "malformed_request");
}

TEST(Request, RefusesOtherProtocolVersions) {
    EXPECT_EQ(refusal_of("HEAL/2 restart web"), "unsupported_version");
    EXPECT_EQ(refusal_of("GET / HTTP/1.1"), "unsupported_version");
}

TEST(Request, RefusesOversizeLine) {
    EXPECT_EQ(refusal_of("HEAL/1 restart " + std::string(300, 'a')), "request_too_long");
}

TEST(Reply, JsonRoundTrip) {
    Reply r;
    r.id = "abc";
    r.outcome = Outcome::failed;
    r.reason = Reason::exit_status;
    r.message = "script exited with status 3";
    r.verb = "restart";
    r.service = "web";
    r.exit_code = 3;
    r.output = "line 1\nline \"2\"\t\x01\n";
    r.truncated = true;
    r.duration_ms = 1234;
    auto line = to_json_line(r);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "reply must be one line";
    std::string err;
    auto back = parse_reply(line, err);
    ASSERT_TRUE(back) << err;
    EXPECT_EQ(back->output, r.output);
    EXPECT_EQ(back->exit_code, 3);
    EXPECT_FALSE(back->signal);
    EXPECT_TRUE(back->truncated);
    EXPECT_EQ(back->duration_ms, 1234);
}

TEST(Reply, RejectsHostileReplies) {
    std::string err;
    for (const char* bad :
         {"", "not json", "[]", "42", R"({"outcome":"ok"})", R"({"id":"x"})",
          R"({"id":1,"outcome":"ok"})", R"({"id":"x","outcome":"rebooted"})",
          R"({"id":"x","outcome":"ok","exit_code":"0"})",
          R"({"id":"x","outcome":"ok","exit_code":99999999999})",
          R"({"id":"x","outcome":"ok","truncated":"yes"})",
          R"({"id":"x","outcome":"ok","duration_ms":1.5})", R"({"id":"x","outcome":"ok"} trailing)",
          "{\"id\":\"x\",\"outcome\":\"ok\""}) {
        EXPECT_FALSE(parse_reply(bad, err)) << bad;
        EXPECT_FALSE(err.empty());
    }
}

TEST(Reply, IgnoresUnknownFieldsForForwardCompatibility) {
    std::string err;
    auto r = parse_reply(R"({"id":"x","outcome":"ok","new_field":[1,2]})", err);
    ASSERT_TRUE(r) << err;
    EXPECT_EQ(r->outcome, Outcome::ok);
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
    EXPECT_EQ(heal::valid_utf8("caf\xe9 ok"), "caf\xEF\xBF\xBD ok");
    EXPECT_EQ(heal::valid_utf8("ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    // overlong, surrogate, out of range, lone continuation, truncated sequence
    for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "\xe2\x82"}) {
        auto out = heal::valid_utf8(bad);
        std::string err;
        heal::Reply r;
        r.id = "x";
        r.outcome = heal::Outcome::ok;
        r.output = out;
        EXPECT_TRUE(heal::parse_reply(heal::to_json_line(r), err)) << err;
        EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos);
    }
}

TEST(Utf8, CapNeverSplitsACharacter) {
    bool cut = false;
    EXPECT_EQ(heal::valid_utf8("ab\xe2\x82\xac", 4, &cut), "ab");
    EXPECT_TRUE(cut);
    EXPECT_EQ(heal::valid_utf8("ab\xe2\x82\xac", 5, &cut), "ab\xe2\x82\xac");
    EXPECT_FALSE(cut);
}

TEST(Request, InfoResetAndForce) {
    Refusal r;
    auto info = parse_request("HEAL/1 info", r);
    ASSERT_TRUE(info) << r.message;
    EXPECT_EQ(info->verb, Verb::info);
    EXPECT_EQ(info->service, "");
    auto reset = parse_request("HEAL/1 reset web", r);
    ASSERT_TRUE(reset);
    EXPECT_EQ(reset->verb, Verb::reset);
    EXPECT_FALSE(reset->force);
    for (const char* verb : {"start", "stop", "restart"}) {
        auto f = parse_request(std::string("HEAL/1 ") + verb + " web force", r);
        ASSERT_TRUE(f) << verb;
        EXPECT_TRUE(f->force);
    }
    EXPECT_EQ(format_request("restart", "web", true), "HEAL/1 restart web force\n");
    EXPECT_EQ(format_request("info", ""), "HEAL/1 info\n");
    auto one = parse_request("HEAL/1 info web", r);  // info about one service
    ASSERT_TRUE(one) << r.message;
    EXPECT_EQ(one->verb, Verb::info);
    EXPECT_EQ(one->service, "web");
    EXPECT_EQ(format_request("info", "web"), "HEAL/1 info web\n");
}

TEST(Request, RefusesHostileInfoResetAndForce) {
    for (const char* bad : {"HEAL/1 info web force", "HEAL/1 info  ", "HEAL/1 reset", "HEAL/1 restart web forced",
                            "HEAL/1 restart web force force", "HEAL/1 restart web FORCE",
                            "HEAL/1 status web force", "HEAL/1 reset web force", "HEAL/1 info web x",
                            "HEAL/1 restart web  force", "HEAL/1 web"})
        EXPECT_EQ(refusal_of(bad), "malformed_request") << "'" << bad << "'";
    EXPECT_EQ(refusal_of("HEAL/1 Info"), "malformed_request");
    EXPECT_EQ(refusal_of("HEAL/1 info ../etc"), "bad_service_name");
}

TEST(Reply, NewOutcomesAndReasonsRoundTrip) {
    for (auto o : {Outcome::ok, Outcome::failed, Outcome::timed_out, Outcome::refused,
                   Outcome::dry_run, Outcome::lost}) {
        Reply r;
        r.id = "x";
        r.outcome = o;
        r.reason = Reason::budget_exhausted;
        r.forced = true;
        r.shared_with = "y";
        std::string err;
        auto back = parse_reply(to_json_line(r), err);
        ASSERT_TRUE(back) << err;
        EXPECT_EQ(back->outcome, o);
        EXPECT_EQ(back->reason, Reason::budget_exhausted);
        EXPECT_TRUE(back->forced);
        EXPECT_EQ(back->shared_with, "y");
    }
    std::string err;
    auto future = parse_reply(R"({"id":"x","outcome":"refused","reason":"solar_flare"})", err);
    ASSERT_TRUE(future) << err;
    EXPECT_EQ(future->reason, Reason::other);
    EXPECT_EQ(reason_string(*future), "solar_flare") << "a newer listener's reason is kept as text";
    for (const char* bad : {R"({"id":"x","outcome":"ok","info":[]})", R"({"id":"x","outcome":"ok","forced":1})",
                            R"({"id":"x","outcome":"started"})"})
        EXPECT_FALSE(parse_reply(bad, err)) << bad;
}

TEST(Duration, UnitsAndHostileInput) {
    double d = -1;
    struct {
        const char* text;
        double want;
    } good[] = {{"90", 90}, {"90s", 90}, {"5m", 300}, {"1.5h", 5400}, {"2d", 172800}, {"0.5", 0.5},
                 {"100ms", 0.1}, {"250ms", 0.25}, {"1500ms", 1.5}};
    for (auto g : good) {
        EXPECT_TRUE(parse_duration(g.text, 1e7, d)) << g.text;
        EXPECT_EQ(d, g.want) << g.text;
    }
    for (const char* bad : {"", "s", "-1", "1 h", "1hh", "1H", "1e3", "inf", "nan", "0", "0s", "1w",
                            "0x10", " 1", "1,5h", "ms", "0ms", "1 ms", "1mss", "1sm", "-5ms"})
        EXPECT_FALSE(parse_duration(bad, 1e7, d)) << "'" << bad << "'";
    EXPECT_TRUE(parse_duration("0", 10, d, true));
    EXPECT_FALSE(parse_duration("11s", 10, d));
    EXPECT_FALSE(parse_duration("1m", 59, d)) << "the unit counts towards the maximum";
    EXPECT_FALSE(parse_duration("11000ms", 10, d));
    EXPECT_TRUE(parse_duration("10000ms", 10, d));
    EXPECT_EQ(format_duration(3600), "1h");
    EXPECT_EQ(format_duration(5400), "90m");
    EXPECT_EQ(format_duration(86400 * 2), "2d");
    EXPECT_EQ(format_duration(90), "90s");
    EXPECT_EQ(format_duration(0.5), "0.5s");
    EXPECT_EQ(format_duration(86400 * 1.5), "36h");
    EXPECT_EQ(format_duration(60.5), "60.5s");
    EXPECT_EQ(format_duration(59), "59s");
    EXPECT_EQ(format_duration(1e300), "1e+300s") << "not a whole number of days that fits in 53 bits";
}

TEST(Text, MillisecondsAreRoundedHalfAwayFromZeroAsLlround) {
    for (double s : {0.0, 0.0004, 0.0005, 0.0015, 0.1, 0.2, 0.3, 1.0005, 2.5, 59.9995, 86400.0, 1e9 + 0.0005,
                     -0.0005, -0.0015, -2.5, 0.49999999999999994, 4503599627.3704995})
        EXPECT_EQ(to_ms(s), std::llround(s * 1000)) << s;
}

TEST(Text, DecimalsAreReadWholeOrNotAtAll) {
    double v = 0;
    EXPECT_TRUE(parse_decimal("1.5", v));
    EXPECT_EQ(v, 1.5);
    EXPECT_TRUE(parse_decimal("-.25", v));
    EXPECT_EQ(v, -0.25);
    EXPECT_TRUE(parse_decimal("0.1", v));
    EXPECT_EQ(v, 0.1) << "correctly rounded, as from_chars";
    EXPECT_TRUE(parse_decimal(std::string(40, '9'), v));
    for (std::string_view bad : {"", "-", ".", "1.5x", "1..5", " 1", "1 ", "nan", "inf", "0x10", "1e5", "+1", "1-"})
        EXPECT_FALSE(parse_decimal(bad, v)) << "'" << bad << "'";
    EXPECT_FALSE(parse_decimal(std::string(41, '9'), v)) << "longer than 40 bytes";
    EXPECT_FALSE(parse_decimal(std::string_view("1\0" "5", 3), v)) << "a NUL inside";
}

TEST(Reply, VerificationFieldsRoundTripAndAreTyped) {
    Reply r;
    r.id = "x";
    r.outcome = Outcome::ok;
    std::string err;
    auto plain = parse_reply(to_json_line(r), err);
    ASSERT_TRUE(plain) << err;
    EXPECT_FALSE(plain->verified) << "no verify: no field";
    EXPECT_EQ(to_json_line(r).find("verified"), std::string::npos);
    r.verified = true;
    r.healthy_after_ms = 1200;
    r.verify_status = "OK worker up";
    auto back = parse_reply(to_json_line(r), err);
    ASSERT_TRUE(back) << err;
    EXPECT_EQ(back->verified, true);
    EXPECT_EQ(back->healthy_after_ms, 1200);
    EXPECT_EQ(back->verify_status, "OK worker up");
    r.verified = false;
    r.healthy_after_ms.reset();
    back = parse_reply(to_json_line(r), err);
    ASSERT_TRUE(back) << err;
    EXPECT_EQ(back->verified, false);
    EXPECT_FALSE(back->healthy_after_ms);
    for (const char* bad : {R"({"id":"x","outcome":"ok","verified":"yes"})",
                            R"({"id":"x","outcome":"ok","verified":true,"healthy_after_ms":-5})",
                            R"({"id":"x","outcome":"ok","verified":true,"healthy_after_ms":1.5})",
                            R"({"id":"x","outcome":"ok","verify_status":7})"})
        EXPECT_FALSE(parse_reply(bad, err)) << bad;
}

TEST(Request, DiagnosticsTakesARequestId) {
    Refusal why;
    auto r = parse_request("HEAL/1 diagnostics 6f3c1d2e-0a1b-4c5d-8e9f-0123456789ab", why);
    ASSERT_TRUE(r) << why.message;
    EXPECT_EQ(r->verb, Verb::diagnostics);
    EXPECT_EQ(r->service, "6f3c1d2e-0a1b-4c5d-8e9f-0123456789ab");
    EXPECT_FALSE(is_script_verb(Verb::diagnostics));
    EXPECT_FALSE(is_state_changing(Verb::diagnostics));
    EXPECT_FALSE(parse_request("HEAL/1 diagnostics", why));
    EXPECT_FALSE(parse_request("HEAL/1 diagnostics ../../etc/passwd", why));
    EXPECT_EQ(why.reason, Reason::bad_service_name);
    EXPECT_FALSE(parse_request("HEAL/1 diagnostics 6f3c1d2e force", why));
    Reply reply;
    reply.id = "x";
    reply.outcome = Outcome::ok;
    reply.diagnostics = "6f3c";
    reply.diagnose_status = "exit 0 in 12 ms";
    std::string err;
    auto back = parse_reply(to_json_line(reply), err);
    ASSERT_TRUE(back) << err;
    EXPECT_EQ(back->diagnostics, "6f3c");
    EXPECT_EQ(back->diagnose_status, "exit 0 in 12 ms");
    EXPECT_FALSE(parse_reply(R"({"id":"x","outcome":"ok","diagnostics":1})", err));
    EXPECT_EQ(parse_reason("not_found"), Reason::not_found);
}

TEST(Request, HistoryTakesAServiceOrStarThenALimitAndAnAge) {
    Refusal why;
    auto all = parse_request("HEAL/1 history * 20 3600", why);
    ASSERT_TRUE(all) << why.message;
    EXPECT_EQ(all->verb, Verb::history);
    EXPECT_EQ(all->service, "");
    EXPECT_EQ(all->limit, 20u);
    EXPECT_EQ(all->since_s, 3600u);
    auto web = parse_request("HEAL/1 history web", why);
    ASSERT_TRUE(web) << why.message;
    EXPECT_EQ(web->service, "web");
    EXPECT_EQ(web->limit, 50u);
    EXPECT_EQ(web->since_s, 0u);
    EXPECT_EQ(format_history_request("*", 20, 3600), "HEAL/1 history * 20 3600\n");
    for (const char* bad : {"HEAL/1 history", "HEAL/1 history * 0", "HEAL/1 history * 1001",
                            "HEAL/1 history * 10 -5", "HEAL/1 history ../x", "HEAL/1 history * x",
                            "HEAL/1 history web 10 10 10", "HEAL/1 restart web force 5",
                            "HEAL/1 history web force"})
        EXPECT_FALSE(parse_request(bad, why)) << bad;
}

TEST(Request, APauseCarriesItsLengthAndItsReasonAndResumeItsTarget) {
    Refusal r;
    auto p = parse_request("HEAL/1 pause web 3600 disk swap, ticket  OPS-12", r);
    ASSERT_TRUE(p) << r.message;
    EXPECT_EQ(p->verb, Verb::pause);
    EXPECT_EQ(p->service, "web");
    EXPECT_EQ(p->for_s, 3600u);
    EXPECT_EQ(p->reason, "disk swap, ticket  OPS-12") << "the rest of the line, blanks and all";
    auto all = parse_request("HEAL/1 pause * 60", r);
    ASSERT_TRUE(all) << r.message;
    EXPECT_EQ(all->service, "") << "* is every service";
    EXPECT_EQ(all->reason, "");
    EXPECT_EQ(format_pause_request("", 60, "x y"), "HEAL/1 pause * 60 x y\n");
    std::string line = format_pause_request("db", 7 * 86400, "swap é");
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    auto round = parse_request(line, r);
    ASSERT_TRUE(round) << r.message;
    EXPECT_EQ(round->reason, "swap é");
    auto resume = parse_request("HEAL/1 resume *", r);
    ASSERT_TRUE(resume) << r.message;
    EXPECT_EQ(resume->service, "");
}

TEST(Request, HostilePausesAreRefused) {
    Refusal r;
    for (const char* line : {"HEAL/1 pause web", "HEAL/1 pause web 0", "HEAL/1 pause web -5", "HEAL/1 pause web 604801",
                             "HEAL/1 pause web 1e3", "HEAL/1 pause web 60\x1b[2J", "HEAL/1 pause web 60 a\x01",
                             "HEAL/1 pause web 60 \xc3", "HEAL/1 pause web 60 \xc2\x9b", "HEAL/1 resume web 60",
                             "HEAL/1 resume", "HEAL/1 pause ../x 60", "HEAL/1 pause web 60 force"}) {
        auto p = parse_request(line, r);
        if (std::string_view(line) == "HEAL/1 pause web 60 force") {
            ASSERT_TRUE(p) << "'force' is a reason here, not a flag";
            EXPECT_FALSE(p->force);
            continue;
        }
        EXPECT_FALSE(p) << line;
    }
    EXPECT_FALSE(parse_request("HEAL/1 pause web 60 " + std::string(161, 'x'), r));
    EXPECT_EQ(r.message, "pause: REASON is 161 bytes; at most 160");
    EXPECT_TRUE(parse_request("HEAL/1 pause web 60 " + std::string(160, 'x'), r)) << r.message;
    EXPECT_EQ(hold_reason_error("a\x7f"), "contains a control character");
    EXPECT_EQ(hold_reason_error("\xff"), "is not UTF-8");
}

// Request ids come 16 to a getrandom(2) call: never twice, and a forked child never hands out
// the ids its parent has yet to give.
TEST(RequestId, UniqueAcrossABufferAndAFork) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto id = heal::new_uuid();
        ASSERT_EQ(id.size(), 36u);
        EXPECT_EQ(id[14], '4') << id;
        EXPECT_TRUE(seen.insert(id).second) << "repeated: " << id;
    }
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::string id = heal::new_uuid();
        [[maybe_unused]] auto n = ::write(fds[1], id.data(), id.size());
        ::_exit(0);
    }
    ::close(fds[1]);
    char buf[64] = {};
    ASSERT_EQ(::read(fds[0], buf, sizeof buf), 36);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    const std::string in_child(buf, 36);
    for (int i = 0; i < 16; ++i) EXPECT_NE(heal::new_uuid(), in_child) << "the parent's next ids, handed out again";
}
