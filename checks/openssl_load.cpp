#include "checks/openssl_load.hpp"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

// Defined in the generated trampolines ($(B)/gen/openssl-trampolines.S).
extern "C" {
extern void* heal_openssl_table[];
extern const char* const heal_openssl_names[];
extern const std::size_t heal_openssl_count;
extern const char heal_openssl_library[];
[[noreturn]] void heal_openssl_unloaded();
}

/// What every table entry is until load_openssl() has run: a TLS path that forgot to load it is
/// a bug, said as one (UNKNOWN), never a jump to nowhere.
void heal_openssl_unloaded() {
    static const char msg[] = "WORKER UNKNOWN: internal error: OpenSSL called before it was loaded\n";
    (void)!write(STDOUT_FILENO, msg, sizeof msg - 1);
    _exit(3);
}

namespace heal::plugin {

void load_openssl() {
    static bool loaded = false;
    if (loaded || heal_openssl_count == 0) return;
    void* lib = dlopen(heal_openssl_library, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        throw std::runtime_error(std::string("cannot load ") + heal_openssl_library + " (" +
                                 (why ? why : "unknown error") + "), which TLS checks need");
    }
    for (std::size_t i = 0; i < heal_openssl_count; ++i) {
        void* f = dlsym(lib, heal_openssl_names[i]);  // libssl's, or libcrypto's (its dependency)
        if (!f)
            throw std::runtime_error(std::string(heal_openssl_library) + " has no " +
                                     heal_openssl_names[i] + ": another OpenSSL than check_worker was built with?");
        heal_openssl_table[i] = f;
    }
    // The table is page-aligned and padded to whole 4 KiB pages: read-only from now on, as a
    // bound GOT is (RELRO). Where pages are larger it stays writable.
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const auto at = reinterpret_cast<std::uintptr_t>(heal_openssl_table);
    if (page == 4096 && at % page == 0)
        mprotect(heal_openssl_table, (heal_openssl_count * sizeof(void*) + page - 1) / page * page, PROT_READ);
    loaded = true;
}

}  // namespace heal::plugin
