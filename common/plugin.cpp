#include "common/plugin.hpp"

#include "common/text.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace heal::plugin {

const char* state_word(State s) {
    switch (s) {
        case ok: return "OK";
        case warning: return "WARNING";
        case critical: return "CRITICAL";
        default: return "UNKNOWN";
    }
}

State worst(State a, State b) {
    auto rank = [](State s) { return s == critical ? 3 : s == warning ? 2 : s == unknown ? 1 : 0; };
    return rank(a) >= rank(b) ? a : b;
}

std::optional<State> parse_state(std::string_view w) {
    std::string l;
    for (char c : w) l += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (l == "ok") return ok;
    if (l == "warning") return warning;
    if (l == "critical") return critical;
    if (l == "unknown") return unknown;
    return std::nullopt;
}

std::optional<State> parse_state_word(std::string_view w) {
    for (State s : {ok, warning, critical, unknown})
        if (w == state_word(s)) return s;
    return std::nullopt;
}

namespace {

bool parse_number(std::string_view s, double& out) {
    if (s.empty() || s.size() > 40) return false;
    if (s.front() == '+') s.remove_prefix(1);
    return parse_decimal(s, out) && std::isfinite(out);  // no "inf", "1e9"
}

}  // namespace

bool Range::alerts(double v) const {
    bool in = (start_infinite || v >= start) && (end_infinite || v <= end);
    return inside ? in : !in;
}

std::optional<Range> parse_range(std::string_view text, std::string& error) {
    Range r;
    r.text = std::string(text);
    auto bad = [&](const std::string& why) {
        error = "invalid range '" + sanitize(text, 60) + "': " + why;
        return std::nullopt;
    };
    if (text.empty()) return bad("empty");
    if (text.front() == '@') {
        r.inside = true;
        text.remove_prefix(1);
    }
    auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        r.start = 0;
        if (!parse_number(text, r.end)) return bad("expected a number");
    } else {
        auto lo = text.substr(0, colon), hi = text.substr(colon + 1);
        if (lo == "~")
            r.start_infinite = true;
        else if (lo.empty())
            r.start = 0;
        else if (!parse_number(lo, r.start))
            return bad("start is not a number");
        if (hi.empty())
            r.end_infinite = true;
        else if (!parse_number(hi, r.end))
            return bad("end is not a number");
    }
    if (!r.start_infinite && !r.end_infinite && r.start > r.end) return bad("start is above end");
    if (r.start_infinite && r.end_infinite) return bad("both ends open: it would never (or always) alert");
    return r;
}

State Thresholds::check(double v) const {
    if (crit && crit->alerts(v)) return critical;
    if (warn && warn->alerts(v)) return warning;
    return ok;
}

std::string number(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string sanitize(std::string_view text, std::size_t max) {
    std::string out = without_controls(text, "", ' ');
    for (char& c : out)
        if (c == '|') c = '/';
    bool cut = false;
    out = valid_utf8(out, max, &cut);  // never splits a character
    return cut ? out + "..." : out;
}

std::string Perfdata::format() const {
    // Labels: no '=' or quote games; quote when there is a blank.
    std::string l;
    for (char c : sanitize(label, 60))
        if (c != '=' && c != '\'') l += c;
    bool quote = l.find(' ') != std::string::npos || l.empty();
    std::string out = (quote ? "'" + l + "'" : l) + "=" + value + uom;
    std::string tail = ";" + warn + ";" + crit + ";" + min + ";" + max;
    while (!tail.empty() && tail.back() == ';') tail.pop_back();
    return out + tail;
}

void Result::raise(State s, const std::string& why) {
    if (s == ok) return;
    if (worst(state_, s) == state_ && state_ != s) {
        summary_ += ", " + why;  // a lesser problem is still worth a word at 3 a.m.
        return;
    }
    state_ = s;
    summary_ = why + (summary_.empty() ? "" : ", " + summary_);
}

void Result::add_perf_text(std::string_view text) {
    std::string clean;
    for (char c : text)
        if (c != '|' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) clean += c;
    auto b = clean.find_first_not_of(' ');
    if (b == std::string::npos) return;
    clean = clean.substr(b, clean.find_last_not_of(' ') - b + 1);
    perf_.push_back(valid_utf8(clean, 2000));
}

namespace {
std::string html_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}
}  // namespace

