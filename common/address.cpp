#include "common/address.hpp"

#include "common/text.hpp"

#include <algorithm>

namespace heal {

namespace {

std::array<unsigned char, 16> as_v6_bytes(const asio::ip::address& a) {
    if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
    return a.to_v6().to_bytes();
}

// Literal address only: make_address would accept scope ids ("fe80::1%eth0"), which we refuse.
std::optional<asio::ip::address> parse_literal(std::string_view text) {
    if (text.empty() || text.find('%') != std::string_view::npos) return std::nullopt;
    boost::system::error_code ec;
    auto a = asio::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    return a;
}

}  // namespace

asio::ip::address unmap(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& ep) {
    auto a = unmap(ep.address());
    if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(ep.port());
    return a.to_string() + ":" + std::to_string(ep.port());
}

std::optional<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text,
                                                      unsigned short default_port,
                                                      std::string& error, bool allow_zero) {
    text = trim(text);
    std::string_view host = text, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) {
            error = "missing ']' in '" + printable(text) + "'";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                error = "expected ':PORT' after ']' in '" + printable(text) + "'";
                return std::nullopt;
            }
            port = rest.substr(1);
            if (port.empty()) {
                error = "empty port in '" + printable(text) + "'";
                return std::nullopt;
            }
        }
        auto a = parse_literal(host);
        if (!a || !a->is_v6()) {
            error = "'" + printable(host) + "' is not an IPv6 address";
            return std::nullopt;
        }
    } else {
        auto colon = text.find(':');
        if (colon != std::string_view::npos) {
            if (text.find(':', colon + 1) != std::string_view::npos) {
                error = "IPv6 addresses need brackets: '[" + printable(text) + "]:PORT'";
                return std::nullopt;
            }
            host = text.substr(0, colon);
            port = text.substr(colon + 1);
            if (port.empty()) {
                error = "empty port in '" + printable(text) + "'";
                return std::nullopt;
            }
        }
    }
    auto addr = parse_literal(host);
    if (!addr) {
        error = "'" + printable(host) + "' is not an IP address (host names are not accepted)";
        return std::nullopt;
    }
    unsigned long long p = default_port;
    if (!port.empty() && !parse_uint(port, allow_zero ? 0 : 1, 65535, p)) {
        error = "'" + printable(port) + "' is not a port number (" + (allow_zero ? "0" : "1") + "-65535)";
        return std::nullopt;
    }
    return asio::ip::tcp::endpoint(*addr, static_cast<unsigned short>(p));
}

bool Cidr::contains(const std::array<unsigned char, 16>& addr) const {
    unsigned full = prefix / 8, rest = prefix % 8;
    for (unsigned i = 0; i < full; ++i)
        if (addr[i] != net[i]) return false;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (addr[full] & mask) == (net[full] & mask);
}

bool Cidr::wide() const {
    static constexpr std::array<unsigned char, 12> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool v4 = prefix >= 96 && std::equal(mapped.begin(), mapped.end(), net.begin());
    return v4 ? prefix - 96 < 8 : prefix < 32;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string& error) {
    text = trim(text);
    auto slash = text.find('/');
    auto addr = parse_literal(text.substr(0, slash));
    if (!addr) {
        error = "'" + printable(text.substr(0, slash)) + "' is not an IP address";
        return std::nullopt;
    }
    unsigned max_prefix = addr->is_v4() ? 32 : 128;
    unsigned long long prefix = max_prefix;
    if (slash != std::string_view::npos &&
        !parse_uint(text.substr(slash + 1), 0, max_prefix, prefix)) {
        error = "'" + printable(text.substr(slash + 1)) + "' is not a prefix length (0-" +
                std::to_string(max_prefix) + ")";
        return std::nullopt;
    }
    Cidr c;
    c.text = std::string(text);
    c.net = as_v6_bytes(*addr);
    c.prefix = static_cast<unsigned>(prefix) + (addr->is_v4() ? 96 : 0);
    Cidr masked = c;
    for (unsigned bit = c.prefix; bit < 128; ++bit)
        masked.net[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
    if (masked.net != c.net) {
        error = "'" + printable(text) + "' has host bits set below the prefix";
        return std::nullopt;
    }
    return c;
}

std::optional<Allowlist> Allowlist::parse(std::string_view text, std::string& error) {
    Allowlist list;
    for (const auto& item : split_list(text)) {
        if (item.empty()) {
            error = "empty entry in list";
            return std::nullopt;
        }
        auto c = parse_cidr(item, error);
        if (!c) return std::nullopt;
        list.entries_.push_back(*c);
    }
    if (list.entries_.empty()) {
        error = "the allowlist is empty";
        return std::nullopt;
    }
    return list;
}

bool Allowlist::allows(const asio::ip::address& peer) const {
    auto bytes = as_v6_bytes(unmap(peer));
    for (const auto& c : entries_)
        if (c.contains(bytes)) return true;
    return false;
}

}  // namespace heal
