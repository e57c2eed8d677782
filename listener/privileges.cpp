#include "listener/privileges.hpp"

#include "common/log.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace heal {

std::string root_refusal(const ListenerConfig& cfg) {
    if (::geteuid() != 0 || !cfg.user.empty() || cfg.allow_root) return {};
    return "refusing to run as root: every script would run as root with every capability. "
           "Set [listener] user = heal (the listener binds, opens its key and logs, then drops "
           "to that user for good), or allow_root = yes to accept root on purpose";
}

std::string drop_privileges(const ListenerConfig& cfg) {
    if (cfg.user.empty()) return {};
    errno = 0;
    passwd* pw = ::getpwnam(cfg.user.c_str());
    if (!pw) return "user '" + cfg.user + "': " + (errno ? std::strerror(errno) : "no such user");
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (!cfg.group.empty()) {
        group* gr = ::getgrnam(cfg.group.c_str());
        if (!gr) return "group '" + cfg.group + "': no such group";
        gid = gr->gr_gid;
    }
    if (uid == 0) return "user '" + cfg.user + "' is root; name an unprivileged user";
    if (::geteuid() == uid && ::getegid() == gid) return {};  // started as that user (systemd)
    if (::geteuid() != 0)
        return "cannot switch to user '" + cfg.user + "': not running as root (uid " +
               std::to_string(::geteuid()) + ")";
    // Supplementary groups first (sudo rules may rely on them), then gid, then uid: once the
    // uid is gone, nothing else can be changed.
    if (::initgroups(cfg.user.c_str(), gid) != 0) return std::string("initgroups: ") + std::strerror(errno);
    if (::setresgid(gid, gid, gid) != 0) return std::string("setresgid: ") + std::strerror(errno);
    if (::setresuid(uid, uid, uid) != 0) return std::string("setresuid: ") + std::strerror(errno);
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (::getresuid(&r, &e, &s) != 0 || ::getresgid(&rg, &eg, &sg) != 0 || r == 0 || e == 0 ||
        s == 0 || rg == 0 || eg == 0 || sg == 0)
        return "privileges not dropped: a real, effective or saved id is still 0";
    if (::setuid(0) == 0) return "privileges not dropped: root could be regained";
    log::info("dropped privileges to user " + cfg.user + " (uid " + std::to_string(uid) +
              ", gid " + std::to_string(gid) + ")");
    return {};
}

}  // namespace heal
