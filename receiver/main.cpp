// heal-alert-receiver: Prometheus Alertmanager's webhook drives heal. Without options it serves
// (webhook_server.hpp, heal_alerts.hpp); --check proves a deployment before the first alert (the
// configuration, the TLS files, the token, the state folder, the listeners' client
// configuration, and what Prometheus answers for every route's fleet-guard queries, each "ok"
// or "PROBLEM"); --test-page is a fire drill for the pages.
#include "common/client_config.hpp"
#include "fleet/store.hpp"
#include "common/ini_file.hpp"
#include "common/text.hpp"
#include "receiver/pages.hpp"
#include "receiver/prometheus_guard.hpp"
#include "receiver/prometheus_query.hpp"
#include "receiver/routes.hpp"
#include "receiver/webhook_server.hpp"
#include "gen/version.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ssl.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>

namespace {

using namespace heal;

struct Report {
    int problems = 0;
    void line(bool ok, const std::string& what, const std::string& text) {
        if (!ok) ++problems;
        std::cout << (ok ? "  ok       " : "  PROBLEM  ") << what
                  << std::string(what.size() < 15 ? 15 - what.size() : 1, ' ') << text << "\n";
    }
};

void check_tls(const receiver::Config& cfg, Report& r) {
    try {
        boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
        ctx.use_certificate_chain_file(cfg.cert);
        ctx.use_private_key_file(cfg.key, boost::asio::ssl::context::pem);
        if (!cfg.client_ca.empty()) ctx.load_verify_file(cfg.client_ca);
        r.line(true, "certificate", cfg.cert + " and its key load" +
                                        (cfg.client_ca.empty() ? "" : "; client certificates checked against " + cfg.client_ca));
    } catch (const std::exception& e) {
        r.line(false, "certificate", cfg.cert + ", " + cfg.key + (cfg.client_ca.empty() ? "" : ", " + cfg.client_ca) +
                                         ": " + e.what());
    }
}

void check_token(const receiver::Config& cfg, Report& r) {
    if (cfg.token_file.empty()) return r.line(true, "token", "none (client certificates only)");
    std::string token;
    try {
        token = receiver::read_token(cfg.token_file);  // as the server reads it
    } catch (const std::exception& e) {
        return r.line(false, "token", e.what());
    }
    struct stat st {};
    if (::stat(cfg.token_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        return r.line(false, "token", cfg.token_file + ": readable by every user (chmod o-r it)");
    r.line(true, "token", cfg.token_file + ": readable, " + std::to_string(token.size()) + " characters");
}

void check_state(const receiver::Config& cfg, Report& r) {
    receiver::adopt_old_store(cfg);
    for (const auto& [ok, words] : fleet::check_store(receiver::store_spec(cfg))) r.line(ok, "fleet store", words);
}

void check_client(const receiver::Config& cfg, Report& r) {
    try {
        auto o = client_options(cfg.client_config, true, {});
        r.line(true, "client config", cfg.client_config + ": certificate " + o.cert + ", port " + std::to_string(o.port));
    } catch (const std::exception& e) {
        r.line(false, "client config", e.what());
    }
}

void check_routes(const receiver::Config& cfg, Report& r) {
    const std::string up = receiver::ready(cfg.prometheus, cfg.io_timeout, cfg.prometheus_ca, "prometheus_ca");
    r.line(up.empty(), "prometheus", up.empty() ? cfg.prometheus + ": ready" : up);
    for (const auto& route : cfg.routes) {
        bool failed = false;
        const auto view = receiver::ask_prometheus(cfg, route, failed);
        const std::string what = "route " + route.name;
        if (failed) r.line(false, what, *view.blocked_by);
        else if (view.blocked_by) r.line(true, what, view.seen + ": a heal now would be blocked: " + *view.blocked_by);
        else r.line(true, what, view.seen + ": a heal now would go on to the listener");
    }
    const std::string am = receiver::ready(cfg.alertmanager, cfg.io_timeout, cfg.alertmanager_ca, "alertmanager_ca");
    r.line(am.empty(), "alertmanager", am.empty() ? cfg.alertmanager + ": ready" : am);
}

/// --test-page: one HealBlocked alert (guard=test, ending in 5 minutes) posted to Alertmanager.
int test_page_drill(const receiver::Config& cfg) {
    receiver::Page p;
    p.host = "heal-alert-receiver";
    p.service = "test";
    p.route = "test";
    p.guard = "test";
    p.sentence = "a fire drill from heal-alert-receiver --test-page: pages about heals reach you this way";
    p.fingerprint = "0000000000000000";
    const auto err = receiver::post_alerts(cfg.alertmanager, receiver::alerts_body({p}, heal::now_ms(), 300),
                                           cfg.io_timeout, cfg.alertmanager_ca);
    if (!err.empty()) {
        std::cout << "test page not posted: " << err << "\n";
        return 1;
    }
    std::cout << "test page posted to " << cfg.alertmanager << ": alertname=HealBlocked guard=test, ending in 5 minutes\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"heal-alert-receiver - Prometheus Alertmanager's webhook drives heal"};
    std::string config = "/etc/heal/receiver.ini";
    bool check = false, test_page = false;
    app.add_option("-c,--config", config, "configuration file (default /etc/heal/receiver.ini)");
    app.add_flag("--check", check, "check the configuration and what it names, print each item, exit 0 or 1");
    app.add_flag("--test-page", test_page,
                 "a fire drill: post one HealBlocked alert (guard=test, ending in 5 minutes) to Alertmanager, exit 0 or 1");
    app.set_version_flag("-V,--version", std::string("heal-alert-receiver ") + HEAL_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    receiver::Config cfg;
    try {
        cfg = receiver::load_config(config);
    } catch (const std::exception& e) {
        if (!check && !test_page) {
            std::cerr << "heal-alert-receiver: " << e.what() << "\n";
            return 2;
        }
        std::cout << "  PROBLEM  configuration  " << e.what() << "\n1 problem\n";
        return 1;
    }
    if (!check && !test_page) {
        try {
            receiver::Receiver r(std::move(cfg));
            return receiver::serve(r);
        } catch (const std::exception& e) {
            std::cerr << "heal-alert-receiver: cannot start: " << e.what() << "\n";
            return 2;
        }
    }
    if (test_page) return test_page_drill(cfg);
    Report r;
    r.line(true, "configuration", config + ": " + std::to_string(cfg.routes.size()) + " route(s)" +
                                      (cfg.dry_run ? ", dry run" : ""));
    check_tls(cfg, r);
    check_token(cfg, r);
    check_state(cfg, r);
    check_client(cfg, r);
    check_routes(cfg, r);
    if (r.problems == 0) std::cout << "everything is usable\n";
    else std::cout << r.problems << " problem" << (r.problems == 1 ? "" : "s") << "\n";
    return r.problems == 0 ? 0 : 1;
}
