/* Test helper, LD_PRELOADed: the wall clock (CLOCK_REALTIME) stepped by the number of
 * milliseconds in the file $HEAL_CLOCK_STEP_FILE, read at every call, so that a test can step
 * a running listener's wall clock back or forward. Other clocks are left alone: the boot clock
 * is what a stepped wall clock must not disturb. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long step_ms(void) {
    const char* file = getenv("HEAL_CLOCK_STEP_FILE");
    FILE* f = file ? fopen(file, "re") : NULL;
    long long v = 0;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1) v = 0;
        fclose(f);
    }
    return v;
}

int clock_gettime(clockid_t id, struct timespec* ts) {
    static int (*real)(clockid_t, struct timespec*);
    if (!real) real = (int (*)(clockid_t, struct timespec*))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(id, ts);
    if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        long long ns = (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec + step_ms() * 1000000LL;
        ts->tv_sec = (time_t)(ns / 1000000000LL);
        ts->tv_nsec = (long)(ns % 1000000000LL);
    }
    return r;
}