std::string Result::format(std::size_t cap) const {
    std::string first = service_ + " " + state_word(state_) + ": " + sanitize(summary_, 1000);
    if (!link_.empty())
        first = "<A HREF=\"" + html_escape(sanitize(link_, 1000)) + "\" target=\"_blank\">" +
                html_escape(first) + "</A>";
    // Perfdata in the order given (a plugin puts what matters most first), whole items only,
    // leaving room for the line that says what was left out: Nagios cuts its output at 8 KiB,
    // which would cut an item in half.
    constexpr std::size_t room = 120;
    std::size_t perf_shown = 0;
    for (const auto& p : perf_) {
        if (first.size() + p.size() + 3 + room > cap) break;
        first += (perf_shown++ == 0 ? " | " : " ") + p;
    }
    std::string out = first + "\n";
    if (perf_shown < perf_.size())
        out += "... " + std::to_string(perf_.size() - perf_shown) +
               " more perfdata item(s) not shown (the output is kept under " + std::to_string(cap) + " bytes)\n";
    std::size_t shown = 0;
    for (const auto& line : long_) {
        std::string l = sanitize(line, 1000) + "\n";
        if (out.size() + l.size() + 40 > cap) break;
        out += l;
        ++shown;
    }
    if (shown < long_.size())
        out += "... " + std::to_string(long_.size() - shown) + " more line(s) not shown\n";
    return out;
}

void usage_exit(const Usage& usage, const std::string& why) {
    const std::string text = std::string(usage.service) + " UNKNOWN: " + sanitize(why, 400) + "\n" + usage.line + "\n";
    std::fputs(text.c_str(), stdout);
    std::exit(unknown);
}

void getopt_common(int c, char** argv, const Usage& usage, const char* version, const char* help) {
    switch (c) {
        case 'V':
            std::fputs(version, stdout);
            std::exit(ok);
        case 'h':
            std::fputs(help, stdout);
            std::exit(ok);
        case ':': usage_exit(usage, std::string("option ") + argv[optind - 1] + " needs a value");
        default: usage_exit(usage, std::string("unknown option ") + argv[optind - 1]);
    }
}

void no_operands(int argc, char** argv, const Usage& usage) {
    if (optind < argc) usage_exit(usage, std::string("unexpected argument '") + argv[optind] + "'");
}

std::optional<CertDays> parse_cert_days(std::string_view text) {
    CertDays d;
    auto comma = text.find(',');
    d.warn_text = std::string(text.substr(0, comma));
    unsigned long long n = 0;
    if (!parse_uint(d.warn_text, 0, 99999, n)) return std::nullopt;
    d.warn = static_cast<long>(n);
    if (comma != std::string_view::npos) {
        d.crit_text = std::string(text.substr(comma + 1));
        if (!parse_uint(d.crit_text, 0, 99999, n)) return std::nullopt;
        d.crit = static_cast<long>(n);
    }
    return d;
}

void check_cert_days(Result& res, const CertValidity& cert, const CertDays& limits, const std::string& what) {
    const long days = cert.days_left;
    res.add_perf({"cert_days", std::to_string(days), "", limits.warn_text, limits.crit_text, "", ""});
    if (cert.not_yet_valid) return res.raise(critical, what + " is not valid before " + cert.not_before);
    if (days < 0) return res.raise(critical, what + " expired on " + cert.not_after);
    const std::string why = what + " expires in " + std::to_string(days) + " day(s) (" + cert.not_after + ")";
    if (limits.crit && days < *limits.crit)
        res.raise(critical, why);
    else if (days < limits.warn)
        res.raise(warning, why);
}

}  // namespace heal::plugin
