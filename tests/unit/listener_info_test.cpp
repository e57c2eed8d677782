// check_heal's verdict on a listener's info answer, without a listener: hostile and odd answers
// included (missing fields, wrong types), each state it can give.
#include "checks/listener_info.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

using namespace heal::plugin;

namespace {

std::string judged(const std::string& info_json, const std::set<std::string>& wanted = {}) {
    Result res("HEAL");
    res.set(ok, "");
    finish_info(res, judge_info(res, boost::json::parse(info_json).as_object(), wanted), "web1");
    return res.format();
}

}  // namespace

TEST(ListenerInfo, AllWellIsOkWithPerfdata) {
    const auto out = judged(R"({"state":"ok","services":[{"name":"web","budget":{"used":1,"limit":3},"refusals":0},
        {"name":"db","watch":{"failures":0,"heal_after":2}}]})");
    EXPECT_EQ(out.rfind("HEAL OK: 2 service(s) on web1, none quarantined, budgets at most half used, 1 watched here", 0), 0u)
        << out;
    EXPECT_NE(out.find("web_actions=1;1;;0;3"), std::string::npos) << out;
    EXPECT_NE(out.find("db_watch_failures=0;;2;0"), std::string::npos) << out;
}

TEST(ListenerInfo, QuarantinePauseBudgetAndTheStoreRaiseTheirStates) {
    EXPECT_EQ(judged(R"({"state":"unavailable","services":[]})").rfind("HEAL CRITICAL", 0), 0u);
    const auto q = judged(R"({"state":"ok","services":[{"name":"web","quarantine":{"since":"t","why":"3 restarts"}}]})");
    EXPECT_NE(q.find("HEAL CRITICAL: web quarantined since t: 3 restarts"), std::string::npos) << q;
    const auto p = judged(R"({"state":"ok","services":[{"name":"web","paused":{"by":"client ops",
        "until":"2026-12-07T10:00:00.000Z","reason":"disk swap","all":false,"watch_only":false}}]})");
    EXPECT_NE(p.find("HEAL WARNING: web is paused until 2026-12-07T10:00:00.000Z by client ops (disk swap): only admins' "
                     "heals run (heal-ctl resume web)"),
              std::string::npos)
        << p;
    const auto all = judged(R"({"state":"ok","services":[{"name":"web","paused":{"by":"client ops",
        "until":"2026-12-07T10:00:00.000Z","reason":"","all":true,"watch_only":false}}]})");
    EXPECT_NE(all.find("HEAL WARNING: web is paused until 2026-12-07T10:00:00.000Z by client ops, every service: only "
                       "admins' heals run (heal-ctl resume --all)"),
              std::string::npos)
        << all;
    const auto loop = judged(R"({"state":"ok","services":[{"name":"web","paused":{"by":"watch_paused = yes in heal.ini",
        "until":null,"watch_only":true}}]})");
    EXPECT_NE(loop.find("HEAL WARNING: web's watch loop is paused (watch_paused = yes in heal.ini)"), std::string::npos)
        << loop;
    const auto b = judged(R"({"state":"ok","services":[{"name":"web","budget":{"used":2,"limit":3}}]})");
    EXPECT_NE(b.find("HEAL WARNING: web used 2 of its budget of 3"), std::string::npos) << b;
    const auto missing = judged(R"({"state":"ok","services":[{"name":"web"}]})", {"db"});
    EXPECT_NE(missing.find("HEAL UNKNOWN: no service db on this listener"), std::string::npos) << missing;
}

TEST(ListenerInfo, OddAnswersNeverCrashAndSayWhatTheyCan) {
    for (const char* odd : {R"({})", R"({"services":7})", R"({"services":[7,"x",null]})",
                            R"({"services":[{"name":5,"budget":"lots","quarantine":[],"watch":1}]})",
                            R"({"services":[{"budget":{"used":"1","limit":-3}}]})"}) {
        const auto out = judged(odd);
        EXPECT_EQ(out.rfind("HEAL ", 0), 0u) << odd << " -> " << out;
    }
}
