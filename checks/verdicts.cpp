#include "checks/verdicts.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <charconv>
#include <ctime>

namespace heal::plugin {

namespace json = boost::json;

namespace {

void collect_failing(const json::object& node, const std::string& prefix,
                     std::vector<std::string>& out, int depth) {
    auto* comps = node.if_contains("components");
    if (!comps || !comps->is_object() || depth > 16) return;
    for (const auto& [name, value] : comps->as_object()) {
        if (!value.is_object()) continue;
        std::string path = prefix.empty() ? std::string(name) : prefix + "/" + std::string(name);
        const auto& obj = value.as_object();
        if (auto* st = obj.if_contains("status"); st && st->is_string() && st->as_string() != "UP")
            out.push_back(path + ": " + std::string(st->as_string()));
        collect_failing(obj, path, out, depth + 1);
    }
}

bool parse_code(std::string_view s, unsigned& out) {
    if (s.size() != 3) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out >= 100 && out <= 999;
}

}  // namespace

HealthVerdict evaluate_health(std::string_view body) {
    HealthVerdict v;
    json::error_code ec;
    json::parse_options opt;
    opt.max_depth = 64;
    json::value doc = json::parse(body, ec, {}, opt);
    if (ec) {
        v.error = "health document is not valid JSON (" + ec.message() + ")";
        return v;
    }
    if (!doc.is_object()) {
        v.error = "health document is not a JSON object";
        return v;
    }
    auto* st = doc.as_object().if_contains("status");
    if (!st || !st->is_string()) {
        v.error = "health document has no top-level \"status\" string";
        return v;
    }
    v.status = std::string(st->as_string());
    if (v.status == "UP")
        v.state = ok;
    else if (v.status == "DOWN" || v.status == "OUT_OF_SERVICE")
        v.state = critical;
    else if (v.status == "UNKNOWN")
        v.state = unknown;
    else
        v.state = warning;
    collect_failing(doc.as_object(), "", v.failing, 0);
    return v;
}

std::optional<CodeList> parse_codes(std::string_view text, std::string& error) {
    CodeList list;
    while (true) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        auto dash = item.find('-');
        unsigned lo = 0, hi = 0;
        bool good = dash == std::string_view::npos
                        ? parse_code(item, lo) && (hi = lo, true)
                        : parse_code(item.substr(0, dash), lo) &&
                              parse_code(item.substr(dash + 1), hi) && lo <= hi;
        if (!good) {
            error = "invalid status code list '" + sanitize(text, 60) +
                    "' (expected e.g. 200,204,300-399)";
            return std::nullopt;
        }
        list.emplace_back(lo, hi);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return list;
}

bool code_listed(const CodeList& list, unsigned code) {
    for (auto [lo, hi] : list)
        if (code >= lo && code <= hi) return true;
    return false;
}

std::string base64(std::string_view bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k)
            v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        for (std::size_t k = 0; k < 4; ++k) out += k <= n ? alphabet[(v >> (18 - 6 * k)) & 63] : '=';
    }
    return out;
}

std::optional<Expect> parse_expect(std::string_view text, std::string& error) {
    Expect e;
    bool codes_only = !text.empty() && text.find_first_not_of("0123456789-,") == std::string_view::npos;
    if (codes_only) {
        auto list = parse_codes(text, error);
        if (!list) return std::nullopt;
        e.codes = std::move(*list);
        return e;
    }
    while (true) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        if (item.empty() || item.size() > 200) {
            error = "-e expects status codes (200,300-399) or texts to find in the status line, got '" +
                    sanitize(text, 60) + "'";
            return std::nullopt;
        }
        e.strings.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return e;
}

bool expect_met(const Expect& e, unsigned code, std::string_view status_line) {
    if (e.strings.empty()) return code_listed(e.codes, code);
    for (const auto& s : e.strings)
        if (status_line.find(s) != std::string_view::npos) return true;
    return false;
}

namespace {
bool parse_port(std::string_view text, unsigned short& port) {
    unsigned long long n = 0;
    if (!heal::parse_uint(text, 1, 65535, n)) return false;
    port = static_cast<unsigned short>(n);
    return true;
}
}  // namespace

std::optional<std::pair<std::string, unsigned short>> split_host_port(std::string_view text,
                                                                      std::string& error) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {  // [v6]:port
        auto close = text.find("]:");
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.find(':');
        if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos)
            return std::nullopt;  // a name, an IPv4 address, or a bare IPv6 address
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned short p = 0;
    if (host.empty() || !parse_port(port, p)) {
        error = "-H expects HOST or HOST:PORT (PORT 1-65535), got '" + sanitize(text, 80) + "'";
        return std::nullopt;
    }
    return std::make_pair(std::string(host), p);
}

