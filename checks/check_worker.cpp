// check_worker: Nagios plugin for worker status endpoints (HTTP status servlets, JSON health
// documents, TCP status lines). Options follow check_http where the meaning is the same.
#include "clock.hpp"
#include "plugin.hpp"
#include "probe.hpp"
#include "verdicts.hpp"
#include "version.hpp"

#include "text.hpp"

#include <getopt.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <boost/asio/ip/address.hpp>
#include <re2/re2.h>

#include <memory>

using namespace heal::plugin;

namespace {

struct Options {
    std::string host, ip, url = "/", ca, cert, key, expect, string, regex, send, expect_line;
    std::string warning, critical, certificate, follow = "ok", timeout_result = "critical";
    std::string method, post, content_type, authorization, user_agent, pagesize;
    std::string header_string, state_regex = "critical", proxy, noproxy, proxy_authorization;
    std::vector<std::string> headers;
    int port = 0, max_redirects = 15;
    unsigned http_version = 11;
    bool ssl = false, insecure = false, invert_regex = false, health = false, tcp = false;
    bool tls13_only = false, no_body = false, link = false, regex_icase = false, linespan = false;
    bool show_body = false, decompress = false, haproxy = false, extended_perfdata = false;
    heal::Family family = heal::Family::any;
    std::optional<double> max_age;
    double timeout = 10;
    std::size_t max_size = 1 << 20;
    int verbose = 0;
};

constexpr Usage usage{"WORKER",
                      "Usage: check_worker -H HOST [-I IP] [-p PORT] [-u PATH] [-S] [--health|--tcp] "
                      "[-w SECS] [-c SECS] ... (check_worker --help)"};

[[noreturn]] void usage_error(const std::string& why) { usage_exit(usage, why); }

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

void check_certificate(Result& res, const ProbeResult& p, const std::optional<CertDays>& cd) {
    if (cd && p.cert) check_cert_days(res, *p.cert, *cd, "certificate");
}

bool is_redirect(const ProbeResult& p) {
    return p.status >= 300 && p.status <= 399 && !p.location.empty();
}

/// -f: a state for a 3xx, or how to follow it.
bool follows(const std::string& how) { return how == "follow" || how == "sticky" || how == "stickyport"; }

/// "user:password" as the value of a Basic Authorization header (RFC 7617).
std::string basic_authorization(const std::string& pair) { return "Basic " + base64(pair); }

/// A value for a request line or header: printable, no line breaks.
bool header_safe(const std::string& v) {
    for (char c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
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

constexpr const char* help_text =
    "check_worker " HEAL_VERSION " - Nagios plugin for worker status endpoints\n"
    "\n"
    "Usage: check_worker -H HOST [-I IP] [-p PORT] [-u PATH] [-S] [--health|--tcp] ...\n"
    "\n"
    "  -H, --hostname HOST      Host header, TLS SNI and the name the certificate must carry\n"
    "  -I, --ip ADDRESS         connect here instead of resolving HOST\n"
    "  -4, --use-ipv4 / -6, --use-ipv6  connect over IPv4 / IPv6 only\n"
    "  -p, --port PORT          default 80, 443 with -S\n"
    "  -u, --url PATH           path to request (default /)\n"
    "  -j, --method METHOD      HTTP method (default GET, POST with -P)\n"
    "  -P, --post DATA          request body (URL-encoded form data unless -T)\n"
    "  -T, --content-type TYPE  Content-Type of -P (default application/x-www-form-urlencoded)\n"
    "  -a, --authorization USER:PASSWORD  HTTP Basic authentication\n"
    "  -A, --useragent TEXT     User-Agent (default check_worker/VERSION)\n"
    "  -N, --no-body            stop reading after the response headers\n"
    "  -S, --ssl[=1.2|1.3]      TLS (1.2 or newer), verified against the system store or --ca\n"
    "      --ca, --ca-cert FILE CA file for verifying the server\n"
    "  -J, --cert, --client-cert FILE  client certificate (implies -S)\n"
    "  -K, --key, --private-key FILE   its key (implies -S)\n"
    "      --insecure           do not verify the server certificate or name\n"
    "  -D, --verify-cert        accepted: verification is always on unless --insecure\n"
    "      --sni                accepted for check_http; SNI is always sent for a HOST name\n"
    "  -x, --proxy [http://]HOST[:PORT]  through this HTTP proxy (CONNECT for TLS)\n"
    "      --noproxy LIST       names and domains reached directly, or * (with -x)\n"
    "  -b, --proxy-authorization USER:PASSWORD  Basic authentication with the proxy\n"
    "      --haproxy-protocol   send a PROXY protocol v1 line first\n"
    "      --http-version 1.0|1.1  HTTP version of the request (default 1.1)\n"
    "      --enable-automatic-decompression  ask for gzip/deflate, inflate within --max-size\n"
    "  -e, --expect LIST        OK status codes (200,204,300-399), or texts one of which\n"
    "                           must be in the status line (as check_http)\n"
    "  -d, --header-string TEXT CRITICAL unless the response headers contain TEXT\n"
    "  -s, --string TEXT        CRITICAL unless the body contains TEXT\n"
    "  -r, --regex, --ereg RE   CRITICAL unless the body matches RE (RE2 syntax, linear time;\n"
    "                           ^ and $ match at every line, as check_http)\n"
    "  -R, --eregi RE           the same, ignoring case\n"
    "  -l, --linespan           ^ and $ match at the body's ends only, . matches newlines\n"
    "      --invert-regex       CRITICAL if the body matches -r\n"
    "      --state-regex STATE  state when -r fails: critical (default) or warning\n"
    "  -B, --show-body          the body (cleaned, cut at 4 KiB) in the long output\n"
    "  -E, --extended-perfdata  time_connect, time_ssl, time_headers, time_firstbyte and\n"
    "                           time_transfer perfdata, as check_http\n"
    "  -k, --header 'N: v'      extra request header (repeatable)\n"
    "  -w, --warning RANGE      response time (seconds) range for WARNING\n"
    "  -c, --critical RANGE     response time (seconds) range for CRITICAL\n"
    "  -C, --certificate W[,C]  certificate expiry thresholds in days (with -S)\n"
    "  -m, --pagesize MIN[:MAX] WARNING when the page (headers + body) is smaller or larger\n"
    "  -M, --max-age AGE        CRITICAL when Last-Modified is older (90, 10m, 6h, 2d)\n"
    "      --health             judge a JSON health document (Spring Boot Actuator shape)\n"
    "      --tcp                send --send, read one status line\n"
    "      --send TEXT          TCP mode: text to send (\\n \\r \\t \\\\ escapes)\n"
    "      --expect-line TEXT   TCP mode: OK if the line contains TEXT\n"
    "      --max-size BYTES     largest body read (default 1048576)\n"
    "  -f, --onredirect HOW     a 3xx is ok (default), warning or critical; or follow it\n"
    "                           (up to --max-redirs): follow (same origin), sticky (any\n"
    "                           host, same address), stickyport (any host, same address, port)\n"
    "      --max-redirs N       redirects followed at most (default 15, as check_http)\n"
    "      --continue-after-certificate  accepted: the page is always checked with -C\n"
    "  -t, --timeout SECONDS    give up after this long (default 10)\n"
    "      --timeout-result STATE  ok, warning, critical (default) or unknown\n"
    "  -L, --link               wrap the first line in an HTML link to the URL\n"
    "  -v, --verbose            more detail in the long output\n"
    "  -V, --version            print the version\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See check_worker(1).\n";

enum LongOnly {
    opt_ca = 256, opt_insecure, opt_invert_regex, opt_health, opt_tcp,
    opt_send, opt_expect_line, opt_max_size, opt_timeout_result, opt_sni, opt_noproxy,
    opt_haproxy, opt_http_version, opt_decompress, opt_state_regex, opt_max_redirs,
    opt_continue, opt_unsupported
};

/// Options of check_http and check_curl that check_worker does not take, and why: a usage
/// error that says so beats a silent difference.
const char* unsupported_why(const std::string& name) {
    if (name == "extra-opts") return "--extra-opts is not supported: give the options on the command line (Nagios $USERn$ macros keep secrets out of it)";
    if (name == "cookie-jar") return "--cookie-jar is not supported: a status endpoint that needs a login session is not one check_worker can judge";
    return "not supported";
}

// getopt_long, as Nagios plugins traditionally do: a plugin starts thousands of times an hour,
// and a richer parser cost 12% of check_worker's instructions per call (callgrind).
Options parse_options(int argc, char** argv) {
    static const option long_options[] = {
        {"hostname", required_argument, nullptr, 'H'},
        {"ip", required_argument, nullptr, 'I'},
        {"use-ipv4", no_argument, nullptr, '4'},
        {"use-ipv6", no_argument, nullptr, '6'},
        {"method", required_argument, nullptr, 'j'},
        {"post", required_argument, nullptr, 'P'},
        {"content-type", required_argument, nullptr, 'T'},
        {"authorization", required_argument, nullptr, 'a'},
        {"useragent", required_argument, nullptr, 'A'},
        {"no-body", no_argument, nullptr, 'N'},
        {"pagesize", required_argument, nullptr, 'm'},
        {"max-age", required_argument, nullptr, 'M'},
        {"link", no_argument, nullptr, 'L'},
        {"sni", no_argument, nullptr, opt_sni},
        {"port", required_argument, nullptr, 'p'},
        {"url", required_argument, nullptr, 'u'},
        {"ssl", optional_argument, nullptr, 'S'},
        {"ca", required_argument, nullptr, opt_ca},
        {"ca-cert", required_argument, nullptr, opt_ca},
        {"cert", required_argument, nullptr, 'J'},
        {"client-cert", required_argument, nullptr, 'J'},
        {"key", required_argument, nullptr, 'K'},
        {"private-key", required_argument, nullptr, 'K'},
        {"insecure", no_argument, nullptr, opt_insecure},
        {"verify-cert", no_argument, nullptr, 'D'},
        {"proxy", required_argument, nullptr, 'x'},
        {"noproxy", required_argument, nullptr, opt_noproxy},
        {"proxy-authorization", required_argument, nullptr, 'b'},
        {"haproxy-protocol", no_argument, nullptr, opt_haproxy},
        {"http-version", required_argument, nullptr, opt_http_version},
        {"enable-automatic-decompression", no_argument, nullptr, opt_decompress},
        {"expect", required_argument, nullptr, 'e'},
        {"header-string", required_argument, nullptr, 'd'},
        {"string", required_argument, nullptr, 's'},
        {"regex", required_argument, nullptr, 'r'},
        {"ereg", required_argument, nullptr, 'r'},
        {"eregi", required_argument, nullptr, 'R'},
        {"linespan", no_argument, nullptr, 'l'},
        {"invert-regex", no_argument, nullptr, opt_invert_regex},
        {"state-regex", required_argument, nullptr, opt_state_regex},
        {"show-body", no_argument, nullptr, 'B'},
        {"max-redirs", required_argument, nullptr, opt_max_redirs},
        {"continue-after-certificate", no_argument, nullptr, opt_continue},
        {"extended-perfdata", no_argument, nullptr, 'E'},
        {"extra-opts", optional_argument, nullptr, opt_unsupported},
        {"cookie-jar", required_argument, nullptr, opt_unsupported},
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
        int c = getopt_long(argc, argv, ":H:I:p:u:S::e:s:r:R:k:w:c:C:f:t:46j:P:T:a:A:Nm:M:LvVhJ:K:Dx:b:d:lBE", long_options, &index);
        if (c == -1) break;
        std::string arg = optarg ? optarg : "";
        unsigned long long n = 0;
        switch (c) {
            case 'H': o.host = arg; break;
            case 'I': o.ip = arg; break;
            case '4':
            case '6': {
                auto f = c == '4' ? heal::Family::v4 : heal::Family::v6;
                if (o.family != heal::Family::any && o.family != f) usage_error("-4 and -6 exclude each other");
                o.family = f;
                break;
            }
            case 'j':
                if (arg.empty()) usage_error("-j expects an HTTP method such as GET, HEAD, POST or OPTIONS");
                o.method = arg;
                break;
            case 'P': o.post = arg; break;
            case 'T': o.content_type = arg; break;
            case 'a': o.authorization = arg; break;
            case 'A': o.user_agent = arg; break;
            case 'N': o.no_body = true; break;
            case 'm': o.pagesize = arg; break;
            case 'M': {
                double age = 0;
                if (!heal::parse_duration(arg, 100.0 * 365 * 86400, age))
                    usage_error("-M expects an age: seconds or a number with m, h or d, got '" + arg + "'");
                o.max_age = age;
                break;
            }
            case 'L': o.link = true; break;
            case opt_sni: break;  // SNI is always sent for a host name
            case 'p':
                if (!heal::parse_uint(arg, 1, 65535, n)) usage_error("-p expects a port (1-65535), got '" + arg + "'");
                o.port = static_cast<int>(n);
                break;
            case 'u': o.url = arg; break;
            case 'S':  // as check_http: -S, or -S1.2 / -S1.3 for the oldest TLS version allowed
                o.ssl = true;
                if (arg == "1.3" || arg == "1.3+") o.tls13_only = true;
                // "1+", "1.1+", "1.2+": that or newer, and check_worker never goes below 1.2.
                else if (!arg.empty() && arg != "1.2" && arg != "1.2+" && arg != "1+" && arg != "1.1+")
                    usage_error("-S takes no value, 1.2 or 1.3 (the oldest TLS version to accept; "
                                "older ones are never used), got '" + arg + "'");
                break;
            case opt_ca: o.ca = arg; break;
            case 'J': o.cert = arg; break;
            case 'K': o.key = arg; break;
            case opt_insecure: o.insecure = true; break;
            case 'D': break;  // verification is always on unless --insecure
            case 'x': o.proxy = arg; break;
            case opt_noproxy: o.noproxy = arg; break;
            case 'b': o.proxy_authorization = arg; break;
            case opt_haproxy: o.haproxy = true; break;
            case opt_http_version:
                if (arg == "1.0") o.http_version = 10;
                else if (arg == "1.1") o.http_version = 11;
                else usage_error("--http-version " + arg + ": check_worker speaks HTTP/1.1 and 1.0 only "
                                 "(every HTTP/2 server also answers 1.1)");
                break;
            case opt_decompress: o.decompress = true; break;
            case 'e': o.expect = arg; break;
            case 'd': o.header_string = arg; break;
            case 's': o.string = arg; break;
            case 'r':
            case 'R':
                o.regex = arg;
                o.regex_icase = c == 'R';
                break;
            case 'l': o.linespan = true; break;
            case opt_invert_regex: o.invert_regex = true; break;
            case opt_state_regex:
                if (arg != "critical" && arg != "warning") usage_error("--state-regex expects critical or warning");
                o.state_regex = arg;
                break;
            case 'B': o.show_body = true; break;
            case opt_max_redirs:
                if (!heal::parse_uint(arg, 0, 100, n)) usage_error("--max-redirs expects 0 to 100, got '" + arg + "'");
                o.max_redirects = static_cast<int>(n);
                break;
            case opt_continue: break;  // the page is always checked
            case 'E': o.extended_perfdata = true; break;
            case opt_unsupported: usage_error(unsupported_why(long_options[index].name));
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
                o.follow = to_lower(arg);
                if (!follows(o.follow) && o.follow != "ok" && o.follow != "warning" && o.follow != "critical")
                    usage_error("-f expects ok, warning, critical, follow, sticky or stickyport, got '" + arg + "'");
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
            default: getopt_common(c, argv, usage, "check_worker " HEAL_VERSION "\n", help_text);
        }
    }
    no_operands(argc, argv, usage);
    return o;
}

#ifdef HEAL_NO_TLS
/// This check_worker links no OpenSSL, so that a plain-HTTP check does not pay for loading and
/// binding it at every start (most of a check's instructions, a third of its memory: make
/// bench). TLS, or redirects that may lead to it, are checked by check_worker-tls beside it,
/// the same program built with OpenSSL, given the same arguments.
[[noreturn]] void hand_to_tls_build(char** argv) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    std::string dir = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string();
    const std::string tls = dir.substr(0, dir.rfind('/') + 1) + "check_worker-tls";
    if (n > 0) execv(tls.c_str(), argv);
    Result res("WORKER");
    res.set(unknown, "cannot run " + tls + " (" + std::strerror(errno) +
                         "): it makes check_worker's TLS checks, and is installed beside check_worker");
    std::string out = res.format();
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::exit(unknown);
}
#endif

}  // namespace

int main(int argc, char** argv) {
    Options o = parse_options(argc, argv);

    if (o.host.empty() && o.ip.empty()) usage_error("-H HOST or -I ADDRESS is required");
    if (o.health && o.tcp) usage_error("--health and --tcp exclude each other");
    if (!o.tcp && (!o.send.empty() || !o.expect_line.empty()))
        usage_error("--send and --expect-line need --tcp");
    if (o.tcp && o.port == 0) usage_error("--tcp needs -p PORT");
    if (o.tcp && (!o.method.empty() || !o.post.empty() || !o.content_type.empty() ||
                  !o.authorization.empty() || !o.user_agent.empty() || o.no_body ||
                  !o.pagesize.empty() || o.max_age || o.follow != "ok" || o.link ||
                  !o.header_string.empty() || !o.proxy.empty() || o.http_version != 11 ||
                  o.decompress || o.show_body || o.extended_perfdata))
        usage_error("-j, -P, -T, -a, -A, -N, -m, -M, -f, -L, -d, -B, -E, -x, --http-version and "
                    "--enable-automatic-decompression are HTTP options, not for --tcp");
    std::optional<CertDays> cert_days;
    if (!o.certificate.empty()) {
        cert_days = parse_cert_days(o.certificate);
        if (!cert_days) usage_error("-C expects DAYS_WARN[,DAYS_CRIT], got '" + o.certificate + "'");
    }
    // As check_http: a certificate check or a client certificate means TLS (a CA file too).
    if (cert_days || !o.cert.empty() || !o.key.empty() || !o.ca.empty()) o.ssl = true;
    if (o.cert.empty() != o.key.empty()) usage_error("a client certificate needs both -J/--cert and -K/--key");
    if (!o.noproxy.empty() && o.proxy.empty()) usage_error("--noproxy needs -x");
    if (!o.proxy_authorization.empty() && o.proxy.empty()) usage_error("-b needs -x");
    if (o.url.empty() || o.url.front() != '/' || o.url.find_first_of(" \r\n") != std::string::npos)
        usage_error("-u expects a path starting with '/', without blanks");
    if (o.method.empty()) o.method = o.post.empty() ? "GET" : "POST";
    if (o.method.size() > 20 ||
        o.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                   "!#$%&'*+-.^_`|~") != std::string::npos)
        usage_error("-j expects an HTTP method such as GET, HEAD, POST or OPTIONS, got '" + o.method + "'");
    if (o.method == "CONNECT") usage_error("-j CONNECT is for proxies, which check_worker does not use");
    if (!o.content_type.empty() && o.post.empty()) usage_error("-T needs -P");
    if (o.post.empty() == false && o.content_type.empty())
        o.content_type = "application/x-www-form-urlencoded";
    if (!header_safe(o.content_type) || !header_safe(o.user_agent) || !header_safe(o.authorization))
        usage_error("-T, -A and -a take text without control characters or line breaks");
    if (!o.authorization.empty() && o.authorization.find(':') == std::string::npos)
        usage_error("-a expects USER:PASSWORD");
    bool content_check = o.health || !o.string.empty() || !o.regex.empty() || !o.pagesize.empty();
    if (content_check && (o.no_body || o.method == "HEAD"))
        usage_error(std::string(o.no_body ? "-N" : "-j HEAD") +
                    " reads no body: --health, -s, -r and -m have nothing to check");
    std::optional<Range> pagesize;
    if (!o.pagesize.empty()) {
        std::string err;
        pagesize = parse_pagesize(o.pagesize, err);
        if (!pagesize) usage_error(err);
    }
    Thresholds th{range_or_die(o.warning), range_or_die(o.critical)};
    std::optional<Expect> codes;
    if (!o.expect.empty()) {
        std::string err;
        codes = parse_expect(o.expect, err);
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
        ro.set_case_sensitive(!o.regex_icase);
        // check_http compiles with REG_NEWLINE: ^ and $ at every line, . stops at a newline.
        // -l (linespan) turns that off: the body's ends only, and . matches a newline.
        ro.set_dot_nl(o.linespan);
        regex = std::make_unique<RE2>(o.linespan ? o.regex : "(?m)" + o.regex, ro);
        if (!regex->ok()) usage_error("invalid -r regex: " + regex->error());
    }

