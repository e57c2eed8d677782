// Address parsing and the IP allowlist. No DNS anywhere in here: only literal addresses.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heal {

namespace asio = boost::asio;

/// IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes plain IPv4; everything else is unchanged.
asio::ip::address unmap(const asio::ip::address& a);

/// "[::1]:5669" or "[::1]:5669" style text for logs and the audit trail.
std::string endpoint_text(const asio::ip::tcp::endpoint& ep);

/// Parses "127.0.0.1:5669", "[::1]:5669", "127.0.0.1" or "[::1]" (default_port then). Port 0
/// (the kernel picks a free one when bound) only with `allow_zero`.
std::optional<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text,
                                                      unsigned short default_port,
                                                      std::string& error,
                                                      bool allow_zero = false);

/// One allowlist entry: an address block, stored as IPv6 (IPv4 as ::ffff:0:0/96 + prefix).
struct Cidr {
    std::array<unsigned char, 16> net{};
    unsigned prefix = 128;
    std::string text;  ///< as written
    bool contains(const std::array<unsigned char, 16>& addr) const;
    /// Wider than an IPv4 /8 or an IPv6 /32: a block that lets in much of the Internet.
    bool wide() const;
};

/// Parses "10.0.0.0/8", "::1", "2001:db8::/32". Host bits set below the prefix are an error,
/// because "10.1.2.3/8" is almost always a typo for something narrower.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& error);

class Allowlist {
public:
    /// Comma-separated list of parse_cidr entries; must not be empty.
    static std::optional<Allowlist> parse(std::string_view text, std::string& error);

    /// IPv4-mapped IPv6 peers match IPv4 rules (xinetd with flags = IPv6 hands us those).
    bool allows(const asio::ip::address& peer) const;

    std::size_t size() const { return entries_.size(); }
    const std::vector<Cidr>& entries() const { return entries_; }

private:
    std::vector<Cidr> entries_;
};

}  // namespace heal
