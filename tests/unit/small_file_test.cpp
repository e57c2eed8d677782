// The one reader for secrets and small files: a FIFO, a folder or a huge file at the path is
// refused at once, in words, by every program that reads one (the receiver's token, the Icinga 2
// password, nagios.cfg and the status file it names, every INI file).
#include "common/ini_file.hpp"
#include "handler/nagios_cfg.hpp"
#include "common/small_file.hpp"
#include "handler/status_file.hpp"
#include "receiver/webhook_server.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

class SmallFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/heal-small-file.XXXXXX";
        dir_ = mkdtemp(tmpl);
        fifo_ = dir_ + "/fifo";
        ASSERT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
        huge_ = dir_ + "/huge";
        std::ofstream(huge_) << "0123456789abcdef-a-token\n";
        fs::resize_file(huge_, 3ull << 30);  // 3 GB, sparse: nothing is written
        started_ = std::chrono::steady_clock::now();
    }
    void TearDown() override {
        EXPECT_LT(std::chrono::steady_clock::now() - started_, std::chrono::seconds(2)) << "something waited";
        fs::remove_all(dir_);
    }
    std::string dir_, fifo_, huge_;
    std::chrono::steady_clock::time_point started_;
};

TEST_F(SmallFile, AFifoAFolderAndAHugeFileAreRefusedAtOnce) {
    std::string text;
    EXPECT_EQ(heal::read_small_file(fifo_, 4096, text), "is not a regular file (a FIFO)");
    EXPECT_EQ(heal::read_small_file(dir_, 4096, text), "is not a regular file (a folder)");
    EXPECT_EQ(heal::read_small_file(huge_, 4096, text), "is larger than 4096 bytes");
    EXPECT_TRUE(text.empty());
    EXPECT_EQ(heal::read_small_file(dir_ + "/none", 4096, text), "No such file or directory");
    std::ofstream(dir_ + "/crlf") << "first line\r\nsecond\n";
    std::string line;
    EXPECT_EQ(heal::read_first_line(dir_ + "/crlf", 4096, line), "");
    EXPECT_EQ(line, "first line");
}

TEST_F(SmallFile, EveryProgramReadsItsFilesThroughIt) {
    for (const auto& bad : {fifo_, huge_}) {
        EXPECT_THROW(heal::receiver::read_token(bad), std::runtime_error) << bad;
        EXPECT_THROW(heal::parse_ini_file(bad, [](std::string_view, std::string_view, std::string_view) { return std::string(); }),
                     heal::ConfigError)
            << bad;
        auto located = heal::nagios::locate(bad, true);
        EXPECT_NE(located.error.find("cannot read Nagios' configuration '" + bad + "'"), std::string::npos)
            << located.error;
        EXPECT_THROW(heal::nagios::read_status_file(bad, {}, {}), heal::nagios::StatusError) << bad;
    }
    try {
        heal::receiver::read_token(fifo_);
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("is not a regular file (a FIFO)"), std::string::npos) << e.what();
    }
}

}  // namespace
