#include "common/text.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <cerrno>

#include <charconv>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <filesystem>
#include <stdexcept>

namespace heal {

std::string_view trim(std::string_view s) {
    const char* ws = " \t\r\n";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    if (trim(s).empty()) return out;
    for (;;) {
        auto comma = s.find(',');
        out.emplace_back(trim(s.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

bool parse_uint(std::string_view s, unsigned long long min, unsigned long long max,
                unsigned long long& out) {
    if (s.empty() || s.size() > 20) return false;
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return false;
    if (v < min || v > max) return false;
    out = v;
    return true;
}

bool parse_seconds(std::string_view s, double max, double& out) {
    if (s.empty() || s.size() > 32) return false;
    double v = 0;  // no sign: a negative number is refused as not above zero
    if (!parse_decimal(s, v) || !std::isfinite(v) || v <= 0 || v > max) return false;
    out = v;
    return true;
}

bool parse_duration(std::string_view s, double max, double& out, bool allow_zero) {
    double unit = 1;
    const bool ms = s.size() > 2 && s.substr(s.size() - 2) == "ms";
    if (ms) {
        s.remove_suffix(2);
    } else if (!s.empty()) {
        switch (s.back()) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            default: unit = 0;
        }
        if (unit != 0) s.remove_suffix(1);
        else unit = 1;
    }
    if (allow_zero && s == "0") {
        out = 0;
        return true;
    }
    double v = 0;
    if (!parse_seconds(s, ms ? max * 1000 : max, v) || (ms ? v / 1000 : v * unit) > max) return false;
    out = ms ? v / 1000 : v * unit;  // divided, not multiplied by 0.001: 100ms is exactly 0.1
    return true;
}

bool parse_decimal(std::string_view s, double& out) {
    char buf[41];
    if (s.empty() || s.size() >= sizeof buf) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || (s[i] == '-' && i == 0))) return false;
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(buf, &end);
    if (end != buf + s.size() || errno == ERANGE) return false;
    out = v;
    return true;
}

namespace {

/// Whether `seconds` is a whole number of `unit`s (what fmod(seconds, unit) == 0 says, without
/// libm): exact, as both are whole numbers far below 2^53.
bool whole_units(double seconds, double unit) {
    if (!(seconds >= unit && seconds < 1e15)) return false;
    auto n = static_cast<std::int64_t>(seconds / unit);
    return static_cast<double>(n) * unit == seconds;
}

}  // namespace

std::string format_duration(double seconds) {
    char buf[48];
    for (auto [unit, word] : {std::pair{86400.0, 'd'}, {3600.0, 'h'}, {60.0, 'm'}})
        if (whole_units(seconds, unit)) {
            std::snprintf(buf, sizeof buf, "%.0f%c", seconds / unit, word);
            return buf;
        }
    std::snprintf(buf, sizeof buf, "%gs", seconds);
    return buf;
}

std::string seconds_text(double seconds) {
    char buf[48];
    std::snprintf(buf, sizeof buf, seconds < 10 ? "%.2f s" : "%.1f s", seconds);
    return buf;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t to_ms(double seconds) {
    // Rounded half away from zero, as llround, without libm: the part below a millisecond is
    // exact (a double minus its whole part), so is the comparison with a half.
    const double ms = seconds * 1000;
    const auto whole = static_cast<std::int64_t>(ms);  // toward zero
    const double part = ms - static_cast<double>(whole);
    return whole + (part >= 0.5 ? 1 : part <= -0.5 ? -1 : 0);
}

std::string utc_iso(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

bool parse_bool(std::string_view s, bool& out) {
    for (auto yes : {"yes", "true", "on", "1"})
        if (s == yes) return out = true, true;
    for (auto no : {"no", "false", "off", "0"})
        if (s == no) return (out = false), true;
    return false;
}

std::string without_controls(std::string_view s, std::string_view keep, char replacement) {
    std::string in = valid_utf8(s);
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(in[i]);
        if ((c < 0x20 || c == 0x7f) && keep.find(char(c)) == std::string_view::npos) {
            out += replacement;
        } else if (c == 0xc2 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(in[i + 1]) <= 0x9f) {
            out += replacement;
            ++i;
        } else {
            out += char(c);
        }
    }
    return out;
}

std::string first_line(std::string_view text) { return printable(text.substr(0, text.find('\n')), 200); }

std::string terminal_safe(std::string_view s) { return without_controls(s, "\n\t"); }

std::string printable(std::string_view s, std::size_t max_len) {
    // Text quoted from a peer ends up in JSON (replies, the audit log): valid UTF-8, one line.
    std::string out = without_controls(s.substr(0, max_len), "");
    if (s.size() > max_len) out += "...";
    return out;
}

namespace {
/// Length of the valid UTF-8 sequence at s[i] (RFC 3629), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    auto in = [&](std::size_t k, unsigned lo, unsigned hi) {
        return i + k < s.size() && b(k) >= lo && b(k) <= hi;
    };
    unsigned c = b(0);
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
    if (c == 0xE0) return in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
    if (c == 0xED) return in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
    if (c == 0xF0) return in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3)
        return in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    if (c == 0xF4) return in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
    return 0;
}
}  // namespace

std::string valid_utf8(std::string_view s, std::size_t max_bytes, bool* cut) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(std::min(s.size(), max_bytes));
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t n = utf8_sequence(s, i);
        std::string_view piece = n ? s.substr(i, n) : replacement;
        if (out.size() + piece.size() > max_bytes) break;
        out += piece;
        i += n ? n : 1;
    }
    if (cut) *cut = i < s.size();
    return out;
}

std::string new_uuid() {
    // The kernel's CSPRNG (getrandom(2)): what RAND_bytes seeds from, without linking OpenSSL
    // into every program that needs an id.
    // 16 ids per call (a watch loop makes one per round); a fork's child never reuses the
    // parent's bytes: the child handler empties the buffer of the thread that forked.
    static thread_local unsigned char pool[256];
    static thread_local std::size_t left = 0;
    static std::once_flag at_fork;
    std::call_once(at_fork, [] { ::pthread_atfork(nullptr, nullptr, [] { left = 0; }); });
    if (left < 16) {
        for (std::size_t got = 0; got < sizeof pool;) {
            ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
            if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
            if (n > 0) got += static_cast<std::size_t>(n);
        }
        left = sizeof pool;
    }
    unsigned char b[16];
    std::memcpy(b, pool + sizeof pool - left, sizeof b);
    std::memset(pool + sizeof pool - left, 0, sizeof b);
    left -= sizeof b;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += hex[b[i] >> 4];
        out += hex[b[i] & 15];
    }
    return out;
}

std::string dir_of(const std::string& path) {
    // Absolute, because scripts run with cwd "/" and SIGHUP may come after a chdir.
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    if (ec) return ".";
    return abs.parent_path().string();
}

std::string resolve_path(const std::string& dir, std::string_view value) {
    if (!value.empty() && value.front() == '/') return std::string(value);
    return dir + "/" + std::string(value);
}

}  // namespace heal
