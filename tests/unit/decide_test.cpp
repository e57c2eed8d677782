// decide(): every guard at its edges, with a chosen clock. Monit's users report off-by-one
// "restarts within" counters; these tests pin the semantics to the millisecond.
#include "listener/decide.hpp"
#include "listener/watch.hpp"
#include "common/text.hpp"

#include <gtest/gtest.h>

using namespace heal;

namespace {

constexpr std::int64_t T0 = 1'800'000'000'000;  // an arbitrary wall-clock origin, ms
constexpr std::int64_t S = 1000, H = 3600 * S;

class DecideTest : public ::testing::Test {
protected:
    void SetUp() override {
        ServiceConfig web;
        web.name = "web";
        const Command script{{"/bin/true"}, false};
        web.scripts = {{Verb::restart, script}, {Verb::status, script}, {Verb::stop, script}};
        cfg_.services["web"] = web;
        ServiceConfig db = web;
        db.name = "db";
        cfg_.services["db"] = db;
    }

    ServiceConfig& web() { return cfg_.services["web"]; }

    /// `n` restarts that ran, the first at `first`, then every `step` ms.
    GuardState ran(int n, std::int64_t first, std::int64_t step = 60 * S) {
        GuardState g;
        for (int i = 0; i < n; ++i) g.recent.push_back({first + i * step, Verb::restart});
        if (n) g.last_end_ms = first + (n - 1) * step + 100;
        return g;
    }

    Verdict restart(const GuardState& g, std::int64_t now, bool force = false,
                    const Identity& who = {}) {
        return decide(Request{Verb::restart, "web", force}, who, cfg_, g, now);
    }

    Identity as(const std::string& name) {
        Identity who;
        who.rules_configured = !cfg_.clients.empty();
        who.subject = "CN=" + name;
        for (const auto& c : cfg_.clients)
            if (c.name == name) who.rule = &c;
        return who;
    }

    void add_client(const std::string& name, std::set<Verb> verbs, bool admin = false,
                    std::set<std::string> services = {}) {
        ClientRule c;
        c.name = name;
        c.cn = name;
        c.verbs = std::move(verbs);
        c.admin = admin;
        c.all_services = services.empty();
        c.services = std::move(services);
        cfg_.clients.push_back(c);
    }

    ListenerConfig cfg_;
};

}  // namespace

TEST_F(DecideTest, DefaultBudgetIsThreePerHour) {
    Budget b;
    EXPECT_EQ(b.limit, 3u);
    EXPECT_EQ(b.window_s, 3600);
    EXPECT_TRUE(ServiceConfig{}.budget.has_value());
}

TEST_F(DecideTest, NthActionAllowedAndNextRefusedAndQuarantined) {
    auto now = T0 + 10 * 60 * S;
    EXPECT_EQ(restart(ran(2, T0), now).decision, Decision::run) << "the 3rd of 3/1h runs";
    auto v = restart(ran(3, T0), now);
    EXPECT_EQ(v.decision, Decision::refuse);
    EXPECT_EQ(v.reason, Reason::budget_exhausted);
    ASSERT_TRUE(v.quarantine_now) << "past the budget the service is quarantined";
    EXPECT_EQ(v.quarantine_now->since_ms, now);
    EXPECT_EQ(v.quarantine_now->why, "quarantined after 3 restarts in 1h");
    EXPECT_NE(v.message.find("the budget allows the next at " + utc_iso(T0 + H)), std::string::npos)
        << v.message;
    EXPECT_NE(v.message.find("heal-ctl reset web"), std::string::npos) << v.message;
}

TEST_F(DecideTest, WindowSlidesToTheMillisecond) {
    auto g = ran(3, T0);  // at T0, T0+1m, T0+2m
    EXPECT_EQ(restart(g, T0 + H - 1).reason, Reason::budget_exhausted) << "1 ms before: 3 in window";
    EXPECT_EQ(restart(g, T0 + H).decision, Decision::run) << "exactly 1h after the 1st: it left";
    EXPECT_EQ(budget_use(*web().budget, g, T0 + H).used, 2u);
    EXPECT_EQ(*budget_use(*web().budget, g, T0 + H - 1).next_allowed_ms, T0 + H);
}

