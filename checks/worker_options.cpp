// check_worker's options: parsed and planned, pure (see worker_options.hpp).
#include "checks/worker_options.hpp"

#include "common/clock.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <getopt.h>

#include <boost/asio/ip/address.hpp>
#include <re2/re2.h>

#include <cctype>

namespace heal::plugin {

bool follows(const std::string& how) { return how == "follow" || how == "sticky" || how == "stickyport"; }

namespace {

WorkerParsed failed(std::string why) { return {.error = std::move(why)}; }
WorkerPlanned refused(std::string why) { return {.error = std::move(why)}; }

/// A header from -k "Name: value"; refuses anything that could split the request.
std::optional<std::pair<std::string, std::string>> parse_header(const std::string& h, std::string& err) {
    auto colon = h.find(':');
    if (colon == 0 || colon == std::string::npos) return err = "-k expects \"Name: value\", got '" + h + "'", std::nullopt;
    std::string name = h.substr(0, colon), value = h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            return err = "invalid header name in -k '" + h + "'", std::nullopt;
    for (char c : value)
        if (c == '\r' || c == '\n' || c == '\0') return err = "header value in -k contains a line break", std::nullopt;
    return std::pair{name, value};
}

/// "user:password" as the value of a Basic Authorization header (RFC 7617).
std::string basic_authorization(const std::string& pair) { return "Basic " + base64(pair); }

/// A value for a request line or header: printable, no line breaks.
bool header_safe(const std::string& v) {
    for (char c : v)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
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

}  // namespace

// getopt_long, as Nagios plugins traditionally do: a plugin starts thousands of times an hour,
// and a richer parser cost 12% of check_worker's instructions per call (callgrind).
WorkerParsed parse_worker_options(int argc, char** argv) {
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
    WorkerOptions o;
    optind = 0;  // glibc: a full reset, so that parsing can run again (tests)
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
                if (o.family != heal::Family::any && o.family != f) return failed("-4 and -6 exclude each other");
                o.family = f;
                break;
            }
            case 'j':
                if (arg.empty()) return failed("-j expects an HTTP method such as GET, HEAD, POST or OPTIONS");
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
                    return failed("-M expects an age: seconds or a number with m, h or d, got '" + arg + "'");
                o.max_age = age;
                break;
            }
            case 'L': o.link = true; break;
            case opt_sni: break;  // SNI is always sent for a host name
            case 'p':
                if (!heal::parse_uint(arg, 1, 65535, n)) return failed("-p expects a port (1-65535), got '" + arg + "'");
                o.port = static_cast<int>(n);
                break;
            case 'u': o.url = arg; break;
            case 'S':  // as check_http: -S, or -S1.2 / -S1.3 for the oldest TLS version allowed
                o.ssl = true;
                if (arg == "1.3" || arg == "1.3+") o.tls13_only = true;
                // "1+", "1.1+", "1.2+": that or newer, and check_worker never goes below 1.2.
                else if (!arg.empty() && arg != "1.2" && arg != "1.2+" && arg != "1+" && arg != "1.1+")
                    return failed("-S takes no value, 1.2 or 1.3 (the oldest TLS version to accept; "
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
                else return failed("--http-version " + arg + ": check_worker speaks HTTP/1.1 and 1.0 only "
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
                if (arg != "critical" && arg != "warning") return failed("--state-regex expects critical or warning");
                o.state_regex = arg;
                break;
            case 'B': o.show_body = true; break;
            case opt_max_redirs:
                if (!heal::parse_uint(arg, 0, 100, n)) return failed("--max-redirs expects 0 to 100, got '" + arg + "'");
                o.max_redirects = static_cast<int>(n);
                break;
            case opt_continue: break;  // the page is always checked
            case 'E': o.extended_perfdata = true; break;
            case opt_unsupported: return failed(unsupported_why(long_options[index].name));
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
                    return failed("--max-size expects bytes (1 to 1073741824), got '" + arg + "'");
                o.max_size = static_cast<std::size_t>(n);
                break;
            case 'f':
                o.follow = to_lower(arg);
                if (!follows(o.follow) && o.follow != "ok" && o.follow != "warning" && o.follow != "critical")
                    return failed("-f expects ok, warning, critical, follow, sticky or stickyport, got '" + arg + "'");
                break;
            case 't':
                if (!heal::parse_seconds(arg, 3600, o.timeout))
                    return failed("-t expects seconds (up to 3600), got '" + arg + "'");
                break;
            case opt_timeout_result:
                if (!parse_state(arg)) return failed("--timeout-result expects ok, warning, critical or unknown");
                o.timeout_result = arg;
                break;
            case 'v': ++o.verbose; break;
            case 'V': return {.print = "check_worker " HEAL_VERSION "\n"};
            case 'h': return {.print = help_text};
            case ':': return failed(std::string("option ") + argv[optind - 1] + " needs a value");
            default: return failed(std::string("unknown option ") + argv[optind - 1]);
        }
    }
    if (optind < argc) return failed(std::string("unexpected argument '") + argv[optind] + "'");
    return {.options = std::move(o)};
}

