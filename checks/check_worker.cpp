// check_worker: Nagios plugin for worker status endpoints (HTTP status servlets, JSON health
// documents, TCP status lines). Options follow check_http where the meaning is the same.
#include "plugin.hpp"
#include "probe.hpp"
#include "verdicts.hpp"
#include "version.hpp"

#include "text.hpp"

#include <getopt.h>

#include <cstdio>
#include <boost/asio/ip/address.hpp>
#include <re2/re2.h>

#include <memory>

using namespace heal::plugin;

namespace {

struct Options {
    std::string host, ip, url = "/", ca, cert, key, expect, string, regex, send, expect_line;
    std::string warning, critical, certificate, follow = "ok", timeout_result = "critical";
    std::vector<std::string> headers;
    int port = 0;
    bool ssl = false, insecure = false, invert_regex = false, health = false, tcp = false;
    bool tls13_only = false;
    double timeout = 10;
    std::size_t max_size = 1 << 20;
    int verbose = 0;
};

[[noreturn]] void usage_error(const std::string& why) {
    std::string text = "WORKER UNKNOWN: " + sanitize(why, 400) +
                       "\nUsage: check_worker -H HOST [-I IP] [-p PORT] [-u PATH] [-S] "
                       "[--health|--tcp] [-w SECS] [-c SECS] ... (check_worker --help)\n";
    std::fputs(text.c_str(), stdout);
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

/// -C DAYS_WARN[,DAYS_CRIT], parsed once.
struct CertDays {
    std::string warn_text, crit_text;  ///< as given, for perfdata
    long warn = 0;
    std::optional<long> crit;
};

std::optional<CertDays> parse_cert_days(const std::string& text) {
    CertDays d;
    auto comma = text.find(',');
    d.warn_text = text.substr(0, comma);
    unsigned long long n = 0;
    if (!heal::parse_uint(d.warn_text, 0, 99999, n)) return std::nullopt;
    d.warn = static_cast<long>(n);
    if (comma != std::string::npos) {
        d.crit_text = text.substr(comma + 1);
        if (!heal::parse_uint(d.crit_text, 0, 99999, n)) return std::nullopt;
        d.crit = static_cast<long>(n);
    }
    return d;
}

void check_certificate(Result& res, const ProbeResult& p, const std::optional<CertDays>& cd) {
    if (!cd || !p.cert_days) return;
    long days = *p.cert_days;
    res.add_perf({"cert_days", std::to_string(days), "", cd->warn_text, cd->crit_text, "", ""});
    if (cd->crit && days < *cd->crit)
        res.raise(critical, "certificate expires in " + std::to_string(days) + " day(s)");
    else if (days < cd->warn)
        res.raise(warning, "certificate expires in " + std::to_string(days) + " day(s)");
}

constexpr int max_redirects = 5;

bool is_redirect(const ProbeResult& p) {
    return p.status >= 300 && p.status <= 399 && !p.location.empty();
}

/// The path to follow for a Location on the same origin (same scheme, host and port as the
/// check), relative ("/next") or absolute ("http://host:port/next"); nullopt for anything else.
std::optional<std::string> same_origin_path(const std::string& loc, const Target& t) {
    if (loc.find_first_of(" \t\r\n") != std::string::npos) return std::nullopt;
    if (loc.rfind("//", 0) == 0) return std::nullopt;  // protocol-relative: another host
    if (!loc.empty() && loc.front() == '/') return loc;
    const std::string scheme = t.tls ? "https://" : "http://";
    if (loc.rfind(scheme, 0) != 0) return std::nullopt;
    auto rest = loc.substr(scheme.size());
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash), path = slash == std::string::npos ? "/" : rest.substr(slash);
    const unsigned short default_port = t.tls ? 443 : 80;
    const std::string host = t.host;
    if (authority == host + ":" + std::to_string(t.port) || (t.port == default_port && authority == host))
        return path;
    return std::nullopt;
}

/// What every mode judges after its own verdict: response time, certificate, time and size.
struct Common {
    const Options& o;
    const Thresholds& th;
    const std::optional<CertDays>& cert_days;
};

void judge_common(Result& res, const ProbeResult& p, const Common& c, std::uint64_t size) {
    if (State s = c.th.check(p.seconds); s != ok)
        res.raise(s, "response time " + number(p.seconds, 3) + " s");
    check_certificate(res, p, c.cert_days);
    add_time_perf(res, p.seconds, c.o);
    res.add_perf({"size", std::to_string(size), "B", "", "", "0", ""});
}

void judge_http(Result& res, const ProbeResult& p, const Common& c,
                const std::optional<CodeList>& codes, const RE2* regex) {
    const Options& o = c.o;
    bool content_check = o.health || !o.string.empty() || !o.regex.empty();
    std::string size_note = p.body_over_limit ? " (over --max-size)" : "";
    if (codes) {
        bool listed = code_listed(*codes, p.status);
        res.set(listed ? ok : critical,
                "HTTP " + std::to_string(p.status) + (listed ? "" : " (not in -e list)"));
    } else
        res.set(default_code_state(p.status), "HTTP " + std::to_string(p.status));
    res.set(res.state(), res.summary() + ", " + std::to_string(p.body_bytes) + " bytes" + size_note +
                             " in " + number(p.seconds, 3) + " s");
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
            if (found && o.invert_regex) res.raise(critical, "regex '" + o.regex + "' found");
            if (!found && !o.invert_regex) res.raise(critical, "regex '" + o.regex + "' not found");
        }
    }
    // Over the limit with a Content-Length, nothing of the body was read: report its size.
    judge_common(res, p, c, p.body_over_limit && p.declared_length ? *p.declared_length : p.body_bytes);
    res.add_perf({"status_code", std::to_string(p.status), "", "", "", "", ""});
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

