#include "listener/resident.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>

namespace heal {

void shed_startup_pages() {
    ::malloc_trim(0);
    std::FILE* maps = std::fopen("/proc/self/maps", "re");
    if (!maps) return;
    char line[4096];
    while (std::fgets(line, sizeof line, maps)) {
        unsigned long start = 0, end = 0;
        char perms[5] = {};
        int path_at = 0;
        if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &start, &end, perms, &path_at) < 3) continue;
        // Executable and backed by a file (the program, its libraries): its pages are the file's,
        // unmodified, so dropping them only means reading them again from the page cache.
        if (std::strcmp(perms, "r-xp") != 0 || path_at == 0 || line[path_at] != '/') continue;
        ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
    }
    std::fclose(maps);
}

}  // namespace heal
