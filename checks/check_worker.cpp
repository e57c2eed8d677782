// check_worker: Nagios plugin for worker status endpoints (HTTP status servlets, JSON health
// documents, TCP status lines). Options follow check_http where the meaning is the same.
#include "plugin.hpp"
#include "probe.hpp"
#include "verdicts.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <regex>

using namespace heal::plugin;

namespace {

struct Options {
    std::string host, ip, url = "/", ca, cert, key, expect, string, regex, send, expect_line;
    std::string warning, critical, certificate, follow = "ok", timeout_result = "critical";
    std::vector<std::string> headers;
    int port = 0;
    bool ssl = false, insecure = false, invert_regex = false, health = false, tcp = false;
    double timeout = 10;
    std::size_t max_size = 1 << 20;
    int verbose = 0;
};

[[noreturn]] void usage_error(const std::string& why) {
    std::cout << "WORKER UNKNOWN: " << sanitize(why, 400)
              << "\nUsage: check_worker -H HOST [-I IP] [-p PORT] [-u PATH] [-S] [--health|--tcp] "
                 "[-w SECS] [-c SECS] ... (check_worker --help)\n";
    std::exit(unknown);
}

std::optional<Range> range_or_die(const std::string& text) {
    if (text.empty()) return std::nullopt;
    std::string err;
    auto r = parse_range(text, err);
    if (!r) usage_error(err);
    return r;
}

/// A header from -k "Name: value"; refuses anything that could split the request.
std::pair<std::string, std::string> parse_header(const std::string& h) {
    auto colon = h.find(':');
    if (colon == 0 || colon == std::string::npos) usage_error("-k expects \"Name: value\", got '" + h + "'");
    std::string name = h.substr(0, colon), value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            usage_error("invalid header name in -k '" + h + "'");
    for (char c : value)
        if (c == '\r' || c == '\n' || c == '\0') usage_error("header value in -k contains a line break");
    return {name, value};
}

void add_time_perf(Result& res, double seconds, const Options& o) {
    res.add_perf({"time", number(seconds), "s", o.warning, o.critical, "0", number(o.timeout, 3)});
}

void check_certificate(Result& res, const ProbeResult& p, const Options& o) {
    if (o.certificate.empty() || !p.cert_days) return;
    auto comma = o.certificate.find(',');
    std::string w = o.certificate.substr(0, comma);
    std::string c = comma == std::string::npos ? "" : o.certificate.substr(comma + 1);
    long days = *p.cert_days;
    res.add_perf({"cert_days", std::to_string(days), "", w, c, "", ""});
    if (!c.empty() && days < std::stol(c))
        res.raise(critical, "certificate expires in " + std::to_string(days) + " day(s)");
    else if (days < std::stol(w))
        res.raise(warning, "certificate expires in " + std::to_string(days) + " day(s)");
}

void check_time(Result& res, double seconds, const Thresholds& th) {
    State s = th.check(seconds);
    if (s != ok) res.raise(s, "response time " + number(seconds, 3) + " s");
}

void judge_http(Result& res, const ProbeResult& p, const Options& o, const Thresholds& th,
                const std::optional<CodeList>& codes) {
    bool content_check = o.health || !o.string.empty() || !o.regex.empty();
    std::string size_note = p.body_over_limit ? " (over --max-size)" : "";
    if (codes)
        res.set(code_listed(*codes, p.status) ? ok : critical,
                "HTTP " + std::to_string(p.status) + (code_listed(*codes, p.status) ? "" : " (not in -e list)"));
    else
        res.set(default_code_state(p.status), "HTTP " + std::to_string(p.status));
    res.set(res.state(), res.summary() + ", " + std::to_string(p.body_bytes) + " bytes" + size_note +
                             " in " + number(p.seconds, 3) + " s");
    if (p.body_over_limit) {
        if (content_check)
            res.raise(critical, "body larger than --max-size " + std::to_string(o.max_size) +
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
        if (!o.regex.empty()) {
            std::regex re;
            try {
                re = std::regex(o.regex, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                usage_error("invalid -r regex: " + std::string(e.what()));
            }
            bool found = std::regex_search(p.body, re);
            if (found && o.invert_regex) res.raise(critical, "regex '" + o.regex + "' found");
            if (!found && !o.invert_regex) res.raise(critical, "regex '" + o.regex + "' not found");
        }
    }
    check_time(res, p.seconds, th);
    check_certificate(res, p, o);
    add_time_perf(res, p.seconds, o);
    res.add_perf({"size", std::to_string(p.body_bytes), "B", "", "", "0", ""});
    res.add_perf({"status_code", std::to_string(p.status), "", "", "", "", ""});
}

void judge_line(Result& res, const ProbeResult& p, const Options& o, const Thresholds& th) {
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
    check_time(res, p.seconds, th);
    check_certificate(res, p, o);
    add_time_perf(res, p.seconds, o);
    res.add_perf({"size", std::to_string(p.line.size()), "B", "", "", "0", ""});
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"check_worker - Nagios plugin for worker status endpoints (HTTP, JSON health, TCP)"};
    app.set_help_flag("-h,--help", "print this help and exit");
    app.add_option("-H,--hostname", o.host, "host name: Host header, TLS SNI and verified name");
    app.add_option("-I,--ip", o.ip, "address to connect to (default: HOST)");
    app.add_option("-p,--port", o.port, "port (default 80, 443 with -S)")->check(CLI::Range(1, 65535));
    app.add_option("-u,--url", o.url, "path to GET (default /)");
    app.add_flag("-S,--ssl", o.ssl, "use TLS (verified against the system store or --ca)");
    app.add_option("--ca", o.ca, "CA file to verify the server against");
    app.add_option("--cert", o.cert, "client certificate (PEM)");
    app.add_option("--key", o.key, "client key (PEM)");
    app.add_flag("--insecure", o.insecure, "do not verify the server certificate or name");
    app.add_option("-e,--expect", o.expect, "OK status codes, e.g. 200,204,300-399 (others CRITICAL)");
    app.add_option("-s,--string", o.string, "CRITICAL unless the body contains TEXT");
    app.add_option("-r,--regex", o.regex, "CRITICAL unless the body matches RE (ECMAScript)");
    app.add_flag("--invert-regex", o.invert_regex, "CRITICAL if the body matches -r");
    app.add_option("-k,--header", o.headers, "extra request header \"Name: value\" (repeatable)");
    app.add_option("-w,--warning", o.warning, "response time range (seconds) for WARNING");
    app.add_option("-c,--critical", o.critical, "response time range (seconds) for CRITICAL");
    app.add_option("-C,--certificate", o.certificate, "DAYS_WARN[,DAYS_CRIT] certificate expiry");
    app.add_flag("--health", o.health, "judge a JSON health document (Spring Boot Actuator shape)");
    app.add_flag("--tcp", o.tcp, "TCP mode: send --send, read one status line");
    app.add_option("--send", o.send, "TCP mode: text to send (\\n \\r \\t \\\\ escapes)");
    app.add_option("--expect-line", o.expect_line, "TCP mode: OK if the line contains TEXT");
    app.add_option("--max-size", o.max_size, "largest body read, bytes (default 1048576)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
    app.add_option("-f,--onredirect", o.follow, "ok (default) or follow (up to 5 hops)")
        ->check(CLI::IsMember({"ok", "follow"}));
    app.add_option("-t,--timeout", o.timeout, "seconds before giving up (default 10)")
        ->check(CLI::Range(0.001, 3600.0));
    app.add_option("--timeout-result", o.timeout_result, "state on timeout (default critical)")
        ->check(CLI::IsMember({"ok", "warning", "critical", "unknown"}));
    app.add_flag("-v,--verbose", o.verbose, "more detail in the long output");
    app.set_version_flag("-V,--version", std::string("check_worker ") + HEAL_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e) == 0 ? ok : unknown;
    } catch (const CLI::CallForVersion& e) {
        app.exit(e);
        return ok;
    } catch (const CLI::ParseError& e) {
        usage_error(e.what());
    }

    if (o.host.empty() && o.ip.empty()) usage_error("-H HOST or -I ADDRESS is required");
    if (o.health && o.tcp) usage_error("--health and --tcp exclude each other");
    if (!o.tcp && (!o.send.empty() || !o.expect_line.empty()))
        usage_error("--send and --expect-line need --tcp");
    if (o.tcp && o.port == 0) usage_error("--tcp needs -p PORT");
    if (!o.certificate.empty()) {
        auto valid = [](const std::string& s) {
            return !s.empty() && s.size() < 6 && s.find_first_not_of("0123456789") == std::string::npos;
        };
        auto comma = o.certificate.find(',');
        if (!valid(o.certificate.substr(0, comma)) ||
            (comma != std::string::npos && !valid(o.certificate.substr(comma + 1))))
            usage_error("-C expects DAYS_WARN[,DAYS_CRIT], got '" + o.certificate + "'");
        if (!o.ssl) usage_error("-C needs -S");
    }
    if (o.url.empty() || o.url.front() != '/' || o.url.find_first_of(" \r\n") != std::string::npos)
        usage_error("-u expects a path starting with '/', without blanks");
    Thresholds th{range_or_die(o.warning), range_or_die(o.critical)};
    std::optional<CodeList> codes;
    if (!o.expect.empty()) {
        std::string err;
        codes = parse_codes(o.expect, err);
        if (!codes) usage_error(err);
    }
    std::string send;
    if (!o.send.empty()) {
        std::string err;
        auto s = unescape(o.send, err);
        if (!s) usage_error(err);
        send = *s;
    }
    if (!o.regex.empty()) {
        try {
            std::regex test(o.regex, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            usage_error("invalid -r regex: " + std::string(e.what()));
        }
    }

    Target t;
    t.host = o.host.empty() ? o.ip : o.host;
    t.address = o.ip;
    t.port = static_cast<unsigned short>(o.port ? o.port : (o.ssl ? 443 : 80));
    t.tls = o.ssl;
    t.ca = o.ca;
    t.cert = o.cert;
    t.key = o.key;
    t.insecure = o.insecure;
    HttpRequest req;
    req.path = o.url;
    req.max_body = o.max_size;
    for (const auto& h : o.headers) req.headers.push_back(parse_header(h));

    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(o.timeout));
    Result res("WORKER");
    ProbeResult p;
    if (o.tcp) {
        p = probe_line(t, send, deadline);
    } else {
        p = probe_http(t, req, deadline);
        for (int hop = 0; o.follow == "follow" && p.error.empty() && p.status >= 300 &&
                          p.status <= 399 && !p.location.empty() && hop < 5;
             ++hop) {
            // Same host only: a redirect must not move a check to a host we were not told about.
            std::string loc = p.location;
            if (loc.front() != '/') {
                res.add_long("not following redirect to another origin: " + loc);
                break;
            }
            if (o.verbose) res.add_long("following redirect to " + loc);
            req.path = loc;
            double before = p.seconds;
            p = probe_http(t, req, deadline);
            p.seconds += before;
        }
    }

    if (!p.error.empty()) {
        State s = critical;
        if (p.timed_out) s = *parse_state(o.timeout_result);
        std::string why = p.error == "timed out" ? "" : " (" + p.error + ")";
        res.set(s, p.timed_out ? "timed out after " + number(o.timeout, 3) + " s" + why : p.error);
        if (p.timed_out) add_time_perf(res, o.timeout, o);
    } else if (o.tcp) {
        judge_line(res, p, o, th);
    } else {
        judge_http(res, p, o, th, codes);
    }
    std::cout << res.format();
    return res.state();
}