    // A URL in -H looks like an outage ("cannot resolve") and would trigger a restart: it is a
    // usage error, said so. HOST:PORT is check_http's: the Host header's port, and the port to
    // connect to unless -p says otherwise.
    if (o.host.find("://") != std::string::npos)
        usage_error("-H takes a host name, not a URL ('" + o.host +
                    "'): use -H HOST [-S] [-p PORT] -u PATH");
    unsigned short vhost_port = 0;
    {
        std::string err;
        if (auto hp = split_host_port(o.host, err)) {
            o.host = hp->first;
            vhost_port = hp->second;
            if (o.port == 0) o.port = vhost_port;
        } else if (!err.empty()) {
            usage_error(err);
        }
    }
    std::optional<std::pair<std::string, unsigned short>> proxy;
    if (!o.proxy.empty()) {
        std::string err;
        proxy = parse_proxy(o.proxy, err);
        if (!proxy) usage_error(err);
        if (!o.ip.empty()) usage_error("-I and -x exclude each other: through a proxy, the proxy connects to HOST");
        if (o.follow == "sticky" || o.follow == "stickyport")
            usage_error("-f " + o.follow + " keeps the first address, which a proxy does not have: use -f follow");
        if (!o.proxy_authorization.empty() &&
            (!header_safe(o.proxy_authorization) || o.proxy_authorization.find(':') == std::string::npos))
            usage_error("-b expects USER:PASSWORD");
        if (no_proxy_for(o.noproxy, o.host.empty() ? o.ip : o.host)) proxy.reset();
    }
    if (!o.ip.empty() && o.family != heal::Family::any) {
        boost::system::error_code aec;
        auto a = boost::asio::ip::make_address(o.ip, aec);
        if (!aec && a.is_v4() != (o.family == heal::Family::v4))
            usage_error(std::string(o.family == heal::Family::v4 ? "-4" : "-6") + " but -I " + o.ip +
                        " is an IPv" + (a.is_v4() ? "4" : "6") + " address");
    }
    Target t;
    t.host = o.host.empty() ? o.ip : o.host;
    t.family = o.family;
    t.address = o.ip;
    t.port = static_cast<unsigned short>(o.port ? o.port : (o.ssl ? 443 : 80));
    t.tls = o.ssl;
    t.ca = o.ca;
    t.cert = o.cert;
    t.key = o.key;
    t.insecure = o.insecure;
    t.tls13_only = o.tls13_only;
    t.vhost_port = vhost_port;
    t.haproxy = o.haproxy;
    if (proxy) {
        t.proxy_host = proxy->first;
        t.proxy_port = proxy->second;
        if (!o.proxy_authorization.empty()) t.proxy_authorization = basic_authorization(o.proxy_authorization);
    }
    HttpRequest req;
    req.version = o.http_version;
    req.decompress = o.decompress;
    req.method = o.method;
    req.path = o.url;
    req.max_body = o.max_size;
    req.user_agent = o.user_agent;
    req.body = o.post;
    req.content_type = o.content_type;
    req.headers_only = o.no_body;
    if (!o.authorization.empty()) req.headers.emplace_back("Authorization", basic_authorization(o.authorization));
    for (const auto& h : o.headers) req.headers.push_back(parse_header(h));
    const std::string link = (t.tls ? "https://" : "http://") + authority(t) + o.url;

#ifdef HEAL_NO_TLS
    if (t.tls || follows(o.follow)) hand_to_tls_build(argv);
#endif
    auto deadline = std::chrono::steady_clock::now() + heal::steady_duration(o.timeout);
    Result res("WORKER");
    ProbeResult p;
    if (o.tcp) {
        p = probe_line(t, send, deadline);
    } else {
        p = probe_http(t, req, deadline);
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
            p = probe_http(t, req, deadline);
            p.seconds += before;
        }
        if (follows(o.follow) && hops == o.max_redirects && p.error.empty() && is_redirect(p))
            p.error = "more than " + std::to_string(o.max_redirects) +
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
        judge_http(res, p, Common{o, th, cert_days}, codes, regex.get(), pagesize);
    }
    if (o.link) res.set_link(link);
    std::string out = res.format();
    std::fwrite(out.data(), 1, out.size(), stdout);
    return res.state();
}
