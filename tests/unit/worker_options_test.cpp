// check_worker's command line, apart from its main: parsing and planning, hostile input included.
#include "checks/worker_options.hpp"

#include <gtest/gtest.h>

using namespace heal::plugin;

namespace {

/// argv for getopt, from words (the program name first).
struct Argv {
    std::vector<std::string> words;
    std::vector<char*> ptrs;
    explicit Argv(std::vector<std::string> args) : words(std::move(args)) {
        words.insert(words.begin(), "check_worker");
        for (auto& w : words) ptrs.push_back(w.data());
        ptrs.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(words.size()); }
};

WorkerParsed parse(std::vector<std::string> args) {
    Argv a(std::move(args));
    return parse_worker_options(a.argc(), a.ptrs.data());
}

/// The usage error for these words, from parsing or planning; "" when they make a plan.
std::string error_of(std::vector<std::string> args) {
    auto p = parse(std::move(args));
    if (!p.options) return p.error.empty() ? "no options" : p.error;
    auto planned = plan_check(*p.options);
    return planned.plan ? "" : planned.error;
}

WorkerPlan plan_of(std::vector<std::string> args) {
    auto p = parse(std::move(args));
    EXPECT_TRUE(p.options) << p.error;
    if (!p.options) return {};
    auto planned = plan_check(*p.options);
    EXPECT_TRUE(planned.plan) << planned.error;
    return planned.plan ? *planned.plan : WorkerPlan{};
}

}  // namespace

TEST(WorkerOptions, PlansTheRequestTheOptionsDescribe) {
    auto plan = plan_of({"-H", "web1.example:8443", "-S", "-u", "/health", "-w", "1", "-c", "2",
                         "-k", "X-Probe: yes", "-a", "ops:secret", "--health"});
    EXPECT_EQ(plan.target.host, "web1.example");
    EXPECT_EQ(plan.target.port, 8443) << "HOST:PORT gives the port unless -p does";
    EXPECT_TRUE(plan.target.tls);
    EXPECT_EQ(plan.request.method, "GET");
    EXPECT_EQ(plan.request.path, "/health");
    EXPECT_TRUE(plan.th.warn && plan.th.crit);
    ASSERT_EQ(plan.request.headers.size(), 2u);
    EXPECT_EQ(plan.request.headers[0].first, "Authorization");
    EXPECT_EQ(plan.request.headers[1], (std::pair<std::string, std::string>{"X-Probe", "yes"}));
    EXPECT_EQ(plan.link, "https://web1.example:8443/health");

    auto plain = plan_of({"-I", "192.0.2.7", "-P", "a=1"});
    EXPECT_EQ(plain.target.host, "192.0.2.7") << "-I alone names the host too";
    EXPECT_EQ(plain.target.port, 80);
    EXPECT_EQ(plain.request.method, "POST") << "-P means POST";
    EXPECT_EQ(plain.request.content_type, "application/x-www-form-urlencoded");
    EXPECT_TRUE(plan_of({"-H", "h", "-J", "c.pem", "-K", "k.pem"}).target.tls) << "-J means TLS, as check_http";
    EXPECT_EQ(plan_of({"-H", "h", "-S"}).target.port, 443);

    auto tcp = plan_of({"-H", "h", "--tcp", "-p", "7000", "--send", "status\\n"});
    EXPECT_EQ(tcp.send, "status\n") << "--send escapes unescaped";
    auto re = plan_of({"-H", "h", "-R", "^up$"});
    ASSERT_TRUE(re.regex);
    EXPECT_EQ(re.o.regex, "^up$");
}

TEST(WorkerOptions, ParsingRunsAgainFromAFreshState) {
    EXPECT_EQ(error_of({"-H", "a", "-p", "0"}), "-p expects a port (1-65535), got '0'");
    EXPECT_EQ(error_of({"-H", "a", "-p", "80"}), "") << "a second parse starts at argv[1] again";
    EXPECT_EQ(plan_of({"-H", "b"}).target.port, 80) << "nothing left over from the last parse";
}

TEST(WorkerOptions, HelpAndVersionArePrintedNotRun) {
    auto v = parse({"-V"});
    ASSERT_TRUE(v.print);
    EXPECT_EQ(v.print->rfind("check_worker ", 0), 0u);
    auto h = parse({"-H", "x", "--help"});
    ASSERT_TRUE(h.print);
    EXPECT_NE(h.print->find("Exit codes"), std::string::npos);
}

