// Kernel locks under state_dir/locks, shared by the daemon and every --inetd instance:
// one per service (one state-changing action at a time) and N slots (max_concurrent_actions).
// flock(2) locks belong to the open file and die with the process: a crash never leaves a
// service locked, and a live holder is never overtaken.
#pragma once

#include <optional>
#include <string>

namespace heal {

class KernelLock {
public:
    KernelLock(KernelLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    KernelLock& operator=(KernelLock&&) = delete;
    KernelLock(const KernelLock&) = delete;
    ~KernelLock();

    enum class Result { taken, held_elsewhere, error };
    /// Non-blocking. On `error`, `error_text` says why (the folder is missing, unwritable …).
    static Result try_take(const std::string& path, std::optional<KernelLock>& out,
                           std::string& error_text);

private:
    explicit KernelLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

/// state_dir/locks, created (0750) when missing. False with `error_text` when it cannot be.
bool ensure_lock_dir(const std::string& state_dir, std::string& error_text);

std::string service_lock_path(const std::string& state_dir, const std::string& service);

/// Takes any free one of `slots` slot locks; `held_elsewhere` when all are taken.
KernelLock::Result take_slot(const std::string& state_dir, unsigned slots,
                             std::optional<KernelLock>& out, std::string& error_text);

}  // namespace heal
