// Test helper: runs PROGRAM as it would run on Linux older than 5.11, where close_range(2) fails
// with ENOSYS, and with FILE open as descriptor 5 without close-on-exec, as a careless parent
// would leave it. heal-listener must then fall back to marking each descriptor close-on-exec.
//   without-close-range FILE PROGRAM [ARG...]
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fputs("usage: without-close-range FILE PROGRAM [ARG...]\n", stderr);
        return 2;
    }
    int fd = ::open(argv[1], O_RDONLY);  // deliberately without O_CLOEXEC
    if (fd < 0 || ::dup2(fd, 5) < 0) {
        std::perror(argv[1]);
        return 2;
    }
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),  // another ABI: leave it alone
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
        std::perror("seccomp");
        return 2;
    }
    ::execv(argv[2], argv + 2);
    std::perror(argv[2]);
    return 127;
}
