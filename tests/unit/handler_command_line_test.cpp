// heal-event-handler's command line apart from its main: option values and the event's macro
// values, hostile ones included.
#include "handler/command_line.hpp"

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

namespace {

CommandLine parse(std::vector<const char*> words) {
    words.insert(words.begin(), "heal-event-handler");
    return parse_command_line(static_cast<int>(words.size()), words.data());
}

}  // namespace

TEST(HandlerCommandLine, TheWholeCommandLineParsedWithWhereEachFileComesFrom) {
    auto c = parse({"--fleet-budget", "3/10m", "--status-file", "/tmp/s.dat", "--verb", "start", "CRITICAL",
                    "SOFT", "2", "192.0.2.1", "web"});
    ASSERT_EQ(c.error, "");
    EXPECT_FALSE(c.exit);
    EXPECT_EQ(c.o.fleet_budget.limit, 3u);
    EXPECT_EQ(c.o.verb, "start");
    EXPECT_EQ(c.args.size(), 5u);
    EXPECT_EQ(c.status_flag, "--status-file");
    EXPECT_EQ(c.objects_flag, "") << "not given: nagios.cfg's";
    EXPECT_FALSE(c.use_icinga);
    // Every file named: nagios.cfg is not read at all, even when it does not exist.
    auto named = parse({"--nagios-cfg", "/nonexistent/nagios.cfg", "--status-file", "/tmp/s", "--objects-file",
                        "/tmp/o", "--command-file", "/tmp/c"});
    auto where = locate_files(named);
    EXPECT_EQ(where.error, "");
    EXPECT_EQ(named.o.status_file, "/tmp/s");
    EXPECT_EQ(setup_facts(named, where).status_from, "--status-file");
    // A nagios.cfg named that cannot be read is an error that names it.
    auto missing = parse({"--nagios-cfg", "/nonexistent/nagios.cfg"});
    EXPECT_TRUE(missing.cfg_given);
    EXPECT_NE(locate_files(missing).error.find("/nonexistent/nagios.cfg"), std::string::npos);
}

TEST(HandlerCommandLine, WrongCommandLinesAreUsageErrorsInWords) {
    EXPECT_NE(parse({"--verb", "reboot"}).error.find("--verb"), std::string::npos);
    EXPECT_NE(parse({"--bogus"}).error.find("--bogus"), std::string::npos);
    EXPECT_NE(parse({"--timeout", "0"}).error.find("--timeout"), std::string::npos);
    EXPECT_EQ(parse({"--max-unhealthy", "-1"}).error,
              "--max-unhealthy expects N or P% (such as 1 or 25%), got '-1'");
    auto icinga = parse({"--icinga2-url", "http://icinga:5665"});
    EXPECT_TRUE(icinga.use_icinga);
    EXPECT_FALSE(icinga.error.empty()) << "Icinga 2's API over plain HTTP is refused";
}