TEST_F(DecideTest, WordsNameMixedVerbsAsActions) {
    auto g = ran(3, T0);
    g.recent[1].verb = Verb::stop;
    EXPECT_EQ(restart(g, T0 + S).quarantine_now->why, "quarantined after 3 actions in 1h");
}

TEST_F(DecideTest, ResetEpochStartsAFreshWindow) {
    auto g = ran(3, T0);
    g.budget_epoch_ms = T0 + 2 * 60 * S + 1;  // reset after the 3rd
    EXPECT_EQ(restart(g, T0 + 3 * 60 * S).decision, Decision::run);
    g.budget_epoch_ms = T0 + 2 * 60 * S;  // an action at the epoch itself counts
    EXPECT_EQ(restart(g, T0 + 3 * 60 * S).decision, Decision::run) << "1 of 3 after the reset";
    EXPECT_EQ(budget_use(*web().budget, g, T0 + 3 * 60 * S).used, 1u);
}

TEST_F(DecideTest, BudgetNoneNeverRefuses) {
    web().budget.reset();
    EXPECT_EQ(restart(ran(100, T0, S), T0 + 101 * S).decision, Decision::run);
}

TEST_F(DecideTest, CooldownBoundary) {
    web().cooldown_s = 30;
    GuardState g;
    g.last_end_ms = T0;
    auto v = restart(g, T0 + 30 * S - 1);
    EXPECT_EQ(v.reason, Reason::cooldown);
    EXPECT_NE(v.message.find("0.00 s left of 30s"), std::string::npos) << v.message;
    EXPECT_EQ(restart(g, T0 + 10 * S).message.find("20.0 s left"), 10u) << restart(g, T0 + 10 * S).message;
    EXPECT_EQ(restart(g, T0 + 30 * S).decision, Decision::run) << "exactly at the end of the cooldown";
}

TEST_F(DecideTest, QuarantineHoldsUntilResetOrQuarantineFor) {
    GuardState g;
    g.quarantine = Quarantine{T0, "quarantined after 3 restarts in 1h"};
    auto v = restart(g, T0 + 100 * H);
    EXPECT_EQ(v.reason, Reason::quarantined) << "default: never lifts by itself";
    EXPECT_NE(v.message.find("quarantined after 3 restarts in 1h"), std::string::npos);
    EXPECT_FALSE(v.quarantine_now);
    web().quarantine_for_s = 600;
    EXPECT_EQ(restart(g, T0 + 600 * S - 1).reason, Reason::quarantined);
    EXPECT_EQ(restart(g, T0 + 600 * S).decision, Decision::run);
    EXPECT_FALSE(active_quarantine(web(), g, T0 + 600 * S));
}

TEST_F(DecideTest, StatusIgnoresEveryGuard) {
    GuardState g = ran(10, T0, S);
    g.quarantine = Quarantine{T0, "q"};
    g.locked_elsewhere = true;
    g.slot_free = false;
    g.store_ok = false;
    web().dry_run = true;
    EXPECT_EQ(decide(Request{Verb::status, "web", false}, {}, cfg_, g, T0 + 20 * S).decision,
              Decision::run);
}

TEST_F(DecideTest, LockIsNeverForcedButTheRestIs) {
    add_client("ops", {Verb::restart}, true);
    GuardState g = ran(3, T0);
    g.quarantine = Quarantine{T0, "q"};
    web().cooldown_s = 3600;
    auto v = restart(g, T0 + 5 * 60 * S, true, as("ops"));
    EXPECT_EQ(v.decision, Decision::run);
    EXPECT_FALSE(v.quarantine_now) << "a forced action does not re-quarantine";
    g.locked_elsewhere = true;
    g.running_id = "abc";
    v = restart(g, T0 + 5 * 60 * S, true, as("ops"));
    EXPECT_EQ(v.reason, Reason::busy);
    EXPECT_NE(v.message.find("abc"), std::string::npos);
    g.locked_elsewhere = false;
    g.slot_free = false;
    EXPECT_EQ(restart(g, T0 + 5 * 60 * S, true, as("ops")).reason, Reason::global_cap);
}

