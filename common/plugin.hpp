// The Nagios plugin conventions, once, for every check (check_worker, and heal-ctl status):
// states, threshold ranges, perfdata, and output that network text cannot break.
#pragma once

#include "common/cert_validity.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heal::plugin {

enum State { ok = 0, warning = 1, critical = 2, unknown = 3 };

const char* state_word(State s);  ///< "OK", "WARNING", "CRITICAL", "UNKNOWN"
/// Worse of two states; CRITICAL beats WARNING beats UNKNOWN beats OK.
State worst(State a, State b);
/// "ok", "warning", "critical", "unknown" (case-insensitive)
std::optional<State> parse_state(std::string_view word);
/// Exactly the word state_word() gives ("OK", "CRITICAL"; Nagios' $SERVICESTATE$), nothing else.
std::optional<State> parse_state_word(std::string_view word);

/// A threshold range as in the monitoring-plugins guidelines:
///   "10" alert outside 0..10; "10:" below 10; "~:10" above 10; "10:20" outside 10..20;
///   "@10:20" inside 10..20 (endpoints inside). Decimals and negatives are allowed.
struct Range {
    double start = 0;
    bool start_infinite = false;
    double end = 0;
    bool end_infinite = false;
    bool inside = false;  ///< '@': alert when inside
    std::string text;     ///< as given, for perfdata

    /// true when `value` should raise an alert
    bool alerts(double value) const;
};

std::optional<Range> parse_range(std::string_view text, std::string& error);

struct Thresholds {
    std::optional<Range> warn, crit;
    State check(double value) const;
};

/// One perfdata item: 'label'=value[UOM];[warn];[crit];[min];[max]
struct Perfdata {
    std::string label;
    std::string value;  ///< already formatted
    std::string uom;    ///< "", s, ms, us, %, B, KB, MB, TB, c
    std::string warn, crit, min, max;
    std::string format() const;
};

/// Formats a number for perfdata/messages without locale surprises ("0.012345").
std::string number(double v, int decimals = 6);

/// Makes text from the network safe for plugin output: no '|' (it would start perfdata),
/// no newline or other control bytes (a summary is one line), capped at `max` bytes.
std::string sanitize(std::string_view text, std::size_t max = 300);

/// -C DAYS_WARN[,DAYS_CRIT]: certificate expiry thresholds in days (check_worker, check_heal).
struct CertDays {
    std::string warn_text, crit_text;  ///< as given, for perfdata
    long warn = 0;
    std::optional<long> crit;
};
std::optional<CertDays> parse_cert_days(std::string_view text);

class Result;
/// `what` ("certificate", "the listener's certificate") with these dates: cert_days perfdata;
/// CRITICAL when expired or not yet valid (as check_http), else WARNING below the warning days
/// and CRITICAL below the critical ones.
void check_cert_days(Result& res, const CertValidity& cert, const CertDays& limits, const std::string& what);

/// A plugin's name on its output ("WORKER") and its usage line, for usage errors.
struct Usage {
    const char* service;
    const char* line;  ///< "Usage: check_worker -H HOST ... (check_worker --help)"
};

/// A usage error the Nagios way: "SERVICE UNKNOWN: why" and the usage line on standard output
/// (Nagios shows nothing else), exit 3.
[[noreturn]] void usage_exit(const Usage& usage, const std::string& why);

/// The cases every plugin's getopt_long loop ends with, for an option `c` the plugin did not
/// handle itself: -V (`version`), -h (`help`), a missing value, an unknown option. Exits.
[[noreturn]] void getopt_common(int c, char** argv, const Usage& usage, const char* version, const char* help);

/// After the getopt loop: arguments left over are a usage error.
void no_operands(int argc, char** argv, const Usage& usage);

/// What a plugin prints and returns.
class Result {
public:
    explicit Result(std::string service) : service_(std::move(service)) {}
    void set(State s, std::string summary) {
        state_ = s;
        summary_ = std::move(summary);
    }
    /// Raises the state to `s` if worse (or equal), prefixing the summary with `why`;
    /// a lesser problem leaves the state and is appended to the summary.
    void raise(State s, const std::string& why);
    void add_long(std::string line) { long_.push_back(std::move(line)); }
    void add_perf(Perfdata p) { perf_.push_back(p.format()); }
    /// Perfdata another plugin already formatted (a status script's): kept as it is, but no
    /// '|' and no control characters.
    void add_perf_text(std::string_view text);
    State state() const { return state_; }
    const std::string& summary() const { return summary_; }
    /// Wraps the first line's text (not the perfdata) in an HTML link to `url` (check_http -L),
    /// the text HTML-escaped.
    void set_link(std::string url) { link_ = std::move(url); }

    /// "SERVICE STATE: summary | perf\nlong...\n", at most `cap` bytes (Nagios 4 keeps 8 KiB).
    std::string format(std::size_t cap = 8000) const;

private:
    std::string service_;
    State state_ = unknown;
    std::string summary_;
    std::vector<std::string> long_;
    std::vector<std::string> perf_;  ///< formatted
    std::string link_;
};

}  // namespace heal::plugin
