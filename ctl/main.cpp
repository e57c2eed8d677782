// heal-ctl: sends one request to a heal-listener and reports the outcome.
// Exit codes (see heal-ctl(1)):
//   action verbs  0 done (or dry run), 1 ran and failed or timed out (or ran, but verify found
//                 the service still failing), 2 refused,
//                 3 no answer / usage error; info and reset likewise
//   status        the status script's exit code when 0-3, else 3
#include "common/client.hpp"
#include "common/client_config.hpp"
#include "common/json_get.hpp"
#include "ctl/options.hpp"
#include "common/plugin.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <boost/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <vector>
#include <iostream>

namespace ctl = heal::ctl;

namespace {

using heal::Outcome;
constexpr int exit_unknown = 3;

int exit_code_for(const std::string& verb, const heal::Reply& r) {
    if (verb == "status") {
        if (r.outcome == Outcome::refused || r.outcome == Outcome::timed_out) return exit_unknown;
        if (r.exit_code && *r.exit_code >= 0 && *r.exit_code <= 3) return *r.exit_code;
        return exit_unknown;
    }
    switch (r.outcome) {
        case Outcome::ok: return r.verified == false ? 1 : 0;  // ran, but still failing: a human
        case Outcome::dry_run: return 0;
        case Outcome::refused: return 2;
        default: return 1;  // failed, timed_out, lost
    }
}

/// For start, stop, restart, info and reset (status speaks Nagios states).
std::string word_for(const heal::Reply& r) {
    switch (r.outcome) {
        case Outcome::ok: return r.verified == false ? "STILL FAILING" : "OK";
        case Outcome::dry_run: return "DRY RUN";
        case Outcome::timed_out: return "TIMED OUT";
        case Outcome::refused: return "REFUSED";
        default: return "FAILED";
    }
}

/// `heal-ctl history` for people: one line per action or refusal, newest first.
void print_history(const boost::json::array& rows, const std::string& host, const std::string& what) {
    using heal::printable;
    std::cout << "heal history on " << host << ": " << printable(what, 100) << ", newest first\n";
    for (const auto& v : rows) {
        if (!v.is_object()) continue;
        const auto& o = v.as_object();
        auto field = [&](const char* k, std::size_t cap = 64) { return printable(heal::json_text(o.if_contains(k)), cap); };
        std::string outcome = field("outcome");
        std::string reason = field("reason");
        if (!reason.empty() && outcome != "ok") outcome += " (" + reason + ")";
        std::string took;
        if (const auto* d = o.if_contains("duration_ms"); d && d->is_int64())
            took = std::to_string(d->as_int64()) + " ms";
        std::string notes;
        if (const auto* ver = o.if_contains("verified"); ver && ver->is_bool())
            notes += ver->as_bool() ? " verified" : " STILL FAILING";
        if (const auto* f = o.if_contains("forced"); f && f->is_bool() && f->as_bool()) notes += " forced";
        if (const auto* g = o.if_contains("diagnostics"); g && g->is_bool() && g->as_bool())
            notes += " diagnostics";
        const std::string client = field("client");
        std::printf("%-24s  %-8s %-16s %-28s %9s  %-10s %s%s\n", field("ts", 30).c_str(),
                    field("verb", 12).c_str(), field("service").c_str(), outcome.c_str(), took.c_str(),
                    client.empty() ? "-" : client.c_str(), field("id", 40).c_str(), notes.c_str());
    }
    std::fflush(stdout);
}

/// `heal-ctl info` for people: one line per service.
void print_info(const boost::json::object& info, const std::string& host) {
    using heal::printable;
    std::string who = info.if_contains("client") && info.at("client").is_string()
                          ? "client '" + heal::json_text(info.if_contains("client")) + "'" +
                                (info.if_contains("admin") && info.at("admin").is_bool() &&
                                         info.at("admin").as_bool()
                                     ? " (admin)"
                                     : "")
                          : "any client (no [client] sections)";
    std::cout << "heal-listener " << printable(heal::json_text(info.if_contains("version")), 40) << " on "
              << host << "; you are " << printable(who, 100) << "; state store "
              << printable(heal::json_text(info.if_contains("state")), 300) << "\n";
    const auto* services = info.if_contains("services");
    if (!services || !services->is_array()) return;
    struct Row {
        std::string name, verbs, budget, cooldown, state;
    };
    std::vector<Row> rows{{"SERVICE", "VERBS (* = yours)", "BUDGET", "COOLDOWN", "STATE"}};
    for (const auto& sv : services->as_array()) {
        if (!sv.is_object()) continue;
        const auto& s = sv.as_object();
        Row r;
        r.name = printable(heal::json_text(s.if_contains("name")), 64);
        std::set<std::string> mine;
        if (auto* a = s.if_contains("allowed"); a && a->is_array())
            for (const auto& v : a->as_array()) mine.insert(heal::json_text(&v));
        if (auto* a = s.if_contains("verbs"); a && a->is_array())
            for (const auto& v : a->as_array())
                r.verbs += (r.verbs.empty() ? "" : " ") + printable(heal::json_text(&v), 10) +
                           (mine.count(heal::json_text(&v)) ? "*" : "");
        if (auto* b = s.if_contains("budget"); b && b->is_object()) {
            const auto& bo = b->as_object();
            r.budget = std::to_string(static_cast<long>(heal::json_number(bo.if_contains("used")))) + "/" +
                       std::to_string(static_cast<long>(heal::json_number(bo.if_contains("limit")))) + " in " +
                       heal::format_duration(heal::json_number(bo.if_contains("window_s")));
        } else {
            r.budget = "none";
        }
        double left = heal::json_number(s.if_contains("cooldown_left_s"));
        r.cooldown = left > 0 ? heal::seconds_text(left) + " left" : "-";
        if (auto* q = s.if_contains("quarantine"); q && q->is_object()) {
            const auto& qo = q->as_object();
            r.state = "QUARANTINED since " + printable(heal::json_text(qo.if_contains("since")), 40) + ": " +
                      printable(heal::json_text(qo.if_contains("why")), 200);
            if (qo.if_contains("until"))
                r.state += " (lifts at " + printable(heal::json_text(qo.if_contains("until")), 40) + ")";
        } else if (auto* p = s.if_contains("paused"); p && p->is_object()) {
            r.state = "PAUSED: " + heal::paused_words(p->as_object());
        } else if (auto* f = s.if_contains("in_flight"); f && f->is_string()) {
            r.state = "busy: " + printable(heal::json_text(f), 40);
        } else {
            r.state = "ok";
        }
        if (s.if_contains("dry_run") && s.at("dry_run").is_bool() && s.at("dry_run").as_bool())
            r.state += " (dry run)";
        if (auto* wv = s.if_contains("watch"); wv && wv->is_object()) {
            const auto& wo = wv->as_object();
            r.state += "; watched every " + heal::format_duration(heal::json_number(wo.if_contains("interval_s"))) +
                       ": " + printable(heal::json_text(wo.if_contains("state")), 200);
            if (wo.if_contains("failures"))
                r.state += ", " + std::to_string(static_cast<long>(heal::json_number(wo.if_contains("failures")))) + "/" +
                           std::to_string(static_cast<long>(heal::json_number(wo.if_contains("heal_after")))) +
                           " failed";
        }
        // Unknown is not OK: without the state store nothing about the service is known.
        if (auto* st = s.if_contains("state"); st && st->is_string() && heal::json_text(st) != "ok")
            r.state = "UNKNOWN: state store " + printable(heal::json_text(st), 200);
        rows.push_back(std::move(r));
    }
    std::size_t w[4] = {0, 0, 0, 0};
    for (const auto& r : rows) {
        w[0] = std::max(w[0], r.name.size());
        w[1] = std::max(w[1], r.verbs.size());
        w[2] = std::max(w[2], r.budget.size());
        w[3] = std::max(w[3], r.cooldown.size());
    }
    for (const auto& r : rows) {
        auto pad = [](const std::string& t, std::size_t n) { return t + std::string(n - t.size() + 2, ' '); };
        std::cout << pad(r.name, w[0]) << pad(r.verbs, w[1]) << pad(r.budget, w[2])
                  << pad(r.cooldown, w[3]) << r.state << "\n";
    }
}

/// Usage and configuration problems, said where a Nagios check's words go: stdout, one line.
int usage_error(const std::string& message) {
    std::cout << "HEAL UNKNOWN: heal-ctl: " << heal::printable(message, 1000)
              << " (see heal-ctl --help)\n";
    return exit_unknown;
}

/// `heal-ctl status` is a Nagios check: the status script's own first line leads, its perfdata
/// stays perfdata with heal-ctl's `time` added, the rest is long output, all under 8 KiB.
std::string format_status(const heal::Reply& r, int code, const std::string& head,
                          const std::string& tail, double seconds) {
    std::string message = r.message, output = r.output, perfdata;
    if (r.outcome != Outcome::refused && !output.empty()) {
        auto eol = output.find('\n');
        message = output.substr(0, eol);
        output = eol == std::string::npos ? "" : output.substr(eol + 1);
        if (auto bar = message.find('|'); bar != std::string::npos) {
            perfdata = message.substr(bar + 1);
            message.erase(bar);
        }
        while (!message.empty() && message.back() == ' ') message.pop_back();
    }
    heal::plugin::Result res("HEAL");
    res.set(static_cast<heal::plugin::State>(code), head + message + tail);
    res.add_perf_text(perfdata);
    // Our own round trip, unless the script already reports a `time`.
    if (perfdata.rfind("time=", 0) != 0 && perfdata.find(" time=") == std::string::npos)
        res.add_perf({"time", heal::plugin::number(seconds, 3), "s", "", "", "0", ""});
    std::size_t at = 0;
    while (at < output.size()) {
        auto eol = output.find('\n', at);
        res.add_long(output.substr(at, eol == std::string::npos ? std::string::npos : eol - at));
        at = eol == std::string::npos ? output.size() : eol + 1;
    }
    return res.format();
}

/// Prints the listener's answer (or that none came) as heal-ctl does; returns the exit code.
int print_reply(const ctl::Options& o, const heal::CallResult& result, const std::string& host, double seconds) {
    const std::string what = o.verb + (o.service.empty() ? "" : " " + o.service);
    for (const auto& w : result.warnings) std::cerr << "heal-ctl: warning: " << heal::printable(w, 400) << "\n";
    if (!result.answered) {
        if (o.json)
            std::cout << R"({"outcome":"no_answer","message":)"
                      << boost::json::serialize(boost::json::string(result.error)) << "}\n";
        else
            std::cout << "HEAL UNKNOWN: " << what << " on " << host << ": no answer: " << heal::printable(result.error, 400)
                      << "\n";
        return exit_unknown;
    }
    const auto& r = result.reply;
    const int code = exit_code_for(o.verb, r);
    if (o.json) {
        std::cout << heal::to_json_line(r);
        return code;
    }
    if (o.verb == "info" && r.outcome == Outcome::ok && r.info) {
        print_info(*r.info, host);
        return 0;
    }
    if (o.verb == "history" && r.outcome == Outcome::ok && r.history) {
        print_history(*r.history, host, r.message);
        return 0;
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", static_cast<double>(r.duration_ms) / 1000.0);
    const std::string head = what + (r.forced ? " (forced)" : "") + " on " + host + ": ";
    const std::string tail = std::string(" (") + secs + " s, id " + r.id + ")" + (r.truncated ? " [output truncated]" : "") +
                             (!r.diagnostics.empty() && o.verb != "diagnostics" ? " [diagnostics kept]" : "");
    if (o.verb == "status") {
        std::cout << format_status(r, code, head, tail, seconds);
        return code;
    }
    // For people: the whole output, safe for a terminal (--json is exact).
    std::string output = heal::terminal_safe(r.output);
    std::cout << "HEAL " << word_for(r) << ": " << head << heal::printable(r.message, 300) << tail << "\n" << output;
    if (!output.empty() && output.back() != '\n') std::cout << "\n";
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    const auto parsed = ctl::parse_options(std::vector<std::string>(argv + 1, argv + argc));
    if (parsed.exit) return *parsed.exit;
    if (!parsed.error.empty()) return usage_error(parsed.error);
    const ctl::Options& o = *parsed.options;
    heal::ClientOptions opt;
    try {
        opt = heal::client_options(o.config, o.config_given, o.over);
    } catch (const heal::ConfigError& e) {
        return usage_error(e.what());
    }
    ctl::Durations d;
    if (auto err = ctl::validate(o, d); !err.empty()) return usage_error(err);
    const auto started = std::chrono::steady_clock::now();
    const auto result = heal::call_listener(opt, ctl::request_line(o, d));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return print_reply(o, result, opt.host, seconds);
}
