// heal-ctl: sends one request to a heal-listener and reports the outcome.
// Exit codes (see heal-ctl(1)):
//   action verbs  0 done, 1 ran and failed or timed out, 2 refused, 3 no answer / usage error
//   status        the status script's exit code when 0-3, else 3
#include "client.hpp"
#include "client_config.hpp"
#include "text.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace {

constexpr int exit_unknown = 3;

const char* nagios_word(int code) {
    static const char* words[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
    return code >= 0 && code <= 3 ? words[code] : "UNKNOWN";
}

int exit_code_for(const std::string& verb, const heal::Reply& r) {
    if (verb == "status") {
        if (r.outcome == "refused" || r.outcome == "timed_out") return exit_unknown;
        if (r.exit_code && *r.exit_code >= 0 && *r.exit_code <= 3) return *r.exit_code;
        return exit_unknown;
    }
    if (r.outcome == "ok") return 0;
    if (r.outcome == "refused") return 2;
    return 1;  // failed, timed_out
}

std::string word_for(const std::string& verb, const heal::Reply& r, int code) {
    if (verb == "status" && r.outcome != "refused") return nagios_word(code);
    if (r.outcome == "ok") return "OK";
    if (r.outcome == "timed_out") return "TIMED OUT";
    if (r.outcome == "refused") return "REFUSED";
    return "FAILED";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"heal-ctl - ask a heal-listener to start, stop, restart or report a service"};
    app.set_help_flag("-h,--help", "print this help and exit");
    heal::ClientOptions cli;
    std::string config = "/etc/heal/heal-ctl.ini", verb, service;
    bool json = false;
    auto* o_host = app.add_option("-H,--host", cli.host, "listener host name or address");
    auto* o_port = app.add_option("-p,--port", cli.port, "listener port (default 5669)")
                       ->check(CLI::Range(1, 65535));
    auto* o_cert = app.add_option("--cert", cli.cert, "client certificate (PEM)");
    auto* o_key = app.add_option("--key", cli.key, "client private key (PEM)");
    auto* o_ca = app.add_option("--ca", cli.ca, "CA that signed the listener's certificate");
    auto* o_name = app.add_option("--server-name", cli.server_name,
                                  "name the listener's certificate must carry (default: HOST)");
    auto* o_bind = app.add_option("-b,--bind", cli.bind, "local source address");
    auto* o_timeout = app.add_option("-t,--timeout", cli.timeout, "seconds for the whole call (default 30)")
                          ->check(CLI::Range(0.001, 3600.0));
    auto* o_config = app.add_option("-c,--config", config, "client configuration file");
    app.add_flag("--json", json, "print the listener's reply as JSON");
    app.add_option("VERB", verb, "start, stop, restart or status")->required();
    app.add_option("SERVICE", service, "service name as configured on the listener")->required();
    app.set_version_flag("-V,--version", std::string("heal-ctl ") + HEAL_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int rc = app.exit(e);
        return rc == 0 ? 0 : exit_unknown;
    }

    heal::ClientOptions opt;
    if (o_config->count() || ::access(config.c_str(), F_OK) == 0) {
        try {
            heal::load_client_config(config, opt);
        } catch (const heal::ConfigError& e) {
            std::cerr << "heal-ctl: " << e.what() << "\n";
            return exit_unknown;
        }
    }
    // Command-line values win over the file.
    if (o_host->count()) opt.host = cli.host;
    if (o_port->count()) opt.port = cli.port;
    if (o_cert->count()) opt.cert = cli.cert;
    if (o_key->count()) opt.key = cli.key;
    if (o_ca->count()) opt.ca = cli.ca;
    if (o_name->count()) opt.server_name = cli.server_name;
    if (o_bind->count()) opt.bind = cli.bind;
    if (o_timeout->count()) opt.timeout = cli.timeout;
    if (opt.cert.empty() || opt.key.empty() || opt.ca.empty()) {
        std::cerr << "heal-ctl: --cert, --key and --ca are required (or cert, key and ca in "
                  << config << ")\n";
        return exit_unknown;
    }
    // Verbs and names are the listener's to judge; only refuse what cannot be framed at all.
    for (const auto& s : {verb, service})
        if (s.empty() || s.find_first_of(" \r\n\t") != std::string::npos ||
            s.find('\0') != std::string::npos) {
            std::cerr << "heal-ctl: VERB and SERVICE must be single words\n";
            return exit_unknown;
        }

    auto result = heal::call_listener(opt, heal::format_request(verb, service));
    if (!result.answered) {
        if (json)
            std::cout << R"({"outcome":"no_answer","message":)"
                      << boost::json::serialize(boost::json::string(result.error)) << "}\n";
        else
            std::cout << "HEAL UNKNOWN: " << verb << " " << service << " on " << opt.host
                      << ": no answer: " << heal::printable(result.error, 400) << "\n";
        return exit_unknown;
    }
    const auto& r = result.reply;
    int code = exit_code_for(verb, r);
    if (json) {
        std::cout << heal::to_json_line(r);
        return code;
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", static_cast<double>(r.duration_ms) / 1000.0);
    std::string message = r.message, output = r.output, perfdata;
    if (verb == "status" && r.outcome != "refused" && !output.empty()) {
        // As a Nagios check, the status script's own first line is the news: it becomes the
        // summary, its perfdata stays perfdata, the rest stays long output.
        auto eol = output.find('\n');
        message = output.substr(0, eol);
        output = eol == std::string::npos ? "" : output.substr(eol + 1);
        if (auto bar = message.find('|'); bar != std::string::npos) {
            perfdata = heal::printable(std::string_view(message).substr(bar + 1), 1000);
            message.erase(bar);
        }
        while (!message.empty() && message.back() == ' ') message.pop_back();
    }
    std::cout << "HEAL " << word_for(verb, r, code) << ": " << verb << " " << service << " on "
              << opt.host << ": " << heal::printable(message, 300) << " (" << secs << " s, id "
              << r.id << ")";
    if (r.truncated) std::cout << " [output truncated]";
    if (!perfdata.empty()) std::cout << " |" << perfdata;
    std::cout << "\n" << output;
    if (!output.empty() && output.back() != '\n') std::cout << "\n";
    return code;
}
