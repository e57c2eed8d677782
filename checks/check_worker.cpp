// check_worker: Nagios plugin for worker status endpoints (HTTP status servlets, JSON health
// documents, TCP status lines). Options follow check_http where the meaning is the same.
#include "common/clock.hpp"
#include "common/plugin.hpp"
#include "checks/openssl_load.hpp"
#include "checks/probe.hpp"
#include "checks/verdicts.hpp"
#include "checks/worker_options.hpp"

#include "common/text.hpp"

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <re2/re2.h>

using namespace heal::plugin;

namespace {

using Options = WorkerOptions;

constexpr Usage usage{"WORKER",
                      "Usage: check_worker -H HOST [-I IP] [-p PORT] [-u PATH] [-S] [--health|--tcp] "
                      "[-w SECS] [-c SECS] ... (check_worker --help)"};

[[noreturn]] void usage_error(const std::string& why) { usage_exit(usage, why); }


void add_time_perf(Result& res, double seconds, const Options& o) {
    res.add_perf({"time", number(seconds), "s", o.warning, o.critical, "0", number(o.timeout, 3)});
}

void check_certificate(Result& res, const ProbeResult& p, const std::optional<CertDays>& cd) {
    if (cd && p.cert) check_cert_days(res, *p.cert, *cd, "certificate");
}

bool is_redirect(const ProbeResult& p) {
    return p.status >= 300 && p.status <= 399 && !p.location.empty();
}




/// -M: the document's age from Last-Modified against the server's own Date (so the two clocks
/// do not matter), as check_http does.
void judge_age(Result& res, const ProbeResult& p, double max_age) {
    if (p.date.empty()) return res.raise(unknown, "server date unknown (no Date header)");
    auto server = parse_http_date(p.date);
    if (!server) return res.raise(critical, "server date '" + p.date + "' does not parse");
    if (p.last_modified.empty())
        return res.raise(critical, "document modification date unknown (no Last-Modified header)");
    auto modified = parse_http_date(p.last_modified);
    if (!modified) return res.raise(critical, "Last-Modified '" + p.last_modified + "' does not parse");
    long long age = *server - *modified;
    if (age < -30) return res.raise(critical, "document is " + std::to_string(-age) + " s in the future");
    res.add_perf({"age", std::to_string(age < 0 ? 0 : age), "s", "", number(max_age, 0), "0", ""});
    if (age > max_age)
        res.raise(critical, "last modified " + heal::format_duration(static_cast<double>(age)) +
                                " ago (-M " + heal::format_duration(max_age) + ")");
}

/// What every mode judges after its own verdict: response time, certificate, time and size.
struct Common {
    const Options& o;
    const Thresholds& th;
    const std::optional<CertDays>& cert_days;
};

void judge_common(Result& res, const ProbeResult& p, const Common& c, std::uint64_t size,
                  const std::optional<Range>& pagesize = std::nullopt) {
    if (State s = c.th.check(p.seconds); s != ok)
        res.raise(s, "response time " + number(p.seconds, 3) + " s");
    if (pagesize && pagesize->alerts(static_cast<double>(size)))
        res.raise(warning, "page size " + std::to_string(size) + " B outside -m " + c.o.pagesize);
    check_certificate(res, p, c.cert_days);
    add_time_perf(res, p.seconds, c.o);
    res.add_perf({"size", std::to_string(size), "B", pagesize ? pagesize->text : "", "", "0", ""});
}

void judge_http(Result& res, const ProbeResult& p, const Common& c,
                const std::optional<Expect>& codes, const RE2* regex,
                const std::optional<Range>& pagesize) {
    const Options& o = c.o;
    bool content_check = o.health || !o.string.empty() || !o.regex.empty();
    std::string size_note = p.body_over_limit ? " (over --max-size)" : "";
    // The page, as check_http and check_curl count it: headers and body. Over the limit with a
    // Content-Length, nothing of the body was read: its declared size counts.
    const bool declared = (p.body_over_limit || o.no_body) && p.declared_length;
    const std::uint64_t page = p.header_bytes + (declared ? *p.declared_length : p.body_bytes);
    if (codes) {
        bool listed = expect_met(*codes, p.status, p.status_line);
        res.set(listed ? ok : critical,
                "HTTP " + std::to_string(p.status) +
                    (listed ? "" : codes->strings.empty() ? " (not in -e list)" : " ('" + sanitize(p.status_line, 80) + "' has none of -e)"));
    } else if (p.status >= 300 && p.status <= 399 && !follows(o.follow)) {
        res.set(*parse_state(o.follow), "HTTP " + std::to_string(p.status));  // -f ok|warning|critical
    } else {
        res.set(default_code_state(p.status), "HTTP " + std::to_string(p.status));
    }
    res.set(res.state(), res.summary() + ", " +
                             (o.no_body ? std::string("headers only (-N)")
                                        : std::to_string(page) + " bytes" + size_note) +
                             " in " + number(p.seconds, 3) + " s");
    if (o.max_age) judge_age(res, p, *o.max_age);
    if (!o.header_string.empty() && p.headers.find(o.header_string) == std::string::npos)
        res.raise(critical, "header text '" + o.header_string + "' not found");
    if (p.body_over_limit) {
        if (content_check)
            res.raise(critical, "body" + (p.declared_length ? " of " + std::to_string(*p.declared_length) + " bytes" : std::string()) +
                                    " larger than --max-size " + std::to_string(o.max_size) +
                                    " bytes, not checked");
        else
            res.add_long("body larger than --max-size; read " + std::to_string(p.body_bytes) + " bytes");
    } else if (o.health) {
        auto h = evaluate_health(p.body);
        if (!h.error.empty()) {
            res.raise(critical, h.error);
        } else {
            std::string what = "health " + h.status;
            if (!h.failing.empty())
                what += " (" + std::to_string(h.failing.size()) + " component(s) not UP)";
            // The document decides; a healthy document does not hide a bad status code.
            if (h.state == ok)
                res.set(res.state(), what + ", " + res.summary());
            else
                res.raise(h.state, what);
            for (const auto& f : h.failing) res.add_long(f);
        }
    } else {
        if (!o.string.empty() && p.body.find(o.string) == std::string::npos)
            res.raise(critical, "string '" + o.string + "' not found");
        if (regex) {
            // RE2: linear in the body's length, so the check stays within -t whatever the
            // pattern (std::regex overflowed its stack on 50 KB and backtracked for ever).
            bool found = RE2::PartialMatch(p.body, *regex);
            State s = o.state_regex == "warning" ? warning : critical;
            if (found && o.invert_regex) res.raise(s, "regex '" + o.regex + "' found");
            if (!found && !o.invert_regex) res.raise(s, "regex '" + o.regex + "' not found");
        }
    }
    if (o.show_body && !o.no_body) res.add_long("body: " + sanitize(p.body, 4096));
    judge_common(res, p, c, page, pagesize);
    res.add_perf({"status_code", std::to_string(p.status), "", "", "", "", ""});
    if (o.extended_perfdata) {  // check_http's -E, with its labels
        const auto& tm = p.timings;
        auto seconds = [&](const char* label, double v) { res.add_perf({label, number(v, 6), "s", "", "", "0", ""}); };
        seconds("time_connect", tm.connect);
        if (p.cert) seconds("time_ssl", tm.tls);
        seconds("time_headers", tm.request);
        seconds("time_firstbyte", tm.first_byte);
        seconds("time_transfer", tm.transfer);
    }
}

void judge_line(Result& res, const ProbeResult& p, const Common& c) {
    const Options& o = c.o;
    std::string line = p.line;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (!o.expect_line.empty()) {
        bool match = line.find(o.expect_line) != std::string::npos;
        res.set(match ? ok : critical, (match ? "got '" : "unexpected reply '") + sanitize(line, 200) + "'");
    } else if (auto st = parse_status_line(line)) {
        res.set(st->first, "worker says " + std::string(state_word(st->first)) +
                               (st->second.empty() ? "" : ": " + st->second));
    } else {
        res.set(critical, "not a status line: '" + sanitize(line, 200) + "'");
    }
    judge_common(res, p, c, p.line.size());
}

/// The first probe that needs TLS (-S, or a redirect to https) loads OpenSSL
/// (checks/openssl_load.hpp); a system without it cannot make the check: UNKNOWN, as for any
/// plugin that cannot run.
void ready_for(const Target& t) {
    if (!t.tls) return;
    try {
        load_openssl();
    } catch (const std::exception& e) {
        Result res("WORKER");
        res.set(unknown, e.what());
        std::string out = res.format();
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::exit(unknown);
    }
}

ProbeResult probe(const Target& t, const HttpRequest& req, std::chrono::steady_clock::time_point deadline) {
    ready_for(t);
    return probe_http(t, req, deadline);
}

/// The probe: one status line (--tcp), or an HTTP request and, with -f follow|sticky|
/// stickyport, the redirects it leads to (what was not followed, and why, in the long output).
ProbeResult fetch(const WorkerPlan& plan, Result& res) {
    auto deadline = std::chrono::steady_clock::now() + heal::steady_duration(plan.o.timeout);
    const Options& o = plan.o;
    Target t = plan.target;
    HttpRequest req = plan.request;
    ProbeResult p;
    if (o.tcp) {
        ready_for(t);
        p = probe_line(t, plan.send, deadline);
    } else {
        p = probe(t, req, deadline);
        // Each hop is judged against where the previous one answered; sticky ones keep
        // connecting where the first did.
        const std::string first_address = t.address.empty() ? t.host : t.address;
        const unsigned short first_port = t.port;
        Location here{t.tls, to_lower(t.host), t.port, req.path};
        int hops = 0;
        for (; follows(o.follow) && p.error.empty() && is_redirect(p) && hops < o.max_redirects; ++hops) {
            auto next = parse_location(p.location, here);
            const char* refused = nullptr;
            if (!next)
                refused = "an odd target";
            else if (o.follow == "follow" && (next->tls != here.tls || next->host != here.host ||
                                              next->port != here.port))
                refused = "another origin (-f sticky follows it on the same address)";
            if (refused) {
                res.add_long(std::string("not following redirect to ") + refused + ": " + p.location);
                break;
            }
            if (o.follow != "follow") t.address = first_address;
            if (o.follow == "stickyport") next->port = first_port;
            if (o.verbose) res.add_long("following redirect to " + p.location);
            t.tls = next->tls;
            t.host = next->host;
            t.port = next->port;
            t.vhost_port = 0;
            req.path = next->path;
            // As browsers do: 303, and 301/302 after a POST, continue with a GET and no body.
            if (p.status == 303 || ((p.status == 301 || p.status == 302) && req.method == "POST")) {
                req.method = "GET";
                req.body.clear();
            }
            here = *next;
            double before = p.seconds;
            p = probe(t, req, deadline);
            p.seconds += before;
        }
        if (follows(o.follow) && hops == o.max_redirects && p.error.empty() && is_redirect(p))
            p.error = "more than " + std::to_string(o.max_redirects) +
                      " redirects (a redirect loop?); the last went to " + p.location;
    }
    return p;
}

/// The verdict on what the probe got.
void judge(Result& res, const ProbeResult& p, const WorkerPlan& plan) {
    const Options& o = plan.o;
    if (!p.error.empty()) {
        State s = critical;
        if (p.timed_out) s = *parse_state(o.timeout_result);
        std::string why = p.error == "timed out" ? "" : " (" + p.error + ")";
        res.set(s, p.timed_out ? "timed out after " + number(o.timeout, 3) + " s" + why : p.error);
        if (p.timed_out) add_time_perf(res, o.timeout, o);
    } else if (o.tcp) {
        judge_line(res, p, Common{o, plan.th, plan.cert_days});
    } else {
        judge_http(res, p, Common{o, plan.th, plan.cert_days}, plan.codes, plan.regex.get(), plan.pagesize);
    }
}

}  // namespace

int main(int argc, char** argv) {
    // One malloc arena: the name lookup's thread (common/connect.cpp) would otherwise make its
    // own, 128 KiB more resident for a few allocations (make bench).
    mallopt(M_ARENA_MAX, 1);
    auto parsed = parse_worker_options(argc, argv);
    if (parsed.print) return std::fputs(parsed.print->c_str(), stdout), ok;
    if (!parsed.options) usage_error(parsed.error);
    auto planned = plan_check(std::move(*parsed.options));
    if (!planned.plan) usage_error(planned.error);
    const WorkerPlan& plan = *planned.plan;
    Result res("WORKER");
    judge(res, fetch(plan, res), plan);
    if (plan.o.link) res.set_link(plan.link);
    std::string out = res.format();
    std::fwrite(out.data(), 1, out.size(), stdout);
    return res.state();
}