TEST_F(DecideTest, OrderOfGuardsGivesTheMostUsefulReason) {
    GuardState g = ran(3, T0);
    g.slot_free = false;
    g.quarantine = Quarantine{T0, "q"};
    EXPECT_EQ(restart(g, T0 + S).reason, Reason::quarantined);
    g.quarantine.reset();
    EXPECT_EQ(restart(g, T0 + 3 * 60 * S).reason, Reason::budget_exhausted);
    GuardState full;
    full.slot_free = false;
    EXPECT_EQ(restart(full, T0).reason, Reason::global_cap);
    GuardState down;
    down.store_ok = false;
    down.store_error = "disk on fire";
    auto v = restart(down, T0);
    EXPECT_EQ(v.reason, Reason::state_unavailable);
    EXPECT_NE(v.message.find("disk on fire"), std::string::npos);
}

TEST_F(DecideTest, DryRunDecidesAsUsualAndRunsNothing) {
    web().dry_run = true;
    auto v = restart(GuardState{}, T0);
    EXPECT_EQ(v.decision, Decision::dry_run);
    EXPECT_EQ(v.message, "dry run: would restart web (/bin/true)");
    EXPECT_EQ(restart(ran(3, T0), T0 + S).reason, Reason::budget_exhausted)
        << "a dry run is refused where the real thing would be";
}

TEST_F(DecideTest, WithoutClientSectionsEveryoneButNoAdmin) {
    Identity anyone;
    EXPECT_EQ(restart(GuardState{}, T0, false, anyone).decision, Decision::run);
    EXPECT_EQ(restart(GuardState{}, T0, true, anyone).reason, Reason::not_authorized);
    auto v = decide(Request{Verb::reset, "web", false}, anyone, cfg_, GuardState{}, T0);
    EXPECT_EQ(v.reason, Reason::not_authorized);
    EXPECT_NE(v.message.find("admin = yes"), std::string::npos) << v.message;
    EXPECT_EQ(decide(Request{Verb::info, "", false}, anyone, cfg_, GuardState{}, T0).decision,
              Decision::run);
}

TEST_F(DecideTest, AuthorizationMatrix) {
    add_client("nagios", {Verb::status, Verb::restart});
    add_client("viewer", {Verb::status});
    add_client("webops", {Verb::status, Verb::restart, Verb::stop}, false, {"web"});
    add_client("ops", {Verb::status, Verb::restart, Verb::stop}, true);
    struct Case {
        const char* who;
        Verb verb;
        const char* service;
        bool force;
        Reason want;
    } cases[] = {
        {"nagios", Verb::restart, "web", false, Reason::none},
        {"nagios", Verb::status, "db", false, Reason::none},
        {"nagios", Verb::stop, "web", false, Reason::not_authorized},
        {"nagios", Verb::restart, "web", true, Reason::not_authorized},
        {"nagios", Verb::reset, "web", false, Reason::not_authorized},
        {"viewer", Verb::restart, "web", false, Reason::not_authorized},
        {"viewer", Verb::status, "web", false, Reason::none},
        {"viewer", Verb::info, "", false, Reason::none},
        {"webops", Verb::stop, "web", false, Reason::none},
        {"webops", Verb::stop, "db", false, Reason::not_authorized},
        {"webops", Verb::status, "db", false, Reason::not_authorized},
        {"ops", Verb::restart, "db", true, Reason::none},
        {"ops", Verb::reset, "web", false, Reason::none},
        {"stranger", Verb::status, "web", false, Reason::not_authorized},
        {"stranger", Verb::info, "", false, Reason::not_authorized},
        {"ops", Verb::start, "web", false, Reason::verb_not_allowed},
        {"ops", Verb::restart, "nosuch", false, Reason::unknown_service},
    };
    for (const auto& c : cases) {
        auto v = decide(Request{c.verb, c.service, c.force}, as(c.who), cfg_, GuardState{}, T0);
        EXPECT_EQ(v.reason, c.want) << c.who << " " << to_string(c.verb) << " " << c.service
                                    << (c.force ? " force" : "") << ": " << v.message;
    }
}

