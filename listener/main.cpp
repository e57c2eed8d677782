// heal-listener: parses the command line, loads the configuration, starts the server.
#include "action_runner.hpp"
#include "log.hpp"
#include "privileges.hpp"
#include "server.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
    // Start clean, whatever the parent left: signal dispositions and mask, open descriptors.
    heal::default_signals();
    heal::cloexec_from_3(heal::fd_limit());
    CLI::App app{"heal-listener - run whitelisted service actions for authenticated peers"};
    std::string config = "/etc/heal/heal.ini";
    bool check_config = false, inetd = false;
    app.add_option("-c,--config", config, "configuration file")->capture_default_str();
    app.add_flag("--check-config", check_config, "validate the configuration and exit 0 or 1");
    app.add_flag("--inetd", inetd, "serve one connection on fd 0 (xinetd/inetd), then exit");
    app.set_version_flag("-V,--version", std::string("heal-listener ") + HEAL_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    // Under inetd, fds 1 and 2 are the client's socket: everything goes to syslog.
    if (inetd) heal::log::use_syslog("heal-listener");
    heal::RuntimePtr rt;
    try {
        rt = heal::make_runtime(config);
    } catch (const std::exception& e) {
        heal::log::error(e.what());
        return 1;
    }
    for (const auto& w : heal::config_warnings(rt->cfg)) heal::log::warning(w);
    if (auto why = heal::root_refusal(rt->cfg); !why.empty() && !check_config) {
        heal::log::error(why);
        return 1;
    }
    if (check_config) {
        auto problems = heal::config_problems(rt->cfg);
        for (const auto& p : problems) heal::log::error(p);
        if (!problems.empty()) return 1;
        std::cout << config << ": OK (" << rt->cfg.services.size() << " service(s), "
                  << rt->cfg.listen.size() << " listen address(es))\n";
        return 0;
    }
    return inetd ? heal::run_inetd(rt) : heal::run_daemon(config, rt);
}
