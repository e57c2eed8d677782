#include "common/address.hpp"

#include <gtest/gtest.h>

using namespace heal;
namespace ip = boost::asio::ip;

namespace {
Allowlist list(const char* text) {
    std::string err;
    auto l = Allowlist::parse(text, err);
    EXPECT_TRUE(l) << text << ": " << err;
    return l ? *l : *Allowlist::parse("127.0.0.1", err);
}
bool allows(const Allowlist& l, const char* addr) { return l.allows(ip::make_address(addr)); }
std::string cidr_error(const char* text) {
    std::string err;
    auto c = parse_cidr(text, err);
    return c ? "" : err;
}
}  // namespace

TEST(Allowlist, SingleIPv4AddressMatchesOnlyItself) {
    auto l = list("127.0.0.1");
    EXPECT_TRUE(allows(l, "127.0.0.1"));
    EXPECT_FALSE(allows(l, "127.0.0.2"));
    EXPECT_FALSE(allows(l, "::1"));
}

TEST(Allowlist, IPv4CidrEdges) {
    auto l = list("10.0.0.0/8, 192.168.1.0/31");
    EXPECT_TRUE(allows(l, "10.0.0.0"));
    EXPECT_TRUE(allows(l, "10.255.255.255"));
    EXPECT_FALSE(allows(l, "11.0.0.0"));
    EXPECT_FALSE(allows(l, "9.255.255.255"));
    EXPECT_TRUE(allows(l, "192.168.1.0"));
    EXPECT_TRUE(allows(l, "192.168.1.1"));
    EXPECT_FALSE(allows(l, "192.168.1.2"));
}

TEST(Allowlist, OddPrefixLengthsMaskPartialBytes) {
    auto l = list("172.16.0.0/12");
    EXPECT_TRUE(allows(l, "172.31.255.255"));
    EXPECT_FALSE(allows(l, "172.32.0.0"));
    EXPECT_FALSE(allows(l, "172.15.255.255"));
}

TEST(Allowlist, ZeroPrefixIPv4MatchesAllIPv4ButNotIPv6) {
    auto l = list("0.0.0.0/0");
    EXPECT_TRUE(allows(l, "1.2.3.4"));
    EXPECT_TRUE(allows(l, "::ffff:1.2.3.4"));
    EXPECT_FALSE(allows(l, "2001:db8::1"));
}

TEST(Allowlist, IPv6AndCidr) {
    auto l = list("::1, 2001:db8::/32, fe80::/127");
    EXPECT_TRUE(allows(l, "::1"));
    EXPECT_FALSE(allows(l, "::2"));
    EXPECT_TRUE(allows(l, "2001:db8:ffff::1"));
    EXPECT_FALSE(allows(l, "2001:db9::1"));
    EXPECT_TRUE(allows(l, "fe80::1"));
    EXPECT_FALSE(allows(l, "fe80::2"));
}

TEST(Allowlist, IPv4MappedPeersMatchIPv4Rules) {
    auto l = list("127.0.0.1, 10.1.0.0/16");
    EXPECT_TRUE(allows(l, "::ffff:127.0.0.1"));
    EXPECT_TRUE(allows(l, "::ffff:10.1.200.3"));
    EXPECT_FALSE(allows(l, "::ffff:10.2.0.1"));
    EXPECT_FALSE(allows(l, "::ffff:127.0.0.2"));
}

TEST(Allowlist, MappedRuleMatchesPlainIPv4Peer) {
    auto l = list("::ffff:192.0.2.0/120");
    EXPECT_TRUE(allows(l, "192.0.2.77"));
    EXPECT_FALSE(allows(l, "192.0.3.1"));
}

TEST(Allowlist, RejectsBadEntries) {
    std::string err;
    EXPECT_FALSE(Allowlist::parse("", err));
    EXPECT_FALSE(Allowlist::parse("127.0.0.1,,::1", err));
    EXPECT_EQ(err, "empty entry in list");
    EXPECT_NE(cidr_error("localhost"), "");
    EXPECT_NE(cidr_error("10.0.0.0/33"), "");
    EXPECT_NE(cidr_error("::/129"), "");
    EXPECT_NE(cidr_error("10.0.0.0/-1"), "");
    EXPECT_NE(cidr_error("10.0.0.0/"), "");
    EXPECT_NE(cidr_error("10.0.0.0/8x"), "");
    EXPECT_NE(cidr_error("fe80::1%eth0"), "");
    EXPECT_NE(cidr_error("1.2.3"), "");
    EXPECT_NE(cidr_error(std::string(5000, '1').c_str()), "");
    EXPECT_EQ(cidr_error("10.1.2.3/8"), "'10.1.2.3/8' has host bits set below the prefix");
    EXPECT_EQ(cidr_error("10.0.0.0/8"), "");
}

TEST(Endpoint, ParsesIPv4IPv6AndDefaultPort) {
    std::string err;
    auto a = parse_endpoint("127.0.0.1:5669", 1, err);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->port(), 5669);
    auto b = parse_endpoint(" [::1]:80 ", 1, err);
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->address().is_v6());
    EXPECT_EQ(b->port(), 80);
    auto c = parse_endpoint("10.0.0.1", 5669, err);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->port(), 5669);
    auto d = parse_endpoint("[::]", 5669, err);
    ASSERT_TRUE(d);
    EXPECT_EQ(endpoint_text(*d), "[::]:5669");
    auto zero = parse_endpoint("127.0.0.1:0", 5669, err, /*allow_zero=*/true);
    ASSERT_TRUE(zero) << err;
    EXPECT_EQ(zero->port(), 0);
}

TEST(Endpoint, RejectsHostileText) {
    std::string err;
    for (const char* bad : {"", "::1:5669", "[::1", "[::1]5669", "[::1]:", "127.0.0.1:",
                            "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "example.com:80",
                            "[127.0.0.1]:80", "1.2.3.4:80:90", "127.0.0.1:80 x", "127.0.0.1 :80"}) {
        EXPECT_FALSE(parse_endpoint(bad, 5669, err)) << "accepted '" << bad << "'";
        EXPECT_FALSE(err.empty());
    }
}

TEST(Endpoint, TextOfMappedAddressIsPlainIPv4) {
    ip::tcp::endpoint ep(ip::make_address("::ffff:10.0.0.5"), 40112);
    EXPECT_EQ(endpoint_text(ep), "10.0.0.5:40112");
}

TEST(Cidr, WideMeansWiderThanAnIpv4Slash8OrAnIpv6Slash32) {
    std::string err;
    for (const char* wide : {"0.0.0.0/0", "10.0.0.0/7", "::/0", "2001::/31", "::ffff:0:0/96"})
        EXPECT_TRUE(parse_cidr(wide, err)->wide()) << wide;
    for (const char* narrow : {"10.0.0.0/8", "127.0.0.1", "2001:db8::/32", "::1", "fd00::/48"})
        EXPECT_FALSE(parse_cidr(narrow, err)->wide()) << narrow;
}
