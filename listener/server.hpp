// The daemon: accept loops on every `listen` address, signals, reload.
#pragma once

#include "listener/state.hpp"

#include <string>

namespace heal {

/// Runs the daemon in the foreground until SIGTERM/SIGINT and every action has finished.
/// Returns the process exit code. Start-up problems (bind, audit log) are reported and give 1.
int run_daemon(const std::string& config_path, RuntimePtr rt);

/// --inetd: the accepted socket is fd 0. Same allowlist, TLS and audit; one request; exit.
int run_inetd(RuntimePtr rt);

}  // namespace heal
