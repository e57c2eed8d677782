/* Test helper, LD_PRELOADed: a machine without libssl, as check_worker finds it when it loads
 * OpenSSL for a TLS check (checks/openssl_load.hpp). dlopen() of any libssl opens a name that
 * does not exist instead, so that dlerror() says what the real loader says; every other
 * dlopen() is the real one. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

void* dlopen(const char* file, int mode) {
    static void* (*real)(const char*, int);
    if (!real) real = (void* (*)(const char*, int))dlsym(RTLD_NEXT, "dlopen");
    if (file && strstr(file, "libssl")) file = "libssl-absent-for-this-test.so.3";
    return real(file, mode);
}
