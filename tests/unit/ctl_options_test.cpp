// heal-ctl's command line, apart from its main: parsing and validation, hostile input included.
#include "ctl/options.hpp"

#include <gtest/gtest.h>

using heal::ctl::parse_options;
using heal::ctl::validate;

namespace {

std::string error_of(const std::vector<std::string>& args) {
    auto p = parse_options(args);
    if (!p.error.empty()) return p.error;
    if (!p.options) return "no options";
    double since = 0;
    return validate(*p.options, since);
}

}  // namespace

TEST(CtlOptions, ReadsWhatTheCommandLineSays) {
    auto p = parse_options({"-H", "web1", "-p", "6000", "--timeout", "2.5", "--json", "restart", "web"});
    ASSERT_TRUE(p.options) << p.error;
    EXPECT_EQ(*p.options->over.host, "web1");
    EXPECT_EQ(*p.options->over.port, 6000);
    EXPECT_DOUBLE_EQ(*p.options->over.timeout, 2.5);
    EXPECT_FALSE(p.options->over.cert) << "only what was given overrides the file";
    EXPECT_FALSE(p.options->config_given);
    EXPECT_TRUE(p.options->json);
    EXPECT_EQ(p.options->verb, "restart");
    EXPECT_EQ(p.options->service, "web");
    double since = 0;
    auto h = parse_options({"--since", "6h", "--limit", "10", "history"});
    ASSERT_TRUE(h.options) << h.error;
    EXPECT_EQ(validate(*h.options, since), "");
    EXPECT_DOUBLE_EQ(since, 6 * 3600);
    EXPECT_EQ(error_of({"info"}), "") << "info and history need no SERVICE";
}

TEST(CtlOptions, HostileAndWrongCommandLinesAreRefusedInWords) {
    EXPECT_EQ(error_of({}), "VERB is required (start, stop, restart, status, info, reset)");
    EXPECT_EQ(error_of({"--colour", "restart", "web"}), "unknown option '--colour'");
    EXPECT_EQ(error_of({"restart", "web", "extra"}), "unexpected argument 'extra'");
    EXPECT_NE(error_of({"-p", "0", "restart", "web"}).find("--port"), std::string::npos);
    EXPECT_NE(error_of({"-p", "99999", "restart", "web"}).find("--port"), std::string::npos);
    EXPECT_NE(error_of({"-t", "-1", "status", "web"}).find("--timeout"), std::string::npos);
    EXPECT_EQ(error_of({"restart"}), "SERVICE is required");
    EXPECT_EQ(error_of({"diagnostics"}), "diagnostics needs a REQUEST-ID");
    EXPECT_EQ(error_of({"--since", "6h", "restart", "web"}), "--since and --limit apply to history only");
    EXPECT_EQ(error_of({"--since", "", "history"}), "--since expects a duration such as 90m, 6h or 2d, got ''");
    EXPECT_EQ(error_of({"--since", "yesterday\n", "history"}),
              "--since expects a duration such as 90m, 6h or 2d, got 'yesterday?'");
    EXPECT_EQ(error_of({"--force", "status", "web"}), "--force applies to start, stop and restart only");
    EXPECT_EQ(error_of({"restart", "web\nrestart db"}), "VERB and SERVICE must be single words");
    EXPECT_EQ(error_of({"restart", std::string("web\0x", 5)}), "VERB and SERVICE must be single words");
    EXPECT_EQ(parse_options({"--version"}).exit, 0);
}

TEST(CtlOptions, PauseNeedsAnEndAndResumeATarget) {
    auto p = parse_options({"pause", "web", "--for", "90m", "--reason", "disk swap"});
    ASSERT_TRUE(p.options) << p.error;
    heal::ctl::Durations d;
    EXPECT_EQ(validate(*p.options, d), "");
    EXPECT_EQ(d.for_s, 5400u);
    EXPECT_EQ(request_line(*p.options, d), "HEAL/1 pause web 5400 disk swap\n");
    auto all = parse_options({"pause", "--all", "--for", "1.5s"});
    ASSERT_TRUE(all.options) << all.error;
    EXPECT_EQ(validate(*all.options, d), "");
    EXPECT_EQ(request_line(*all.options, d), "HEAL/1 pause * 2\n") << "whole seconds, rounded up";
    auto resume = parse_options({"resume", "--all"});
    ASSERT_TRUE(resume.options);
    EXPECT_EQ(validate(*resume.options, d), "");
    EXPECT_EQ(request_line(*resume.options, d), "HEAL/1 resume *\n");

    EXPECT_EQ(error_of({"pause", "web"}).rfind("pause needs --for DURATION", 0), 0u);
    for (const char* bad : {"0", "-5m", "8d", "forever", "7d1s", ""})
        EXPECT_EQ(error_of({"pause", "web", "--for", bad}).rfind("--for expects a duration from 1s to 7d", 0), 0u) << bad;
    EXPECT_EQ(error_of({"pause", "web", "--for", "7d"}), "") << "7 days is the most";
    EXPECT_EQ(error_of({"pause", "web", "--for", "1h", "--reason", std::string(10240, 'x')}),
              "--reason is 10240 bytes; at most 160");
    EXPECT_EQ(error_of({"pause", "web", "--for", "1h", "--reason", "a\nb"}), "--reason contains a control character");
    EXPECT_EQ(error_of({"pause", "web", "--for", "1h", "--reason", "\x1b[2J"}), "--reason contains a control character");
    EXPECT_EQ(error_of({"pause", "--for", "1h"}), "pause needs SERVICE or --all");
    EXPECT_EQ(error_of({"resume"}), "resume needs SERVICE or --all");
    EXPECT_EQ(error_of({"resume", "--all", "web"}), "--all and SERVICE exclude each other");
    EXPECT_EQ(error_of({"resume", "web", "--for", "1h"}), "--for and --reason apply to pause only");
    EXPECT_EQ(error_of({"restart", "web", "--all"}), "--all, --for and --reason apply to pause and resume only");
}
