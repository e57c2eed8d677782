#include "checks/http_url.hpp"

#include "common/text.hpp"

namespace heal::plugin {

std::string parse_http_url(std::string_view url, HttpUrl& out) {
    HttpUrl u;
    std::string_view rest;
    if (url.substr(0, 7) == "http://") {
        rest = url.substr(7);
    } else if (url.substr(0, 8) == "https://") {
        u.tls = true;
        u.port = 443;
        rest = url.substr(8);
    } else {
        return "'" + printable(url, 80) + "' is not an http:// or https:// URL";
    }
    if (rest.find_first_of("?#@ \t\r\n") != std::string_view::npos)
        return "'" + printable(url, 80) + "': no user info, query, fragment or spaces, please";
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        u.prefix = std::string(rest.substr(slash));
        while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return "'" + printable(url, 80) + "': an IPv6 address without its ']'";
        u.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return "'" + printable(url, 80) + "': not [ADDRESS]:PORT";
            port = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) return "'" + printable(url, 80) + "' names no host";
    if (!port.empty() || authority.find(':') != std::string_view::npos) {
        unsigned long long p = 0;
        if (!parse_uint(port, 1, 65535, p)) return "'" + printable(url, 80) + "': the port is not 1-65535";
        u.port = static_cast<unsigned short>(p);
        u.port_given = true;
    }
    out = u;
    return {};
}

}  // namespace heal::plugin