TEST(WorkerOptions, HostileAndWrongCommandLinesAreRefusedInWords) {
    EXPECT_EQ(error_of({}), "-H HOST or -I ADDRESS is required");
    EXPECT_EQ(error_of({"--bogus"}), "unknown option --bogus");
    EXPECT_EQ(error_of({"-H"}), "option -H needs a value");
    EXPECT_EQ(error_of({"-H", "a", "extra"}), "unexpected argument 'extra'");
    EXPECT_EQ(error_of({"-H", "a", "--extra-opts"}).rfind("--extra-opts is not supported", 0), 0u);
    EXPECT_EQ(error_of({"-H", "a", "-4", "-6"}), "-4 and -6 exclude each other");
    EXPECT_EQ(error_of({"-I", "::1", "-4"}), "-4 but -I ::1 is an IPv6 address");
    EXPECT_EQ(error_of({"-H", "a", "-p", "65536"}), "-p expects a port (1-65535), got '65536'");
    EXPECT_EQ(error_of({"-H", "a", "-p", "-1"}), "-p expects a port (1-65535), got '-1'");
    EXPECT_EQ(error_of({"-H", "a", "-t", "3601"}), "-t expects seconds (up to 3600), got '3601'");
    EXPECT_EQ(error_of({"-H", "a", "-t", "nan"}), "-t expects seconds (up to 3600), got 'nan'");
    EXPECT_EQ(error_of({"-H", "a", "--max-size", "0"}),
              "--max-size expects bytes (1 to 1073741824), got '0'");
    EXPECT_EQ(error_of({"-H", "http://a/x"}),
              "-H takes a host name, not a URL ('http://a/x'): use -H HOST [-S] [-p PORT] -u PATH")
        << "a URL would look like an outage and trigger a restart";
    // Text that would split the request or smuggle a header.
    EXPECT_EQ(error_of({"-H", "a", "-k", "X: a\r\nHost: evil"}), "header value in -k contains a line break");
    EXPECT_EQ(error_of({"-H", "a", "-k", "X Y: z"}), "invalid header name in -k 'X Y: z'");
    EXPECT_EQ(error_of({"-H", "a", "-k", ": z"}), "-k expects \"Name: value\", got ': z'");
    EXPECT_EQ(error_of({"-H", "a", "-u", "/a b"}), "-u expects a path starting with '/', without blanks");
    EXPECT_EQ(error_of({"-H", "a", "-u", "/a\r\nX: y"}), "-u expects a path starting with '/', without blanks");
    EXPECT_EQ(error_of({"-H", "a", "-A", "x\ny"}), "-T, -A and -a take text without control characters or line breaks");
    EXPECT_EQ(error_of({"-H", "a", "-j", "GET /x"}),
              "-j expects an HTTP method such as GET, HEAD, POST or OPTIONS, got 'GET /x'");
    EXPECT_EQ(error_of({"-H", "a", "-j", "CONNECT"}), "-j CONNECT is for proxies, which check_worker does not use");
    EXPECT_EQ(error_of({"-H", "a", "-a", "nocolon"}), "-a expects USER:PASSWORD");
    // Options that exclude or need each other.
    EXPECT_EQ(error_of({"-H", "a", "--health", "--tcp", "-p", "1"}), "--health and --tcp exclude each other");
    EXPECT_EQ(error_of({"-H", "a", "--tcp"}), "--tcp needs -p PORT");
    EXPECT_EQ(error_of({"-H", "a", "--send", "x"}), "--send and --expect-line need --tcp");
    EXPECT_NE(error_of({"-H", "a", "--tcp", "-p", "1", "-f", "follow"}).find("HTTP options, not for --tcp"),
              std::string::npos);
    EXPECT_EQ(error_of({"-H", "a", "-J", "c.pem"}), "a client certificate needs both -J/--cert and -K/--key");
    EXPECT_EQ(error_of({"-H", "a", "-N", "-s", "ok"}), "-N reads no body: --health, -s, -r and -m have nothing to check");
    EXPECT_EQ(error_of({"-H", "a", "-T", "text/plain"}), "-T needs -P");
    EXPECT_EQ(error_of({"-H", "a", "--noproxy", "*"}), "--noproxy needs -x");
    EXPECT_EQ(error_of({"-I", "192.0.2.1", "-x", "proxy:3128"}),
              "-I and -x exclude each other: through a proxy, the proxy connects to HOST");
    // Values that do not parse.
    EXPECT_EQ(error_of({"-H", "a", "-r", "(unclosed"}).rfind("invalid -r regex: ", 0), 0u);
    EXPECT_EQ(error_of({"-H", "a", "-C", "x"}), "-C expects DAYS_WARN[,DAYS_CRIT], got 'x'");
    EXPECT_EQ(error_of({"-H", "a", "-f", "sideways"}),
              "-f expects ok, warning, critical, follow, sticky or stickyport, got 'sideways'");
    EXPECT_EQ(error_of({"-H", "a", "--http-version", "2"}).rfind("--http-version 2: ", 0), 0u);
    EXPECT_EQ(error_of({"-H", "a", "-S1.0"}).rfind("-S takes no value, 1.2 or 1.3", 0), 0u);
    EXPECT_FALSE(error_of({"-H", "a", "-w", "x"}).empty());
    EXPECT_EQ(error_of({"-H", "a", "-e", "300-200"}), "invalid status code list '300-200' (expected e.g. 200,204,300-399)");
    EXPECT_FALSE(error_of({"-H", "a", "--tcp", "-p", "1", "--send", "\\q"}).empty()) << "an unknown escape";
    EXPECT_FALSE(error_of({"-H", "a", "-M", "-5"}).empty());
}