TEST_F(DecideTest, IdentifyPrefersTheFingerprint) {
    ClientRule by_cn;
    by_cn.name = "by_cn";
    by_cn.cn = "heal-ctl";
    ClientRule by_fp;
    by_fp.name = "by_fp";
    by_fp.fingerprint = "AA:BB";
    cfg_.clients = {by_cn, by_fp};
    EXPECT_EQ(identify(cfg_, "CN=heal-ctl", "heal-ctl", "AA:BB").name(), "by_fp");
    EXPECT_EQ(identify(cfg_, "CN=heal-ctl", "heal-ctl", "CC").name(), "by_cn");
    EXPECT_EQ(identify(cfg_, "CN=x", "", "CC").rule, nullptr) << "no CN (or two) matches no cn";
}

TEST_F(DecideTest, AHoldRefusesEveryHealButAnAdminsUntilItEndsAndPauseIsForAdmins) {
    add_client("watch", {Verb::restart});  // as the loop names itself (config refuses it from a file)
    add_client("nagios", {Verb::restart, Verb::status});
    add_client("ops", {Verb::restart}, true);
    GuardState g;
    g.hold = Hold{"web", T0 - 60 * S, T0 + 3600 * S, "client ops", "disk swap"};
    for (const char* who : {"watch", "nagios"}) {
        auto v = restart(g, T0, false, as(who));
        EXPECT_EQ(v.reason, Reason::paused) << who;
        EXPECT_EQ(v.message, "web is paused by client ops until " + utc_iso(T0 + 3600 * S) +
                                 " (disk swap): only admins' heals run; 'heal-ctl resume web' ends it early");
    }
    EXPECT_EQ(restart(g, T0, false, as("ops")).decision, Decision::run) << "the operator's own restart acts";
    EXPECT_EQ(restart(g, T0 + 3600 * S, false, as("nagios")).decision, Decision::run) << "ended at until_ms";
    EXPECT_EQ(restart(g, T0 + 3600 * S - 1, false, as("nagios")).reason, Reason::paused) << "1 ms before";
    // The host's hold (pause --all) holds every service; whichever ends later is in force.
    GuardState all;
    all.hold_all = Hold{"", T0, T0 + 60 * S, "client ops", ""};
    auto v = restart(all, T0, false, as("nagios"));
    EXPECT_EQ(v.message, "every service on this host is paused by client ops until " + utc_iso(T0 + 60 * S) +
                             ": only admins' heals run; 'heal-ctl resume --all' ends it early");
    all.hold = Hold{"web", T0, T0 + 120 * S, "client ops", "longer"};
    EXPECT_EQ(active_hold(all, T0)->reason, "longer");
    EXPECT_EQ(active_hold(all, T0 + 90 * S)->reason, "longer");
    EXPECT_FALSE(active_hold(all, T0 + 120 * S));
    // A hold does not stand in the way of status.
    EXPECT_EQ(decide(Request{Verb::status, "web"}, as("nagios"), cfg_, g, T0).decision, Decision::run);
    // watch_paused = yes holds the loop only.
    web().watch_paused = true;
    EXPECT_EQ(restart(GuardState{}, T0, false, as("watch")).reason, Reason::paused) << "watch_paused = yes";
    EXPECT_EQ(restart(GuardState{}, T0, false, as("nagios")).decision, Decision::run);

    // pause and resume: admins only, the store needed; any service, or every one ("").
    auto verb = [&](Verb vb, const std::string& service, const Identity& who, const GuardState& st = {}) {
        Request r{vb, service};
        r.for_s = 60;
        return decide(r, who, cfg_, st, T0);
    };
    EXPECT_EQ(verb(Verb::pause, "web", as("nagios")).reason, Reason::not_authorized);
    EXPECT_EQ(verb(Verb::pause, "", as("nagios")).reason, Reason::not_authorized);
    EXPECT_EQ(verb(Verb::pause, "web", as("ops")).decision, Decision::run) << "watched or not";
    EXPECT_EQ(verb(Verb::pause, "", as("ops")).decision, Decision::run);
    GuardState down;
    down.store_ok = false;
    down.store_error = "disk full";
    EXPECT_EQ(verb(Verb::pause, "web", as("ops"), down).reason, Reason::state_unavailable);
    EXPECT_EQ(verb(Verb::resume, "", as("ops"), down).reason, Reason::state_unavailable);
    EXPECT_EQ(verb(Verb::resume, "web", as("ops")).decision, Decision::run);
    EXPECT_EQ(verb(Verb::resume, "nope", as("ops")).reason, Reason::unknown_service);
}