std::optional<std::pair<std::string, unsigned short>> parse_proxy(std::string_view text,
                                                                  std::string& error) {
    error = "-x expects [http://]HOST[:PORT], got '" + sanitize(text, 80) + "'";
    std::string lower = to_lower(text);
    if (lower.rfind("http://", 0) == 0) text.remove_prefix(7);
    else if (text.find("://") != std::string_view::npos) {
        error = "-x: only http:// proxies are supported, got '" + sanitize(text, 80) + "'";
        return std::nullopt;
    }
    if (!text.empty() && text.back() == '/') text.remove_suffix(1);
    if (text.empty() || text.find_first_of("/@?# \t\r\n") != std::string_view::npos) return std::nullopt;
    std::string ignored;
    if (auto hp = split_host_port(text, ignored)) return hp;
    if (text.front() == '[') {
        if (text.back() != ']' || text.size() < 3) return std::nullopt;
        return std::make_pair(std::string(text.substr(1, text.size() - 2)), static_cast<unsigned short>(1080));
    }
    if (text.find(':') != std::string_view::npos) return std::nullopt;  // a bad port, or IPv6 without []
    return std::make_pair(std::string(text), static_cast<unsigned short>(1080));
}

bool no_proxy_for(std::string_view list, std::string_view host) {
    const std::string h = to_lower(host);
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item == "*") return true;
        if (!item.empty() && item.front() == '.') item.remove_prefix(1);
        std::string want = to_lower(item);
        if (!want.empty() && (h == want || (h.size() > want.size() && h.compare(h.size() - want.size(), want.size(), want) == 0 &&
                                            h[h.size() - want.size() - 1] == '.')))
            return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

State default_code_state(unsigned code) {
    if (code >= 200 && code <= 399) return ok;
    if (code >= 400 && code <= 499) return warning;
    return critical;
}

std::optional<std::string> unescape(std::string_view text, std::string& error) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (++i == text.size()) {
            error = "--send ends with a lone '\\'";
            return std::nullopt;
        }
        switch (text[i]) {
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case '\\': out += '\\'; break;
            default:
                error = std::string("unknown escape '\\") + text[i] + "' in --send (use \\n \\r \\t \\\\)";
                return std::nullopt;
        }
    }
    return out;
}

std::optional<std::pair<State, std::string>> parse_status_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    auto end = line.find_first_of(" :");
    auto word = line.substr(0, end);
    auto state = parse_state_word(word);
    if (!state) return std::nullopt;
    std::string_view rest = end == std::string_view::npos ? "" : line.substr(end);
    while (!rest.empty() && (rest.front() == ':' || rest.front() == ' ')) rest.remove_prefix(1);
    return std::make_pair(*state, std::string(rest));
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<Range> parse_pagesize(std::string_view text, std::string& error) {
    auto colon = text.find(':');
    auto min = text.substr(0, colon);
    auto max = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
    unsigned long long n = 0;
    if (!parse_uint(min, 0, 1ull << 40, n) ||
        (colon != std::string_view::npos && !parse_uint(max, 0, 1ull << 40, n))) {
        error = "-m expects MIN[:MAX] in bytes, got '" + std::string(text) + "'";
        return std::nullopt;
    }
    return parse_range(std::string(min) + ":" + std::string(max), error);
}

std::optional<long long> parse_http_date(std::string_view text) {
    if (text.empty() || text.size() > 64) return std::nullopt;
    const std::string s(text);
    // strptime in the "C" locale (check_worker never calls setlocale): English names.
    for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                               "%a %b %e %H:%M:%S %Y"}) {
        std::tm tm{};
        const char* end = ::strptime(s.c_str(), format, &tm);
        if (end && *end == '\0') return static_cast<long long>(::timegm(&tm));
    }
    return std::nullopt;
}

std::optional<Location> parse_location(std::string_view loc, const Location& base) {
    for (char c : loc)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
    if (loc.empty() || loc.size() > 2048) return std::nullopt;
    Location out = base;
    if (loc.front() == '/' && loc.substr(0, 2) != "//") {
        out.path = std::string(loc);
        return out;
    }
    std::string_view rest;
    const std::string lower = to_lower(loc.substr(0, 8));
    if (loc.substr(0, 2) == "//") {
        rest = loc.substr(2);
    } else if (lower.rfind("http://", 0) == 0) {
        out.tls = false;
        rest = loc.substr(7);
    } else if (lower.rfind("https://", 0) == 0) {
        out.tls = true;
        rest = loc.substr(8);
    } else {
        return std::nullopt;
    }
    auto slash = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, slash);
    out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (out.path.front() != '/') out.path.insert(0, "/");
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    std::string_view host = authority, port;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = authority.substr(1, close - 1);
        auto after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return std::nullopt;
        if (!after.empty()) port = after.substr(1);
    } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return std::nullopt;
    out.host = to_lower(host);
    out.port = out.tls ? 443 : 80;
    if (!port.empty()) {
        unsigned long long n = 0;
        if (!parse_uint(port, 1, 65535, n)) return std::nullopt;
        out.port = static_cast<unsigned short>(n);
    }
    return out;
}

}  // namespace heal::plugin
