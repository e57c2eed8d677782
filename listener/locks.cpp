#include "listener/locks.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace heal {

KernelLock::~KernelLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

KernelLock::Result KernelLock::try_take(const std::string& path, std::optional<KernelLock>& out,
                                        std::string& error_text) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        error_text = "cannot open lock file '" + path + "': " + std::strerror(errno);
        return Result::error;
    }
    int rc;
    while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
        int e = errno;
        ::close(fd);
        if (e == EWOULDBLOCK) return Result::held_elsewhere;
        error_text = "cannot lock '" + path + "': " + std::strerror(e);
        return Result::error;
    }
    out.emplace(KernelLock(fd));
    return Result::taken;
}

bool ensure_lock_dir(const std::string& state_dir, std::string& error_text) {
    std::string dir = state_dir + "/locks";
    if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) return true;
    error_text = "cannot create '" + dir + "': " + std::strerror(errno);
    return false;
}

std::string service_lock_path(const std::string& state_dir, const std::string& service) {
    return state_dir + "/locks/service." + service + ".lock";
}

KernelLock::Result take_slot(const std::string& state_dir, unsigned slots,
                             std::optional<KernelLock>& out, std::string& error_text) {
    for (unsigned i = 0; i < slots; ++i) {
        auto r = KernelLock::try_take(state_dir + "/locks/slot." + std::to_string(i) + ".lock",
                                      out, error_text);
        if (r != KernelLock::Result::held_elsewhere) return r;
    }
    return KernelLock::Result::held_elsewhere;
}

}  // namespace heal
