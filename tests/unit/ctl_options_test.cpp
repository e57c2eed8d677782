// heal-ctl's command line, apart from its main: parsing and validation, hostile input included.
#include "options.hpp"

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
