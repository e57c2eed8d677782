/* pidfd-shim.so: LD_PRELOAD'ed into heal-listener under valgrind only (make bench). Valgrind
 * 3.19 (Debian 12) does not know pidfd_open(2), which the listener needs to watch its scripts;
 * this stands in for it: a pipe that becomes readable when the process has exited (waitid with
 * WNOWAIT in a thread, so the listener still reaps the child itself). Never used outside the
 * bench's callgrind measurement. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct watch { pid_t pid; int fd; };

static void *wait_for_exit(void *arg) {
    struct watch *w = arg;
    siginfo_t info;
    if (w->pid != getpid()) waitid(P_PID, (id_t)w->pid, &info, WEXITED | WNOWAIT);
    else pause();
    (void)!write(w->fd, "x", 1);
    close(w->fd);
    free(w);
    return NULL;
}

long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_pidfd_open) {
        int p[2];
        if (pipe2(p, 02000000 /* O_CLOEXEC */) != 0) return -1;
        struct watch *w = malloc(sizeof *w);
        w->pid = (pid_t)a[0];
        w->fd = p[1];
        pthread_t t;
        pthread_create(&t, NULL, wait_for_exit, w);
        pthread_detach(t);
        return p[0];
    }
    static long (*real)(long, ...) = NULL;
    if (!real) real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
