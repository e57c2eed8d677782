// Least privilege: started as root (to bind a port below 1024 or read a root-only key), the
// listener drops to [listener] user/group for good once the sockets, the key and the audit log
// are open. Without `user` it refuses to run as root unless `allow_root = yes`.
#pragma once

#include "listener/config.hpp"

#include <string>

namespace heal {

/// "" when this process may go on as it is (or will drop); else why it must not start.
std::string root_refusal(const ListenerConfig& cfg);

/// Switches to cfg.user / cfg.group (initgroups, setgid, setuid) and checks that no real,
/// effective or saved id is 0 any more and that root cannot be regained. No-op without `user`
/// or when already running as that user. Returns "" or what went wrong (then the caller exits).
std::string drop_privileges(const ListenerConfig& cfg);

}  // namespace heal
