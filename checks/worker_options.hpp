// check_worker's command line, apart from its main: parsed (getopt_long, as Nagios plugins
// traditionally do) into WorkerOptions, then planned into what to ask and how to judge it. Both
// pure and unit-tested (tests/unit/worker_options_test.cpp); main() probes, judges and prints.
#pragma once

#include "common/plugin.hpp"
#include "checks/probe.hpp"
#include "checks/verdicts.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace re2 {
class RE2;
}

namespace heal::plugin {

/// The options as given (check_http's letters where the meaning is the same).
struct WorkerOptions {
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

/// What parsing gave: the options, a usage error in words, or text to print with exit 0
/// (--help, --version).
struct WorkerParsed {
    std::optional<WorkerOptions> options;
    std::string error;
    std::optional<std::string> print;
};

/// argv as check_worker got it. Resets getopt's state first, so it can be called again.
WorkerParsed parse_worker_options(int argc, char** argv);

/// Everything the check needs, made once from the options: the request, where it goes, and the
/// verdicts' inputs (ranges, codes, regex compiled with RE2).
struct WorkerPlan {
    WorkerOptions o;
    Thresholds th;
    std::optional<CertDays> cert_days;
    std::optional<Range> pagesize;
    std::optional<Expect> codes;
    std::shared_ptr<const re2::RE2> regex;
    std::string send;  ///< --send, unescaped
    Target target;
    HttpRequest request;
    std::string link;  ///< the URL, for -L
};

/// The plan, or a usage error in words: options that exclude each other or need another, values
/// that do not parse, a URL in -H, text that could split a request.
struct WorkerPlanned {
    std::optional<WorkerPlan> plan;
    std::string error;
};

WorkerPlanned plan_check(WorkerOptions o);

/// -f: whether a 3xx is followed (follow, sticky, stickyport) rather than given a state.
bool follows(const std::string& how);

}  // namespace heal::plugin
