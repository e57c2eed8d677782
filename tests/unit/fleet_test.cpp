// The fleet guard's parts: Nagios' status.dat and objects.cache as nagios4 writes them (and as
// nobody should), its limits, and the event handler's store under concurrent handlers.
#include "handler/event_handler.hpp"
#include "fleet/guard.hpp"
#include "fleet/sqlite_store.hpp"
#include "handler/nagios_group.hpp"
#include "handler/nagios_command.hpp"
#include "handler/status_file.hpp"
#include "handler/view_cache.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace heal;
using nagios::ServiceState;

namespace {

std::string fixture(const std::string& name) {
    const char* src = std::getenv("HEAL_SRC");
    return std::string(src ? src : ".") + "/tests/fixtures/nagios4/" + name;
}

nagios::StatusData read(const std::string& text, const nagios::Limits& limits = {}) {
    std::istringstream in(text);
    return nagios::read_status(in, [](const std::string&, const std::string&) { return true; }, limits);
}

std::string error_of(const std::string& text, const nagios::Limits& limits = {}) {
    try {
        read(text, limits);
    } catch (const nagios::StatusError& e) {
        return e.what();
    }
    return "";
}

const char* info = "info {\n\tcreated=1795335634\n\tversion=4.4.6\n\t}\n\n";

std::string service(const std::string& host, const std::string& desc, int state, int checked = 1) {
    return "servicestatus {\n\thost_name=" + host + "\n\tservice_description=" + desc +
           "\n\thas_been_checked=" + std::to_string(checked) + "\n\tcurrent_state=" +
           std::to_string(state) + "\n\tplugin_output=a=b; c\n\t}\n\n";
}

class TempDir {
public:
    TempDir() {
        char t[] = "/tmp/heal-fleet-test.XXXXXX";
        path_ = ::mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace

TEST(StatusFile, ReadsWhatNagios4Wrote) {
    // Written by Debian's nagios4 4.4.6 from tests/fixtures/nagios4/objects.cfg.
    auto all = nagios::read_status_file(fixture("status.dat"),
                                        [](const std::string&, const std::string&) { return true; });
    EXPECT_EQ(all.created, 1795335634);
    ASSERT_EQ(all.services.size(), 6u);
    auto find = [&](const std::string& h, const std::string& s) {
        for (const auto& x : all.services)
            if (x.host == h && x.service == s) return x;
        ADD_FAILURE() << h << " " << s;
        return nagios::ServiceStatus{};
    };
    EXPECT_EQ(find("web2", "worker").state, ServiceState::critical);
    EXPECT_EQ(find("a_b", "worker").state, ServiceState::warning);
    EXPECT_EQ(find("web1", "odd = name").state, ServiceState::unknown);  // '=' in a name
    EXPECT_TRUE(find("web-4.example.com", "worker").checked);
    EXPECT_FALSE(find("a_b", "b_c").checked);  // PENDING
    EXPECT_EQ(find("a_b", "b_c").last_ok, 0);  // never OK
    EXPECT_EQ(find("web2", "worker").last_ok, 1795335631);  // CRITICAL now, OK 3 s before

    auto workers = nagios::read_status_file(
        fixture("status.dat"), [](const std::string&, const std::string& s) { return s == "worker"; });
    auto members = nagios::read_members_file(fixture("objects.cache"), {"worker", ""});
    auto g = nagios::group_health(members, workers, "web1", "worker", true);
    EXPECT_EQ(g.size, 4u);
    EXPECT_EQ(g.not_ok, 2u);  // web2 CRITICAL, a_b WARNING
    EXPECT_EQ(g.without_state, 0u);
}

TEST(StatusFile, ServicesOfOneDescriptionFromNagios4ObjectsCache) {
    auto m = nagios::read_members_file(fixture("objects.cache"), {"worker", ""});
    nagios::Members want{{"a_b", "worker"}, {"web-4.example.com", "worker"}, {"web1", "worker"}, {"web2", "worker"}};
    EXPECT_EQ(m, want);
    EXPECT_TRUE(nagios::read_members_file(fixture("objects.cache"), {"nonesuch", ""}).empty());
}

// A status file cut after any complete block (or holding only info and programstatus) reads
// without an error, but lacks members: the group must not shrink to those it lists.
TEST(FleetGuard, AStatusFileCutAtABlockBoundaryBlocks) {
    std::ifstream f(fixture("status.dat"));
    std::stringstream whole;
    whole << f.rdbuf();
    const std::string text = whole.str();
    auto members = nagios::read_members_file(fixture("objects.cache"), {"worker", ""});
    ASSERT_EQ(members.size(), 4u);
    int cuts = 0;
    for (auto end = text.find("\n\t}\n"); end != std::string::npos; end = text.find("\n\t}\n", end + 1)) {
        const std::string cut = text.substr(0, end + 4);
        nagios::StatusData d;
        try {
            std::istringstream in(cut);
            d = nagios::read_status(in, [](const std::string&, const std::string& s) { return s == "worker"; });
        } catch (const nagios::StatusError&) {
            continue;  // before the info block: an error, which blocks too
        }
        auto g = nagios::group_health(members, d, "web1", "worker", false);
        EXPECT_EQ(g.size, 4u) << "cut at " << end;
        std::size_t listed = 0;
        for (const auto& s : d.services) listed += s.host != "web1";
        EXPECT_EQ(g.without_state, 3u - listed) << "cut at " << end;
        ++cuts;
    }
    EXPECT_GE(cuts, 6);
    // Only info + programstatus: 3 of the 4 have no state (web1, handled, brings its own).
    auto head = read(text.substr(0, text.find("hoststatus {")));
    auto g = nagios::group_health(members, head, "web1", "worker", false);
    EXPECT_EQ(g.without_state, 3u);
    EXPECT_EQ(g.first_without_state, "'worker' on 'a_b'");
}

TEST(StatusFile, AStatusFileMustBeARegularFile) {
    TempDir dir;
    auto keep = [](const std::string&, const std::string&) { return true; };
    try {
        nagios::read_status_file(dir.path(), keep);
        ADD_FAILURE() << "a directory read as a status file";
    } catch (const nagios::StatusError& e) {
        EXPECT_NE(std::string(e.what()).find("is not a regular file"), std::string::npos) << e.what();
    }
    auto d = nagios::read_status_file(fixture("status.dat"), keep);
    EXPECT_EQ(d.bytes, std::filesystem::file_size(fixture("status.dat")));
}

TEST(StatusFile, ServiceGroupMembersFromNagios4ObjectsCache) {
    // "workers" lists web1 and a_b itself; web2 joins it with `servicegroups workers`.
    auto m = nagios::read_members_file(fixture("objects.cache"), {"worker", "workers"});
    nagios::Members want{
        {"a_b", "worker"}, {"web1", "worker"}, {"web2", "worker"}};
    EXPECT_EQ(m, want);
    try {
        nagios::read_members_file(fixture("objects.cache"), {"worker", "nonesuch"});
        ADD_FAILURE() << "no error for an undefined group";
    } catch (const nagios::StatusError& e) {
        EXPECT_NE(std::string(e.what()).find("no service group 'nonesuch' is defined"), std::string::npos)
            << e.what();
    }
}

TEST(StatusFile, HostileFilesAreErrorsThatSayWhere) {
    EXPECT_EQ(error_of(""), "status file: no info block with its created= time (not a Nagios status "
                            "file, or empty)");
    const std::string whole = std::string(info) + service("h", "web", 0);
    // Truncated anywhere inside a block: an error, never a shorter fleet.
    for (std::size_t cut = whole.find("servicestatus") + 20; cut < whole.size() - 3; cut += 7)
        EXPECT_NE(error_of(whole.substr(0, cut)), "") << "cut at " << cut;
    EXPECT_NE(error_of(whole.substr(0, whole.size() - 3)).find("is not closed (a truncated file?)"),
              std::string::npos)
        << error_of(whole.substr(0, whole.size() - 3));
    EXPECT_NE(error_of(std::string(info) + "garbage\n").find("line 6: expected the start of a block"),
              std::string::npos)
        << error_of(std::string(info) + "garbage\n");
    EXPECT_NE(error_of(std::string(info) + service("h", "web", 7)).find("current_state of 'web' on 'h' is not 0-3"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(info) + service("h", "web", 0) + service("h", "web", 2)).find("appears twice"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(info) + "servicestatus {\n\thost_name=h\n\tcurrent_state=0\n\tcurrent_state=2\n\t}\n")
                  .find("current_state twice in one block"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(info) + "servicestatus {\n\tservice_description=web\n\thas_been_checked=1\n"
                                           "\tcurrent_state=0\n\t}\n")
                  .find("without host_name"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(info) + "servicestatus {\n\thost_name=h\n\tinfo {\n\t}\n").find("expected key=value"),
              std::string::npos);
    EXPECT_NE(error_of(std::string("info {\n\tcreated=soon\n\t}\n")).find("no valid created= time"),
              std::string::npos);
    EXPECT_NE(error_of(std::string(info) + service("h", std::string("w\0b", 3), 0)).find("a NUL byte"),
              std::string::npos);
    auto with_last_ok = [](const std::string& value) {
        return std::string(info) + "servicestatus {\n\thost_name=h\n\tservice_description=web\n"
                                   "\thas_been_checked=1\n\tcurrent_state=2\n\tlast_time_ok=" + value + "\n\t}\n";
    };
    EXPECT_EQ(read(with_last_ok("1795335630")).services.at(0).last_ok, 1795335630);
    for (const char* bad : {"", "-1", "yesterday", "17953356301795335630"})
        EXPECT_NE(error_of(with_last_ok(bad)).find("last_time_ok of 'web' on 'h' is not a time"), std::string::npos)
            << "'" << bad << "': " << error_of(with_last_ok(bad));
}

TEST(StatusFile, OddCharactersInNamesAreKeptExactly) {
    const std::string odd = "wörker ;$(id) `x` \xff";
    auto d = read(std::string(info) + service("host=1", odd, 2) + service("host", "web", 0));
    ASSERT_EQ(d.services.size(), 2u);
    EXPECT_EQ(d.services[0].host, "host=1");
    EXPECT_EQ(d.services[0].service, odd);
}

TEST(StatusFile, HugeFilesAndLinesStopAtTheLimits) {
    nagios::Limits small;
    small.max_line = 100;
    small.max_bytes = 4096;
    EXPECT_NE(error_of(std::string(info) + "servicestatus {\n\tplugin_output=" + std::string(200, 'x') + "\n\t}\n", small)
                  .find("a line longer than 100 bytes"),
              std::string::npos);
    std::string many = info;
    for (int i = 0; i < 100; ++i) many += service("h" + std::to_string(i), "web", 0);
    EXPECT_NE(error_of(many, small).find("larger than 4096 bytes"), std::string::npos);
    // A line with no end at all is refused once it passes the limit, not read to the end.
    EXPECT_NE(error_of(std::string(info) + std::string(1000, 'x'), small).find("a line longer than 100 bytes"),
              std::string::npos);
    // Within the default limits, a large fleet reads whole: 20 000 services.
    std::string big = info;
    for (int i = 0; i < 20000; ++i) big += service("host" + std::to_string(i), "web", i % 5 == 0 ? 2 : 0);
    auto d = read(big);
    EXPECT_EQ(nagios::group_health({}, d, "host1", "web", false).not_ok, 4001u);
}

TEST(StatusFile, ServiceGroupHostileCache) {
    auto members = [](const std::string& text) {
        std::istringstream in(text);
        return nagios::read_members(in, {"web", "g"});
    };
    auto error = [&](const std::string& text) -> std::string {
        try {
            members(text);
        } catch (const nagios::StatusError& e) {
            return e.what();
        }
        return "";
    };
    EXPECT_TRUE(members("define servicegroup {\n\tservicegroup_name\tg\n\talias\tg\n\t}\n").empty());
    EXPECT_NE(error("define servicegroup {\n\tservicegroup_name\tg\n\tmembers\th1,s1,h2\n\t}\n")
                  .find("not a list of host,service pairs"),
              std::string::npos);
    EXPECT_NE(error("define servicegroup {\n\tservicegroup_name\tg\n").find("not closed"), std::string::npos);
    EXPECT_NE(error("define servicegroup {\n\tservicegroup_name\tg\n\tmembers\th1,,h2,s\n\t}\n").find("empty member"),
              std::string::npos);
}

TEST(FleetGuard, UnhealthyLimitIsACountOrAShareNeverBelowOne) {
    auto pct = fleet::parse_unhealthy_limit("25%");
    ASSERT_TRUE(pct);
    EXPECT_EQ(pct->allowed(4), 1u);
    EXPECT_EQ(pct->allowed(1), 1u);  // a group of one can still heal
    EXPECT_EQ(pct->allowed(10), 2u);
    EXPECT_EQ(pct->allowed(100), 25u);
    auto n = fleet::parse_unhealthy_limit("3");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->allowed(100), 3u);
    EXPECT_EQ(n->to_string(), "3");
    for (const char* bad : {"", "%", "101%", "-1", "0", "1.5", "25 %", "x%", "99999999999999999999"})
        EXPECT_FALSE(fleet::parse_unhealthy_limit(bad)) << bad;
}

TEST(FleetGuard, BudgetIsNPerWindow) {
    auto b = fleet::parse_budget("10/1h");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->limit, 10u);
    EXPECT_EQ(b->window_s, 3600);
    for (const char* bad : {"10", "/1h", "0/1h", "10/", "10/0", "x/1h", "10/1h/2", "10/soon"})
        EXPECT_FALSE(fleet::parse_budget(bad)) << bad;
}

TEST(FleetGuard, TheHandledServiceCountsAsNagiosJustSaidAndPendingIsNotOk) {
    auto d = read(std::string(info) + service("a", "web", 0) + service("b", "web", 0, 0) + service("c", "web", 2));
    auto g = nagios::group_health({}, d, "a", "web", false);  // status.dat still says a is OK
    EXPECT_EQ(g.size, 3u);
    EXPECT_EQ(g.not_ok, 3u);
    g = nagios::group_health({}, d, "new", "web", false);  // not in status.dat yet: a member all the same
    EXPECT_EQ(g.size, 4u);
    EXPECT_EQ(g.not_ok, 3u);
}

// The fleet rule alone, with the facts a transaction would have read.
TEST(FleetGuard, TheVerdictIsAPureFunctionOfTheFacts) {
    fleet::Limits l{2, 3600 * 1000, 1};
    fleet::Problem p{.host = "h", .service = "s", .decision = "restart at CRITICAL SOFT 2", .last_chance = false,
                     .now_ms = 10'000, .last_ok_ms = 5'000};
    std::string kept;
    auto v = fleet::fleet_verdict({}, p, l, kept);
    EXPECT_EQ(v.kind, fleet::Claim::Kind::heal);
    EXPECT_EQ(kept, "restart at CRITICAL SOFT 2");
    v = fleet::fleet_verdict({.earlier = "x", .earlier_ms = 6'000}, p, l, kept);
    EXPECT_EQ(v.kind, fleet::Claim::Kind::already);
    EXPECT_EQ(kept, "");
    v = fleet::fleet_verdict({.earlier = "x", .earlier_ms = 4'000}, p, l, kept);  // before the last OK
    EXPECT_EQ(v.kind, fleet::Claim::Kind::heal);
    EXPECT_EQ(v.forgotten, "x");
    v = fleet::fleet_verdict({.heals_in_window = 2}, p, l, kept);
    EXPECT_EQ(v.kind, fleet::Claim::Kind::budget);
    EXPECT_EQ(kept, "paged: the fleet budget was spent");
    v = fleet::fleet_verdict({.earlier = "x", .earlier_ms = 4'000, .in_flight = 1}, p, l, kept);
    EXPECT_EQ(v.kind, fleet::Claim::Kind::waiting);
    EXPECT_EQ(v.forgotten, "") << "a wait drops nothing";
    EXPECT_EQ(kept, "");
    p.last_chance = true;
    EXPECT_EQ(fleet::fleet_verdict({.in_flight = 1}, p, l, kept).kind, fleet::Claim::Kind::concurrency);
    p.blocked_by = "widespread failure";
    EXPECT_EQ(fleet::fleet_verdict({.heals_in_window = 9}, p, l, kept).kind, fleet::Claim::Kind::blocked);
    EXPECT_EQ(kept, "paged: widespread failure");
    p.blocked_by.reset();
    p.dry_run = true;
    EXPECT_EQ(fleet::fleet_verdict({}, p, l, kept).kind, fleet::Claim::Kind::dry_run);
    EXPECT_EQ(kept, "dry run: restart at CRITICAL SOFT 2");
}

TEST(NagiosCommand, FieldsCannotSplitOrBreakTheCommand) {
    EXPECT_EQ(nagios::command_field("a;b\nc\x1b[2J"), "a,b?c?[2J");
    EXPECT_LE(nagios::command_field(std::string(5000, 'x')).size(), 1003u);
}

// The group read once and kept (summarize, entry_of, health) gives what counting every member
// for the event gives: an independent count over random groups, every member handled in turn,
// with and without states, OK or not.
TEST(FleetGuard, SummaryAndEntryGiveTheSameHealthAsCountingEveryMember) {
    std::srand(7);
    for (int round = 0; round < 200; ++round) {
        nagios::Members members;
        nagios::StatusData status;
        const int n = 1 + std::rand() % 6;
        for (int i = 0; i < n; ++i) {
            const std::pair<std::string, std::string> m{"h" + std::to_string(i), "web"};
            if (std::rand() % 4 != 0) members.push_back(m);  // objects.cache may miss one
            if (std::rand() % 3 != 0) {                       // status.dat may miss one
                nagios::ServiceStatus s;
                s.host = m.first;
                s.service = m.second;
                s.state = static_cast<ServiceState>(std::rand() % 4);
                s.checked = std::rand() % 5 != 0;
                s.last_ok = std::rand() % 1000;
                status.services.push_back(s);
            }
        }
        std::sort(members.begin(), members.end());
        const auto read = nagios::entries(members, status);
        const auto summary = fleet::summarize(read);
        for (int i = 0; i <= n; ++i) {  // i == n: a service the files do not know
            const std::string host = "h" + std::to_string(i);
            for (bool ok : {false, true}) {
                // The oracle: every member but the handled one by what was read, the handled one by the event.
                std::set<std::string> all{host};
                for (const auto& m : members) all.insert(m.first);
                for (const auto& s : status.services) all.insert(s.host);
                std::size_t not_ok = ok ? 0 : 1, without = 0;
                for (const auto& h : all) {
                    if (h == host) continue;
                    const nagios::ServiceStatus* st = nullptr;
                    for (const auto& s : status.services)
                        if (s.host == h) st = &s;
                    if (!st) ++without;
                    else if (!st->checked || st->state != ServiceState::ok) ++not_ok;
                }
                const auto g = fleet::health(summary, fleet::entry_of(read, host, "web"), host, "web", ok);
                ASSERT_EQ(g.size, all.size()) << round << " " << host;
                ASSERT_EQ(g.not_ok, not_ok) << round << " " << host;
                ASSERT_EQ(g.without_state, without) << round << " " << host;
                if (without > 0) {
                    ASSERT_EQ(g.first_without_state.find("'web' on '" + host + "'"), std::string::npos);
                }
                const auto direct = nagios::group_health(members, status, host, "web", ok);
                ASSERT_EQ(direct.not_ok, g.not_ok);
                ASSERT_EQ(direct.first_without_state, g.first_without_state);
            }
        }
    }
}

// The view cache keeps a generation's summary and entries and gives back exactly those; a key it
// does not have, or a damaged file, is a miss (with a warning), never an error.
TEST(ViewCache, KeepsOneGenerationAndMissesSafely) {
    char tmpl[] = "/tmp/heal-view-cache-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    nagios::Members members{{"h1", "web"}, {"h2", "web"}, {"h3", "web"}};
    nagios::StatusData status;
    status.created = 1796222000;
    status.services.push_back({.host = "h1", .service = "web", .state = ServiceState::critical, .checked = true, .last_ok = 5});
    status.services.push_back({.host = "h2", .service = "web", .state = ServiceState::ok, .checked = true, .last_ok = 9});
    handler::ViewCache cache(dir);
    EXPECT_FALSE(cache.find("gen1\nk", "h1", "web"));
    const auto all = nagios::entries(members, status);
    cache.keep("gen1", "gen1\nk", status.created, fleet::summarize(all), all);
    EXPECT_EQ(cache.warning, "");
    for (const char* host : {"h1", "h2", "h3", "h9"}) {
        const auto c = cache.find("gen1\nk", host, "web");
        ASSERT_TRUE(c) << cache.warning;
        EXPECT_EQ(c->created, 1796222000);
        const auto want = fleet::entry_of(all, host, "web");
        EXPECT_EQ(c->handled.in_group, want.in_group) << host;
        EXPECT_EQ(c->handled.has_state, want.has_state) << host;
        EXPECT_EQ(c->handled.not_ok, want.not_ok) << host;
        EXPECT_EQ(c->handled.last_ok, want.last_ok) << host;
        const auto a = fleet::health(c->summary, c->handled, host, "web", false);
        const auto b = nagios::group_health(members, status, host, "web", false);
        EXPECT_EQ(a.size, b.size);
        EXPECT_EQ(a.not_ok, b.not_ok);
        EXPECT_EQ(a.without_state, b.without_state);
        EXPECT_EQ(a.first_without_state, b.first_without_state);
    }
    cache.keep("gen2", "gen2\nk", status.created, fleet::summarize(all), all);  // a new generation drops the old one
    EXPECT_FALSE(cache.find("gen1\nk", "h1", "web"));
    EXPECT_TRUE(cache.find("gen2\nk", "h1", "web"));
    std::ofstream(dir + "/nagios-view.db", std::ios::trunc) << "not a database, not even close";
    handler::ViewCache damaged(dir);
    EXPECT_FALSE(damaged.find("gen2\nk", "h1", "web"));
    EXPECT_NE(damaged.warning.find("cannot be read"), std::string::npos) << damaged.warning;
    std::filesystem::remove_all(dir);
}

// Human holds: what status.dat says of downtimes and acknowledgements, who and why, through the
// view cache, and the words human_hold() makes of them.
TEST(StatusFile, DowntimesAcknowledgementsAndTheirNotes) {
    const std::string text =
        "info {\n\tcreated=1796222000\n}\n"
        "hoststatus {\n\thost_name=web1\n\tscheduled_downtime_depth=1\n}\n"
        "hoststatus {\n\thost_name=web2\n\tscheduled_downtime_depth=0\n}\n"
        "servicestatus {\n\thost_name=web1\n\tservice_description=worker\n\tcurrent_state=2\n\thas_been_checked=1\n"
        "\tproblem_has_been_acknowledged=1\n\tscheduled_downtime_depth=2\n}\n"
        "servicestatus {\n\thost_name=web2\n\tservice_description=worker\n\tcurrent_state=0\n\thas_been_checked=1\n}\n"
        "servicecomment {\n\thost_name=web1\n\tservice_description=worker\n\tentry_type=1\n\tauthor=bob\n"
        "\tcomment_data=just a note\n}\n"
        "servicecomment {\n\thost_name=web1\n\tservice_description=worker\n\tentry_type=4\n\tauthor=ops\n"
        "\tcomment_data=replacing the disk\n}\n"
        "servicedowntime {\n\thost_name=web1\n\tservice_description=worker\n\tauthor=ops\n\tcomment=disk swap\n}\n"
        "hostdowntime {\n\thost_name=web1\n\tauthor=dc\n\tcomment=rack move\n}\n";
    const auto d = read(text);
    ASSERT_EQ(d.services.size(), 2u);
    EXPECT_TRUE(d.services[0].acknowledged);
    EXPECT_EQ(d.services[0].downtime_depth, 2u);
    EXPECT_FALSE(d.services[1].acknowledged) << "absent: none";
    EXPECT_EQ(d.host_downtime.size(), 1u) << "only hosts in a downtime";
    const nagios::Members members{{"web1", "worker"}, {"web2", "worker"}};
    const auto all = nagios::entries(members, d);
    const auto e = fleet::entry_of(all, "web1", "worker");
    EXPECT_EQ(e.host_downtime_depth, 1u);
    EXPECT_EQ(e.downtime_note, "ops: disk swap");
    EXPECT_EQ(e.host_downtime_note, "dc: rack move");
    EXPECT_EQ(e.ack_note, "ops: replacing the disk") << "a plain comment is not an acknowledgement";
    EXPECT_EQ(fleet::entry_of(all, "web2", "worker").host_downtime_note, "");

    // Through the view cache, as another handler of the same generation reads it.
    TempDir dir;
    handler::ViewCache cache(dir.path());
    cache.keep("g", "g\nk", d.created, fleet::summarize(all), all);
    const auto c = cache.find("g\nk", "web1", "worker");
    ASSERT_TRUE(c) << cache.warning;
    EXPECT_TRUE(c->handled.acknowledged);
    EXPECT_EQ(c->handled.downtime_depth, 2u);
    EXPECT_EQ(c->handled.ack_note, "ops: replacing the disk");

    // The words, and the options that turn each hold off.
    handler::Options o;
    fleet::FleetView v;
    v.human = e;
    EXPECT_EQ(handler::human_hold(o, v, "web1", "worker"), "worker on web1 is in scheduled downtime (ops: disk swap)");
    o.service_downtime = 0;  // the live macro wins over status.dat
    EXPECT_EQ(handler::human_hold(o, v, "web1", "worker"), "host web1 is in scheduled downtime (dc: rack move)");
    o.host_downtime = 0;
    EXPECT_EQ(handler::human_hold(o, v, "web1", "worker"),
              "the problem of worker on web1 is acknowledged (ops: replacing the disk)");
    o.heal_acknowledged = true;
    EXPECT_EQ(handler::human_hold(o, v, "web1", "worker"), std::nullopt);
    o.service_downtime = 1;
    EXPECT_NE(handler::human_hold(o, v, "web1", "worker"), std::nullopt);
    o.heal_in_downtime = true;
    EXPECT_EQ(handler::human_hold(o, v, "web1", "worker"), std::nullopt);

    // Hostile values are errors that say where.
    EXPECT_NE(error_of("info {\n\tcreated=1\n}\nservicestatus {\n\thost_name=a\n\tservice_description=b\n\tcurrent_state=0\n"
                       "\thas_been_checked=1\n\tproblem_has_been_acknowledged=2\n}\n")
                  .find("problem_has_been_acknowledged of 'b' on 'a' is not 0 or 1"),
              std::string::npos);
    EXPECT_NE(error_of("info {\n\tcreated=1\n}\nhoststatus {\n\thost_name=a\n\tscheduled_downtime_depth=-1\n}\n")
                  .find("scheduled_downtime_depth of host 'a' is not a count"),
              std::string::npos);
}

