// Icinga 2's REST API answers as heal-event-handler reads them (and as nobody should send them),
// and its Icinga 2 options.
#include "handler/icinga2.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace heal;

namespace {

std::string service(const std::string& host, const std::string& name, const std::string& state,
                    const std::string& last_check = "1796222000.5", const std::string& last_ok = "1796221000") {
    return R"({"attrs":{"host_name":")" + host + R"(","name":")" + name + R"(","state":)" + state +
           R"(,"last_check":)" + last_check + R"(,"last_state_ok":)" + last_ok +
           R"(},"joins":{},"meta":{},"name":")" + host + "!" + name + R"(","type":"Service"})";
}

std::string error_of(const std::string& body, std::size_t max = 1 << 20) {
    try {
        icinga2::parse_services(body, max);
    } catch (const nagios::StatusError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

// As Icinga 2.13 answers POST /v1/objects/services (X-HTTP-Method-Override: GET) with attrs.
TEST(Icinga2, ServicesAsIcinga2AnswersThem) {
    const auto d = icinga2::parse_services(R"({"results":[)" + service("web1", "worker", "0.0") + "," +
                                           service("web2", "worker", "2.0") + "," +
                                           service("web3", "worker", "3", "-1", "0") + "]}");
    ASSERT_EQ(d.services.size(), 3u);
    EXPECT_EQ(d.services[0].host, "web1");
    EXPECT_EQ(d.services[0].service, "worker");
    EXPECT_EQ(d.services[0].state, nagios::ServiceState::ok);
    EXPECT_TRUE(d.services[0].checked);
    EXPECT_EQ(d.services[0].last_ok, 1796221000);
    EXPECT_EQ(d.services[1].state, nagios::ServiceState::critical);
    EXPECT_FALSE(d.services[2].checked);  // never checked: PENDING, not known OK
    EXPECT_EQ(d.services[2].last_ok, 0);
    EXPECT_TRUE(icinga2::parse_services(R"({"results":[]})").services.empty());
}

TEST(Icinga2, HostileAnswersAreErrorsThatSayWhat) {
    EXPECT_NE(error_of("").find("not JSON"), std::string::npos);
    EXPECT_NE(error_of(R"({"results":[)" + service("h", "w", "0")).find("not JSON"), std::string::npos);  // cut short
    EXPECT_EQ(error_of(R"({"error":404,"status":"No objects found."})"), "Icinga 2's answer has no \"results\" list");
    EXPECT_EQ(error_of(R"([1,2])"), "Icinga 2's answer has no \"results\" list");
    EXPECT_EQ(error_of(R"({"results":{}})"), "Icinga 2's answer has no \"results\" list");
    EXPECT_EQ(error_of(R"({"results":[1]})"), "Icinga 2's answer, result 1: no \"attrs\" object");
    EXPECT_EQ(error_of(R"({"results":[{"attrs":{"host_name":"h","name":7,"state":0,"last_check":1,"last_state_ok":1}}]})"),
              "Icinga 2's answer, result 1: no host_name and name strings");
    EXPECT_EQ(error_of(R"({"results":[{"attrs":{"host_name":"","name":"w","state":0,"last_check":1,"last_state_ok":1}}]})"),
              "Icinga 2's answer, result 1: no host_name and name strings");
    for (const char* bad : {"4", "-1", "1.5", "\"0\"", "null", "true", "1e300"})
        EXPECT_EQ(error_of(R"({"results":[)" + service("h", "w", bad) + "]}"),
                  "Icinga 2's answer, result 1: the state of 'w' on 'h' is not 0-3")
            << bad;
    EXPECT_EQ(error_of(R"({"results":[)" + service("h", "w", "0", "\"yesterday\"") + "]}"),
              "Icinga 2's answer, result 1: last_check of 'w' on 'h' is not a time");
    EXPECT_EQ(error_of(R"({"results":[)" + service("h", "w", "0", "1", "-5") + "]}"),
              "Icinga 2's answer, result 1: last_state_ok of 'w' on 'h' is not a time");
    EXPECT_EQ(error_of(R"({"results":[)" + service("h", "w", "0") + "," + service("h", "w", "2") + "]}"),
              "Icinga 2's answer lists 'w' on 'h' twice");
    std::string many = R"({"results":[)";
    for (int i = 0; i < 4; ++i) many += (i ? "," : "") + service("h" + std::to_string(i), "w", "0");
    EXPECT_EQ(error_of(many + "]}", 3), "Icinga 2's answer, result 4: more than 3 services");
    EXPECT_EQ(error_of(R"({"results":[)" + service("h\\u001b[2J", "w", "9") + "]}"),
              "Icinga 2's answer, result 1: the state of 'w' on 'h?[2J' is not 0-3");
}

TEST(Icinga2, ActionResultsMustAllBe200) {
    EXPECT_EQ(icinga2::action_error(R"({"results":[{"code":200.0,"legacy_id":1,"name":"h!w!x","status":"Successfully added comment 'h!w!x' for object 'h!w'."}]})"), "");
    EXPECT_EQ(icinga2::action_error(R"({"results":[{"code":200,"status":"ok"},{"code":500,"status":"Failed to add"}]})"),
              "Icinga 2 answered 500: Failed to add");
    EXPECT_EQ(icinga2::action_error(R"({"results":[]})"), "Icinga 2 found no such service");
    EXPECT_EQ(icinga2::action_error("not json"), "Icinga 2's answer to an action has no \"results\" list");
    EXPECT_EQ(icinga2::action_error(R"({"results":[{"status":"no code"}]})"),
              "Icinga 2's answer to an action has a result without a code");
}

TEST(Icinga2, UrlsAndOptions) {
    icinga2::Url u;
    EXPECT_EQ(icinga2::parse_url("https://icinga.example.com:5665", u), "");
    EXPECT_EQ(u.host, "icinga.example.com");
    EXPECT_EQ(u.port, 5665);
    EXPECT_EQ(icinga2::parse_url("https://[::1]:7000/", u), "");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 7000);
    EXPECT_EQ(icinga2::parse_url("https://m1", u), "");
    EXPECT_EQ(u.port, 5665);
    EXPECT_NE(icinga2::parse_url("http://m1:5665", u).find("must start with https://"), std::string::npos);
    EXPECT_NE(icinga2::parse_url("https://m1:5665/v1", u).find("without a path"), std::string::npos);
    EXPECT_NE(icinga2::parse_url("https://root:pw@m1:5665", u).find("no user info"), std::string::npos);
    EXPECT_NE(icinga2::parse_url("https://m1:5665 ", u).find("spaces"), std::string::npos);
    EXPECT_NE(icinga2::parse_url("https://m1:99999", u).find("is not 1-65535"), std::string::npos);
    EXPECT_NE(icinga2::parse_url("https://:5665", u).find("no host"), std::string::npos);

    icinga2::Api api{.url = "https://m1:5665", .ca = "ca.crt", .cert = "c.crt", .key = "c.key"};
    EXPECT_EQ(icinga2::check_options(api), "");
    api.user = "heal";
    EXPECT_NE(icinga2::check_options(api).find("not both"), std::string::npos);
    api.cert = api.key = "";
    EXPECT_NE(icinga2::check_options(api).find("a password is never given on the command line"), std::string::npos);
    api.password_file = "pw";
    EXPECT_EQ(icinga2::check_options(api), "");
    api.ca = "";
    EXPECT_NE(icinga2::check_options(api).find("--icinga2-ca is required"), std::string::npos);
    api = {.url = "https://m1", .ca = "ca.crt"};
    EXPECT_NE(icinga2::check_options(api).find("needs --icinga2-cert and --icinga2-key"), std::string::npos);
    api.cert = "c.crt";
    EXPECT_EQ(icinga2::check_options(api), "--icinga2-cert and --icinga2-key go together");
}

// What humans hold, as the query with "downtime_depth", "acknowledgement" and the joined
// "host.downtime_depth" answers it; hostile values are errors, absent ones mean none.
TEST(Icinga2, DowntimesAndAcknowledgementsFromTheQuery) {
    auto entry = [](const std::string& host, const std::string& extra, const std::string& joins) {
        return R"({"attrs":{"host_name":")" + host + R"(","name":"worker","state":2.0,"last_check":1796222000,)"
               R"("last_state_ok":1796221000)" + extra + R"(},"joins":)" + joins + "}";
    };
    const auto d = icinga2::parse_services(
        R"({"results":[)" + entry("web1", R"(,"downtime_depth":1.0,"acknowledgement":2.0)", R"({"host":{"downtime_depth":0.0}})") +
        "," + entry("web2", R"(,"downtime_depth":0.0,"acknowledgement":0.0)", R"({"host":{"downtime_depth":2.0}})") + "]}");
    ASSERT_EQ(d.services.size(), 2u);
    EXPECT_EQ(d.services[0].downtime_depth, 1u);
    EXPECT_TRUE(d.services[0].acknowledged) << "2: sticky";
    EXPECT_FALSE(d.services[1].acknowledged);
    EXPECT_TRUE(d.hosts_joined);
    EXPECT_EQ(d.host_downtime.count("web1"), 0u);
    EXPECT_EQ(d.host_downtime.at("web2"), 2u);
    EXPECT_FALSE(icinga2::parse_services(R"({"results":[)" + entry("web1", "", "{}") + "]}").hosts_joined)
        << "no host joined: the ApiUser lacks objects/query/Host";
    EXPECT_NE(error_of(R"({"results":[)" + entry("web1", R"(,"acknowledgement":3)", "{}") + "]}")
                  .find("acknowledgement of 'worker' on 'web1' is not 0, 1 or 2"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"results":[)" + entry("web1", R"(,"downtime_depth":-1)", "{}") + "]}")
                  .find("downtime_depth of 'worker' on 'web1' is not a count"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"results":[)" + entry("web1", "", R"({"host":{"downtime_depth":"lots"}})") + "]}")
                  .find("the host's downtime_depth of 'worker' on 'web1' is not a count"),
              std::string::npos);
}