TEST_F(DecideTest, ShuttingDownConfirmingFirstAndWhatIsRecordedAreDecidedHere) {
    GuardState stopping;
    stopping.stopping = true;
    auto v = restart(stopping, T0);
    EXPECT_EQ(v.reason, Reason::shutting_down);
    EXPECT_TRUE(v.recorded) << "a refused action is kept in the history";
    EXPECT_EQ(decide(Request{Verb::status, "web"}, {}, cfg_, stopping, T0).decision, Decision::run)
        << "status still answers while the listener stops";

    EXPECT_FALSE(restart(GuardState{}, T0).confirm_first) << "confirm = no";
    web().confirm = true;
    EXPECT_TRUE(restart(GuardState{}, T0).confirm_first);
    EXPECT_TRUE(decide(Request{Verb::stop, "web"}, {}, cfg_, {}, T0).confirm_first);
    EXPECT_FALSE(restart(GuardState{}, T0, true).confirm_first) << "--force acts on the admin's word";
    add_client("watch", {Verb::restart});
    add_client("ops", {Verb::restart}, true);
    EXPECT_FALSE(restart(GuardState{}, T0, false, as("watch")).confirm_first) << "the loop saw it here itself";
    EXPECT_FALSE(restart(GuardState{}, T0, true, as("ops")).confirm_first);
    web().scripts.erase(Verb::status);
    EXPECT_FALSE(restart(GuardState{}, T0).confirm_first) << "no status script: nothing to ask";

    EXPECT_FALSE(decide(Request{Verb::status, "nope"}, {}, cfg_, {}, T0).recorded)
        << "a refused status is in the audit, not the history";
    EXPECT_FALSE(decide(Request{Verb::info, "nope"}, {}, cfg_, {}, T0).recorded);
    EXPECT_TRUE(decide(Request{Verb::reset, "web"}, as("watch"), cfg_, {}, T0).recorded);
    EXPECT_FALSE(restart(GuardState{}, T0).recorded) << "what runs is recorded by the run, not as a refusal";
}

// The watch loop's policy, pure: a status run's result against the loop's memory.
namespace {

heal::Reply heal_reply(heal::Outcome o, std::optional<bool> verified = std::nullopt) {
    heal::Reply r;
    r.outcome = o;
    r.verb = "restart";
    r.verified = verified;
    return r;
}

}  // namespace

