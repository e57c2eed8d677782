// heal-listener: parses the command line, loads the configuration, starts the server.
#include "listener/action_runner.hpp"
#include "common/log.hpp"
#include "listener/privileges.hpp"
#include "listener/server.hpp"
#include "gen/version.hpp"

#include <CLI/CLI.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <string>

namespace {

/// Under inetd, fd 0 is the client's TCP connection; "" when it is, else what it is instead.
std::string inetd_stdin_problem() {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(0, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
        return {};
    struct stat st {};
    if (::fstat(0, &st) != 0) return "standard input is closed";
    if (::isatty(0)) return "standard input is a terminal";
    if (S_ISREG(st.st_mode)) return "standard input is a regular file";
    if (S_ISSOCK(st.st_mode)) return "standard input is a socket, but not a TCP one";
    return "standard input is not a socket";
}

}  // namespace

int main(int argc, char** argv) {
    // Start clean, whatever the parent left: signal dispositions and mask, open descriptors.
    heal::default_signals();
    heal::cloexec_from_3(heal::fd_limit());
    CLI::App app{"heal-listener - run whitelisted service actions for authenticated peers"};
    std::string config = "/etc/heal/heal.ini";
    bool check_config = false, inetd = false;
    app.add_option("-c,--config", config, "configuration file (default /etc/heal/heal.ini)");
    app.add_flag("--check-config", check_config, "validate the configuration and exit 0 or 1");
    app.add_flag("--inetd", inetd, "serve one connection on fd 0 (xinetd/inetd), then exit");
    app.set_version_flag("-V,--version", std::string("heal-listener ") + HEAL_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    // Run by hand, --inetd would log to syslog only and exit: say it here, where it was typed
    // (fd 0 is no client socket, so stderr is not one either).
    if (inetd && !check_config) {
        if (auto why = inetd_stdin_problem(); !why.empty()) {
            std::cerr << "heal-listener: --inetd serves the one TCP connection inetd or xinetd "
                         "hands over on standard input, but "
                      << why << ".\nRun it from xinetd (see etc/xinetd.d/heal), or as a daemon "
                                "without --inetd.\n";
            return 2;
        }
    }
    // Under inetd, fds 1 and 2 are the client's socket: everything goes to syslog.
    if (inetd && !check_config) heal::log::use_syslog("heal-listener");
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
        if (inetd)  // the one case where --check-config knows how the site runs the listener
            for (const auto& [name, svc] : rt->cfg.services)
                if (svc.watch_s > 0)
                    heal::log::warning("[service " + name + "] watch: --inetd instances never watch; run "
                                       "heal-listener as a daemon (alone, or beside xinetd) for it");
        if (!problems.empty()) return 1;
        std::cout << config << ": OK (" << rt->cfg.services.size() << " service(s), "
                  << rt->cfg.listen.size() << " listen address(es))\n";
        return 0;
    }
    return inetd ? heal::run_inetd(rt) : heal::run_daemon(config, rt);
}
