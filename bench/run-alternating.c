/* run-alternating N -- CMD_A ARGS... -- CMD_B ARGS...
 * Runs A and B alternately N times each; prints "A|B wall_ms max_rss_kib exit" per call.
 * Written in C so that the fork()ed child's pre-exec memory (which ru_maxrss keeps across
 * exec) is this tiny process, not a Python interpreter. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void run(const char *name, char **argv) {
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    printf("%s %.3f %ld %d\n", name, now_ms() - t0, ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: run-alternating N -- CMD_A... -- CMD_B...\n");
        return 2;
    }
    int n = atoi(argv[1]);
    char **a = argv + 3, **b = NULL;
    for (int i = 3; i < argc; ++i)
        if (strcmp(argv[i], "--") == 0) {
            argv[i] = NULL;
            b = argv + i + 1;
        }
    if (!b) return 2;
    for (int i = 0; i < n; ++i) {
        run("A", a);
        run("B", b);
    }
    return 0;
}
