// heal-event-handler's command line apart from its main: option values and the event's macro
// values, hostile ones included.
#include "command_line.hpp"

#include <gtest/gtest.h>

using namespace heal::handler;

TEST(HandlerCommandLine, OptionValuesParsedOrRefusedNamingTheOption) {
    Options o;
    EXPECT_EQ(parse_values(o, "2", "5/30m", "90s"), "");
    EXPECT_EQ(o.max_unhealthy.to_string(), "2");
    EXPECT_EQ(o.fleet_budget.limit, 5u);
    EXPECT_DOUBLE_EQ(o.max_status_age, 90);
    EXPECT_EQ(parse_values(o, "lots", "10/1h", "60s"), "--max-unhealthy expects N or P% (such as 1 or 25%), got 'lots'");
    EXPECT_EQ(parse_values(o, "25%", "10", "60s"), "--fleet-budget expects N/WINDOW (such as 10/1h), got '10'");
    EXPECT_EQ(parse_values(o, "25%", "10/1h", "forever\n"),
              "--max-status-age expects a duration such as 60s, got 'forever?'");
}

TEST(HandlerCommandLine, TheEventsMacrosAreCheckedBeforeTheyGoAnywhere) {
    Options o;
    std::string why;
    auto e = parse_event({"CRITICAL", "SOFT", "2", "10.0.0.5", "worker"}, o, why);
    ASSERT_TRUE(e) << why;
    EXPECT_EQ(e->attempt, 2u);
    EXPECT_EQ(e->address, "10.0.0.5");
    EXPECT_EQ(e->service, "worker");
    struct Case {
        std::vector<std::string> args;
        std::string why;
    } cases[] = {
        {{"CRITICAL", "SOFT", "2", "10.0.0.5"}, "expected 5 arguments (STATE STATETYPE ATTEMPT HOSTADDRESS SERVICE), got 4"},
        {{"BROKEN", "SOFT", "2", "h", "worker"}, "bad state 'BROKEN'"},
        {{"CRITICAL", "MAYBE", "2", "h", "worker"}, "bad state type 'MAYBE'"},
        {{"CRITICAL", "SOFT", "-1", "h", "worker"}, "bad attempt '-1'"},
        {{"CRITICAL", "SOFT", "2", "-oProxyCommand=x", "worker"}, "bad host address '-oProxyCommand=x'"},
        {{"CRITICAL", "SOFT", "2", "h;rm -rf /", "worker"}, "bad host address 'h;rm -rf /'"},
        {{"CRITICAL", "SOFT", "2", "", "worker"}, "bad host address ''"},
        {{"CRITICAL", "SOFT", "2", "h", "../etc"}, "bad service name '../etc'"},
        {{"CRITICAL", "SOFT", "2", "h", "web\nrestart db"}, "bad service name 'web?restart db'"},
    };
    for (const auto& c : cases) {
        std::string ignored;
        EXPECT_FALSE(parse_event(c.args, o, ignored));
        EXPECT_EQ(ignored, c.why);
    }
    Options forged;
    forged.nagios_host = "web1;[1] ACKNOWLEDGE_SVC_PROBLEM";
    std::string ignored;
    EXPECT_FALSE(parse_event({"CRITICAL", "SOFT", "2", "h", "worker"}, forged, ignored));
    EXPECT_EQ(ignored, "';' or a newline in a Nagios host or service name");
    Options unexpanded;
    unexpanded.server_name = "$_HOSTHEAL_NAME$";
    EXPECT_TRUE(parse_event({"CRITICAL", "SOFT", "2", "h", "worker"}, unexpanded, ignored));
    EXPECT_EQ(unexpanded.server_name, "") << "an unexpanded macro means: not given";
}
