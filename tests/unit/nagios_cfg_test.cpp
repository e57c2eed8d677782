// Where Nagios' files are, read from nagios.cfg as Debian's nagios4 ships it (and as nobody
// should write it).
#include "handler/nagios_cfg.hpp"
#include "handler/status_file.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace heal;

namespace {

std::string fixture(const std::string& name) {
    const char* src = std::getenv("HEAL_SRC");
    return std::string(src ? src : ".") + "/tests/fixtures/nagios4/" + name;
}

nagios::Paths read(const std::string& text) {
    std::istringstream in(text);
    return nagios::read_nagios_cfg(in, "n.cfg");
}

std::string error_of(const std::string& text) {
    try {
        read(text);
    } catch (const nagios::StatusError& e) {
        return e.what();
    }
    return "";
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/heal-nagios-cfg-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

// Debian 12's /etc/nagios4/nagios.cfg, as nagios4-common ships it (a copy in tests/fixtures).
TEST(NagiosCfg, DebiansNagiosCfgNamesItsFiles) {
    const auto where = nagios::locate(fixture("nagios.cfg"), true);
    ASSERT_EQ(where.error, "");
    EXPECT_EQ(where.paths.status_file, "/var/lib/nagios4/status.dat");
    EXPECT_EQ(where.paths.objects_file, "/var/lib/nagios4/objects.cache");
    EXPECT_EQ(where.paths.command_file, "/var/lib/nagios4/rw/nagios.cmd");
    // ... which are also the defaults without a nagios.cfg: they cannot drift apart.
    const nagios::Paths debian;
    EXPECT_EQ(debian.status_file, where.paths.status_file);
    EXPECT_EQ(debian.objects_file, where.paths.objects_file);
    EXPECT_EQ(debian.command_file, where.paths.command_file);
}

// The machine's own nagios.cfg, where Debian's nagios4 is installed: the default path is right.
TEST(NagiosCfg, TheInstalledNagiosCfgIsReadable) {
    if (!std::filesystem::exists(nagios::debian_nagios_cfg)) GTEST_SKIP() << "nagios4 is not installed";
    const auto where = nagios::locate(nagios::debian_nagios_cfg, false);
    EXPECT_EQ(where.error, "");
    EXPECT_EQ(where.source, nagios::debian_nagios_cfg);
    EXPECT_EQ(where.paths.status_file.front(), '/');
}

TEST(NagiosCfg, ReadAsNagiosReadsIt) {
    const auto p = read("# comment\n; also a comment\n\n  status_file = /s/status.dat  \r\n"
                        "cfg_dir=/etc/nagios4/conf.d\ncfg_file=/x.cfg\ninclude_file=/y\nresource_file=/r\n"
                        "object_cache_file=/o1\nobject_cache_file=/o2\nunknown_key=anything at all\n");
    EXPECT_EQ(p.status_file, "/s/status.dat");
    EXPECT_EQ(p.objects_file, "/o2");  // a later key wins, as in Nagios
    EXPECT_EQ(p.command_file, "/var/lib/nagios4/rw/nagios.cmd");  // not set: Debian's default
    EXPECT_EQ(read("command_file=/a=b\n").command_file, "/a=b");  // the first '=' splits
    EXPECT_EQ(read("").status_file, "/var/lib/nagios4/status.dat");
    EXPECT_EQ(read("status_file=/no/newline/at/end").status_file, "/no/newline/at/end");
}

TEST(NagiosCfg, HostileFilesAreErrorsThatSayWhere) {
    EXPECT_EQ(error_of("# ok\nthis is not a setting\n"), "n.cfg:2: expected key=value, got 'this is not a setting'");
    EXPECT_EQ(error_of("status_file=\n"), "n.cfg:1: status_file must be an absolute path, got ''");
    EXPECT_EQ(error_of("command_file=rw/nagios.cmd\n"), "n.cfg:1: command_file must be an absolute path, got 'rw/nagios.cmd'");
    EXPECT_EQ(error_of(std::string("status_file=/a\0b\n", 15)), "n.cfg:1: a NUL byte: not a Nagios configuration file");
    EXPECT_EQ(error_of(std::string(70000, 'x')), "n.cfg:1: a line longer than 65536 bytes");
    std::string big;
    while (big.size() < 5 * 1024 * 1024) big += "# " + std::string(1000, 'c') + "\n";
    EXPECT_NE(error_of(big).find("the file is larger than 4194304 bytes"), std::string::npos);
    EXPECT_NE(error_of("object_cache_file=\x1b[2J\n").find("must be an absolute path, got '?[2J'"), std::string::npos)
        << error_of("object_cache_file=\x1b[2J\n");
}

TEST(NagiosCfg, AMissingDefaultMeansDebiansPathsAnyOtherFailureIsAnError) {
    TempDir t;
    const std::string missing = (t.path / "nagios.cfg").string();
    auto where = nagios::locate(missing, false);  // not named by the user: defaults
    EXPECT_EQ(where.error, "");
    EXPECT_NE(where.source.find("Debian's nagios4 defaults (" + missing + " does not exist)"), std::string::npos);
    EXPECT_EQ(where.paths.status_file, "/var/lib/nagios4/status.dat");
    where = nagios::locate(missing, true);  // named: an error that names it
    EXPECT_EQ(where.error, "cannot read Nagios' configuration '" + missing + "': No such file or directory");
    where = nagios::locate(t.path.string(), false);
    EXPECT_EQ(where.error, "cannot read Nagios' configuration '" + t.path.string() + "': is not a regular file (a folder)");
    std::ofstream(missing) << "status_file=/elsewhere/status.dat\nbroken\n";
    where = nagios::locate(missing, false);
    EXPECT_EQ(where.error, missing + ":2: expected key=value, got 'broken'");
    if (::geteuid() == 0) return;  // root reads any file
    std::filesystem::permissions(missing, std::filesystem::perms::none);
    EXPECT_NE(nagios::locate(missing, false).error.find("Permission denied"), std::string::npos);
}