// Rounds come due on a shared grid (interval/10, at most 100 ms): never earlier than asked,
// less than one tick later, and rounds asked for within one tick wake together.
TEST(WatchStep, RoundsComeDueOnAGridOfATenthOfTheInterval) {
    using namespace std::chrono;
    const steady_clock::time_point base(seconds(1000));
    struct Case {
        double interval_s;
        milliseconds tick;
    } cases[] = {{1, milliseconds(100)}, {60, milliseconds(100)}, {0.2, milliseconds(20)}, {0.1, milliseconds(10)}};
    for (const auto& c : cases) {
        for (auto asked : {base, base + microseconds(1), base + milliseconds(7) + microseconds(333), base + c.tick}) {
            const auto at = heal::on_tick(asked, c.interval_s);
            EXPECT_GE(at, asked) << c.interval_s;
            EXPECT_LT(at - asked, c.tick) << c.interval_s;
            EXPECT_EQ(at.time_since_epoch() % c.tick, steady_clock::duration::zero()) << c.interval_s;
        }
        EXPECT_EQ(heal::on_tick(base + microseconds(1), c.interval_s), heal::on_tick(base + c.tick, c.interval_s))
            << "one wake-up for the rounds of one tick";
    }
}

TEST(WatchStep, HealsOnlyAfterHealAfterFailuresInARow) {
    heal::WatchCount c;
    EXPECT_EQ(heal::watch_step(c, false, 3), heal::WatchAction::nothing);
    EXPECT_EQ(heal::watch_step(c, false, 3), heal::WatchAction::nothing);
    EXPECT_EQ(heal::watch_step(c, true, 3), heal::WatchAction::nothing) << "an OK run resets the count";
    EXPECT_EQ(c.failures, 0u);
    EXPECT_EQ(heal::watch_step(c, false, 3), heal::WatchAction::nothing);
    EXPECT_EQ(heal::watch_step(c, false, 3), heal::WatchAction::nothing);
    EXPECT_EQ(heal::watch_step(c, false, 3), heal::WatchAction::heal);
    EXPECT_EQ(heal::watch_step(c, false, 3), heal::WatchAction::heal) << "still failing (held): heal when it may";
    EXPECT_EQ(c.failures, 3u) << "the count stops at heal_after";
    heal::WatchCount one;
    EXPECT_EQ(heal::watch_step(one, false, 1), heal::WatchAction::heal);
}

TEST(WatchStep, AHealIsHealedOnlyWhenSeenOkAndACrashLoopIsCritical) {
    heal::WatchCount c;
    std::string why;
    EXPECT_EQ(heal::healed_state(c, heal_reply(heal::Outcome::ok, true), why), 0) << "verify saw it healthy";
    EXPECT_EQ(why, "");
    EXPECT_EQ(heal::watch_step(c, true, 2), heal::WatchAction::nothing) << "nothing was reported as a problem";
    EXPECT_EQ(heal::healed_state(c, heal_reply(heal::Outcome::ok), why), 1) << "ran, not yet seen healthy";
    EXPECT_EQ(heal::watch_step(c, false, 2), heal::WatchAction::nothing);
    EXPECT_EQ(heal::watch_step(c, false, 2), heal::WatchAction::heal);
    EXPECT_EQ(heal::healed_state(c, heal_reply(heal::Outcome::ok), why), 2) << "never seen OK since the last one";
    EXPECT_EQ(why, "; not seen healthy since the previous restart (2 in a row)");
    EXPECT_EQ(heal::healed_state(c, heal_reply(heal::Outcome::ok), why), 2);
    EXPECT_EQ(why, "; not seen healthy since the previous restart (3 in a row)");
    EXPECT_EQ(heal::watch_step(c, true, 2), heal::WatchAction::report_recovery) << "the monitoring hears it is over";
    EXPECT_EQ(heal::watch_step(c, true, 2), heal::WatchAction::nothing) << "once";
    EXPECT_EQ(heal::healed_state(c, heal_reply(heal::Outcome::ok), why), 1) << "seen OK in between: no loop";
    heal::Reply refused = heal_reply(heal::Outcome::refused);
    refused.reason = heal::Reason::budget_exhausted;
    EXPECT_EQ(heal::healed_state(c, refused, why), 2);
    EXPECT_EQ(heal::healed_state(c, heal_reply(heal::Outcome::ok, false), why), 2) << "still failing after verify";
}