constexpr const char* help_text =
    "check_worker " HEAL_VERSION " - Nagios plugin for worker status endpoints\n"
    "\n"
    "Usage: check_worker -H HOST [-I IP] [-p PORT] [-u PATH] [-S] [--health|--tcp] ...\n"
    "\n"
    "  -H, --hostname HOST      Host header, TLS SNI and the name the certificate must carry\n"
    "  -I, --ip ADDRESS         connect here instead of resolving HOST\n"
    "  -p, --port PORT          default 80, 443 with -S\n"
    "  -u, --url PATH           path to GET (default /)\n"
    "  -S, --ssl                TLS, verified against the system store or --ca\n"
    "      --ca FILE            CA file for verifying the server\n"
    "      --cert FILE, --key FILE  client certificate and key\n"
    "      --insecure           do not verify the server certificate or name\n"
    "  -e, --expect CODES       OK status codes, e.g. 200,204,300-399 (others CRITICAL)\n"
    "  -s, --string TEXT        CRITICAL unless the body contains TEXT\n"
    "  -r, --regex RE           CRITICAL unless the body matches RE (RE2 syntax, linear time)\n"
    "      --invert-regex       CRITICAL if the body matches -r\n"
    "  -k, --header 'N: v'      extra request header (repeatable)\n"
    "  -w, --warning RANGE      response time (seconds) range for WARNING\n"
    "  -c, --critical RANGE     response time (seconds) range for CRITICAL\n"
    "  -C, --certificate W[,C]  certificate expiry thresholds in days (with -S)\n"
    "      --health             judge a JSON health document (Spring Boot Actuator shape)\n"
    "      --tcp                send --send, read one status line\n"
    "      --send TEXT          TCP mode: text to send (\\n \\r \\t \\\\ escapes)\n"
    "      --expect-line TEXT   TCP mode: OK if the line contains TEXT\n"
    "      --max-size BYTES     largest body read (default 1048576)\n"
    "  -f, --onredirect ok|follow  follow same-server redirects (up to 5) or judge the 3xx\n"
    "  -t, --timeout SECONDS    give up after this long (default 10)\n"
    "      --timeout-result STATE  ok, warning, critical (default) or unknown\n"
    "  -v, --verbose            more detail in the long output\n"
    "  -V, --version            print the version\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See check_worker(1).\n";

enum LongOnly {
    opt_ca = 256, opt_cert, opt_key, opt_insecure, opt_invert_regex, opt_health, opt_tcp,
    opt_send, opt_expect_line, opt_max_size, opt_timeout_result
};

