/* run-burst N -- CMD ARGS...
 * Starts N copies of CMD at once (all forked, then released together through a pipe) and prints
 * one line per copy as it ends: "ms_from_release exit_code", then "wall ms". C, so that the
 * start of the burst is not spread over a Python loop. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: run-burst N -- CMD...\n");
        return 2;
    }
    int n = atoi(argv[1]);
    int gate[2];
    if (pipe(gate) != 0) return 1;
    for (int i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            close(gate[1]);
            char c;
            if (read(gate[0], &c, 1) < 0) _exit(126);  /* EOF: go */
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execv(argv[3], argv + 3);
            _exit(127);
        }
    }
    close(gate[0]);
    double t0 = now_ms();
    close(gate[1]);  /* every child's read returns now */
    for (int i = 0; i < n; ++i) {
        int status = 0;
        if (wait(&status) < 0) break;
        printf("%.3f %d\n", now_ms() - t0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    printf("wall %.3f\n", now_ms() - t0);
    return 0;
}