WorkerPlanned plan_check(WorkerOptions o) {
    WorkerPlan plan;

    if (o.host.empty() && o.ip.empty()) return refused("-H HOST or -I ADDRESS is required");
    if (o.health && o.tcp) return refused("--health and --tcp exclude each other");
    if (!o.tcp && (!o.send.empty() || !o.expect_line.empty()))
        return refused("--send and --expect-line need --tcp");
    if (o.tcp && o.port == 0) return refused("--tcp needs -p PORT");
    if (o.tcp && (!o.method.empty() || !o.post.empty() || !o.content_type.empty() ||
                  !o.authorization.empty() || !o.user_agent.empty() || o.no_body ||
                  !o.pagesize.empty() || o.max_age || o.follow != "ok" || o.link ||
                  !o.header_string.empty() || !o.proxy.empty() || o.http_version != 11 ||
                  o.decompress || o.show_body || o.extended_perfdata))
        return refused("-j, -P, -T, -a, -A, -N, -m, -M, -f, -L, -d, -B, -E, -x, --http-version and "
                    "--enable-automatic-decompression are HTTP options, not for --tcp");
    if (!o.certificate.empty()) {
        plan.cert_days = parse_cert_days(o.certificate);
        if (!plan.cert_days) return refused("-C expects DAYS_WARN[,DAYS_CRIT], got '" + o.certificate + "'");
    }
    // As check_http: a certificate check or a client certificate means TLS (a CA file too).
    if (plan.cert_days || !o.cert.empty() || !o.key.empty() || !o.ca.empty()) o.ssl = true;
    if (o.cert.empty() != o.key.empty()) return refused("a client certificate needs both -J/--cert and -K/--key");
    if (!o.noproxy.empty() && o.proxy.empty()) return refused("--noproxy needs -x");
    if (!o.proxy_authorization.empty() && o.proxy.empty()) return refused("-b needs -x");
    if (o.url.empty() || o.url.front() != '/' || o.url.find_first_of(" \r\n") != std::string::npos)
        return refused("-u expects a path starting with '/', without blanks");
    if (o.method.empty()) o.method = o.post.empty() ? "GET" : "POST";
    if (o.method.size() > 20 ||
        o.method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                   "!#$%&'*+-.^_`|~") != std::string::npos)
        return refused("-j expects an HTTP method such as GET, HEAD, POST or OPTIONS, got '" + o.method + "'");
    if (o.method == "CONNECT") return refused("-j CONNECT is for proxies, which check_worker does not use");
    if (!o.content_type.empty() && o.post.empty()) return refused("-T needs -P");
    if (o.post.empty() == false && o.content_type.empty())
        o.content_type = "application/x-www-form-urlencoded";
    if (!header_safe(o.content_type) || !header_safe(o.user_agent) || !header_safe(o.authorization))
        return refused("-T, -A and -a take text without control characters or line breaks");
    if (!o.authorization.empty() && o.authorization.find(':') == std::string::npos)
        return refused("-a expects USER:PASSWORD");
    bool content_check = o.health || !o.string.empty() || !o.regex.empty() || !o.pagesize.empty();
    if (content_check && (o.no_body || o.method == "HEAD"))
        return refused(std::string(o.no_body ? "-N" : "-j HEAD") +
                    " reads no body: --health, -s, -r and -m have nothing to check");
    if (!o.pagesize.empty()) {
        std::string err;
        plan.pagesize = parse_pagesize(o.pagesize, err);
        if (!plan.pagesize) return refused(err);
    }
    for (const auto* text : {&o.warning, &o.critical}) {
        if (text->empty()) continue;
        std::string err;
        auto r = parse_range(*text, err);
        if (!r) return refused(err);
        (text == &o.warning ? plan.th.warn : plan.th.crit) = r;
    }
    if (!o.expect.empty()) {
        std::string err;
        plan.codes = parse_expect(o.expect, err);
        if (!plan.codes) return refused(err);
    }
    if (!o.send.empty()) {
        std::string err;
        auto s = unescape(o.send, err);
        if (!s) return refused(err);
        plan.send = *s;
    }
    if (!o.regex.empty()) {
        RE2::Options ro;
        ro.set_log_errors(false);
        ro.set_max_mem(8 << 20);  // a pattern that needs more is refused, not slow
        ro.set_case_sensitive(!o.regex_icase);
        // check_http compiles with REG_NEWLINE: ^ and $ at every line, . stops at a newline.
        // -l (linespan) turns that off: the body's ends only, and . matches a newline.
        ro.set_dot_nl(o.linespan);
        auto regex = std::make_shared<RE2>(o.linespan ? o.regex : "(?m)" + o.regex, ro);
        if (!regex->ok()) return refused("invalid -r regex: " + regex->error());
        plan.regex = std::move(regex);
    }

    // A URL in -H looks like an outage ("cannot resolve") and would trigger a restart: it is a
    // usage error, said so. HOST:PORT is check_http's: the Host header's port, and the port to
    // connect to unless -p says otherwise.
    if (o.host.find("://") != std::string::npos)
        return refused("-H takes a host name, not a URL ('" + o.host +
                    "'): use -H HOST [-S] [-p PORT] -u PATH");
    unsigned short vhost_port = 0;
    {
        std::string err;
        if (auto hp = split_host_port(o.host, err)) {
            o.host = hp->first;
            vhost_port = hp->second;
            if (o.port == 0) o.port = vhost_port;
        } else if (!err.empty()) {
            return refused(err);
        }
    }
    std::optional<std::pair<std::string, unsigned short>> proxy;
    if (!o.proxy.empty()) {
        std::string err;
        proxy = parse_proxy(o.proxy, err);
        if (!proxy) return refused(err);
        if (!o.ip.empty()) return refused("-I and -x exclude each other: through a proxy, the proxy connects to HOST");
        if (o.follow == "sticky" || o.follow == "stickyport")
            return refused("-f " + o.follow + " keeps the first address, which a proxy does not have: use -f follow");
        if (!o.proxy_authorization.empty() &&
            (!header_safe(o.proxy_authorization) || o.proxy_authorization.find(':') == std::string::npos))
            return refused("-b expects USER:PASSWORD");
        if (no_proxy_for(o.noproxy, o.host.empty() ? o.ip : o.host)) proxy.reset();
    }
    if (!o.ip.empty() && o.family != heal::Family::any) {
        boost::system::error_code aec;
        auto a = boost::asio::ip::make_address(o.ip, aec);
        if (!aec && a.is_v4() != (o.family == heal::Family::v4))
            return refused(std::string(o.family == heal::Family::v4 ? "-4" : "-6") + " but -I " + o.ip +
                        " is an IPv" + (a.is_v4() ? "4" : "6") + " address");
    }
    Target& t = plan.target;
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
    HttpRequest& req = plan.request;
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
    for (const auto& h : o.headers) {
        std::string err;
        auto header = parse_header(h, err);
        if (!header) return refused(err);
        req.headers.push_back(*header);
    }
    plan.link = (t.tls ? "https://" : "http://") + authority(t) + o.url;
    plan.o = std::move(o);
    return {.plan = std::move(plan)};
}

}  // namespace heal::plugin