// getopt_long, as Nagios plugins traditionally do: a plugin starts thousands of times an hour,
// and a richer parser cost 12% of check_worker's instructions per call (callgrind).
Options parse_options(int argc, char** argv) {
    static const option long_options[] = {
        {"hostname", required_argument, nullptr, 'H'},
        {"ip", required_argument, nullptr, 'I'},
        {"port", required_argument, nullptr, 'p'},
        {"url", required_argument, nullptr, 'u'},
        {"ssl", optional_argument, nullptr, 'S'},
        {"ca", required_argument, nullptr, opt_ca},
        {"cert", required_argument, nullptr, opt_cert},
        {"key", required_argument, nullptr, opt_key},
        {"insecure", no_argument, nullptr, opt_insecure},
        {"expect", required_argument, nullptr, 'e'},
        {"string", required_argument, nullptr, 's'},
        {"regex", required_argument, nullptr, 'r'},
        {"invert-regex", no_argument, nullptr, opt_invert_regex},
        {"header", required_argument, nullptr, 'k'},
        {"warning", required_argument, nullptr, 'w'},
        {"critical", required_argument, nullptr, 'c'},
        {"certificate", required_argument, nullptr, 'C'},
        {"health", no_argument, nullptr, opt_health},
        {"tcp", no_argument, nullptr, opt_tcp},
        {"send", required_argument, nullptr, opt_send},
        {"expect-line", required_argument, nullptr, opt_expect_line},
        {"max-size", required_argument, nullptr, opt_max_size},
        {"onredirect", required_argument, nullptr, 'f'},
        {"timeout", required_argument, nullptr, 't'},
        {"timeout-result", required_argument, nullptr, opt_timeout_result},
        {"verbose", no_argument, nullptr, 'v'},
        {"version", no_argument, nullptr, 'V'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0}};
    Options o;
    opterr = 0;  // our own messages, in plugin format
    for (;;) {
        int index = 0;
        int c = getopt_long(argc, argv, ":H:I:p:u:S::e:s:r:k:w:c:C:f:t:vVh", long_options, &index);
        if (c == -1) break;
        std::string arg = optarg ? optarg : "";
        unsigned long long n = 0;
        switch (c) {
            case 'H': o.host = arg; break;
            case 'I': o.ip = arg; break;
            case 'p':
                if (!heal::parse_uint(arg, 1, 65535, n)) usage_error("-p expects a port (1-65535), got '" + arg + "'");
                o.port = static_cast<int>(n);
                break;
            case 'u': o.url = arg; break;
            case 'S':  // as check_http: -S, or -S1.2 / -S1.3 for the oldest TLS version allowed
                o.ssl = true;
                if (arg == "1.3") o.tls13_only = true;
                else if (!arg.empty() && arg != "1.2")
                    usage_error("-S takes no value, 1.2 or 1.3 (the oldest TLS version to accept; "
                                "older ones are never used), got '" + arg + "'");
                break;
            case opt_ca: o.ca = arg; break;
            case opt_cert: o.cert = arg; break;
            case opt_key: o.key = arg; break;
            case opt_insecure: o.insecure = true; break;
            case 'e': o.expect = arg; break;
            case 's': o.string = arg; break;
            case 'r': o.regex = arg; break;
            case opt_invert_regex: o.invert_regex = true; break;
            case 'k': o.headers.push_back(arg); break;
            case 'w': o.warning = arg; break;
            case 'c': o.critical = arg; break;
            case 'C': o.certificate = arg; break;
            case opt_health: o.health = true; break;
            case opt_tcp: o.tcp = true; break;
            case opt_send: o.send = arg; break;
            case opt_expect_line: o.expect_line = arg; break;
            case opt_max_size:
                if (!heal::parse_uint(arg, 1, 1ull << 30, n))
                    usage_error("--max-size expects bytes (1 to 1073741824), got '" + arg + "'");
                o.max_size = static_cast<std::size_t>(n);
                break;
            case 'f':
                if (arg != "ok" && arg != "follow") usage_error("-f expects ok or follow, got '" + arg + "'");
                o.follow = arg;
                break;
            case 't':
                if (!heal::parse_seconds(arg, 3600, o.timeout))
                    usage_error("-t expects seconds (up to 3600), got '" + arg + "'");
                break;
            case opt_timeout_result:
                if (!parse_state(arg)) usage_error("--timeout-result expects ok, warning, critical or unknown");
                o.timeout_result = arg;
                break;
            case 'v': ++o.verbose; break;
            case 'V':
                std::fputs("check_worker " HEAL_VERSION "\n", stdout);
                std::exit(ok);
            case 'h':
                std::fputs(help_text, stdout);
                std::exit(ok);
            case ':': usage_error(std::string("option ") + argv[optind - 1] + " needs a value");
            default: usage_error(std::string("unknown option ") + argv[optind - 1]);
        }
    }
    if (optind < argc) usage_error(std::string("unexpected argument '") + argv[optind] + "'");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);

    if (o.host.empty() && o.ip.empty()) usage_error("-H HOST or -I ADDRESS is required");
    if (o.health && o.tcp) usage_error("--health and --tcp exclude each other");
    if (!o.tcp && (!o.send.empty() || !o.expect_line.empty()))
        usage_error("--send and --expect-line need --tcp");
    if (o.tcp && o.port == 0) usage_error("--tcp needs -p PORT");
    std::optional<CertDays> cert_days;
    if (!o.certificate.empty()) {
        cert_days = parse_cert_days(o.certificate);
        if (!cert_days) usage_error("-C expects DAYS_WARN[,DAYS_CRIT], got '" + o.certificate + "'");
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
    std::unique_ptr<RE2> regex;
    if (!o.regex.empty()) {
        RE2::Options ro;
        ro.set_log_errors(false);
        ro.set_max_mem(8 << 20);  // a pattern that needs more is refused, not slow
        regex = std::make_unique<RE2>(o.regex, ro);
        if (!regex->ok()) usage_error("invalid -r regex: " + regex->error());
    }

    // A URL or host:port in -H looks like an outage ("cannot resolve") and would trigger a
    // restart: it is a usage error, said so.
    if (o.host.find("://") != std::string::npos)
        usage_error("-H takes a host name, not a URL ('" + o.host +
                    "'): use -H HOST [-S] [-p PORT] -u PATH");
    if (auto colon = o.host.find(':'); colon != std::string::npos) {
        boost::system::error_code aec;
        boost::asio::ip::make_address(o.host, aec);
        if (aec)
            usage_error("-H takes a host name without a port ('" + o.host + "'): use -H " +
                        o.host.substr(0, colon) + " -p " + o.host.substr(colon + 1));
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
    t.tls13_only = o.tls13_only;
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
        int hops = 0;
        for (; o.follow == "follow" && p.error.empty() && is_redirect(p) && hops < max_redirects;
             ++hops) {
            // Same origin only: a redirect must not move a check to a host we were not told about.
            auto path = same_origin_path(p.location, t);
            if (!path) {
                res.add_long("not following redirect to another origin or odd target: " +
                             p.location);
                break;
            }
            if (o.verbose) res.add_long("following redirect to " + p.location);
            req.path = *path;
            double before = p.seconds;
            p = probe_http(t, req, deadline);
            p.seconds += before;
        }
        if (hops == max_redirects && p.error.empty() && is_redirect(p))
            p.error = "more than " + std::to_string(max_redirects) +
                      " redirects (a redirect loop?); the last went to " + p.location;
    }

    if (!p.error.empty()) {
        State s = critical;
        if (p.timed_out) s = *parse_state(o.timeout_result);
        std::string why = p.error == "timed out" ? "" : " (" + p.error + ")";
        res.set(s, p.timed_out ? "timed out after " + number(o.timeout, 3) + " s" + why : p.error);
        if (p.timed_out) add_time_perf(res, o.timeout, o);
    } else if (o.tcp) {
        judge_line(res, p, Common{o, th, cert_days});
    } else {
        judge_http(res, p, Common{o, th, cert_days}, codes, regex.get());
    }
    std::string out = res.format();
    std::fwrite(out.data(), 1, out.size(), stdout);
    return res.state();
}
