// heal-listener: parses the command line, loads the configuration, starts the server.
#include "log.hpp"
#include "privileges.hpp"
#include "server.hpp"
#include "version.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace {

/// Whatever the parent left us (SIGCHLD ignored makes every child vanish unseen and every
/// script look successful; a blocked SIGTERM makes the listener unstoppable), start clean.
void reset_signals() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

/// Descriptors a careless parent left open must not reach the scripts either.
void cloexec_inherited() {
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    rlimit rl{};
    int max_fd = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                     ? static_cast<int>(std::min<rlim_t>(rl.rlim_cur, 1 << 20))
                     : 65536;
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

int main(int argc, char** argv) {
    reset_signals();
    cloexec_inherited();
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
