// The daemon's resident memory at rest: what start-up alone needed leaves it once it is ready.
#pragma once

namespace heal {

/// Once the daemon is ready: the code pages only start-up ran (loading and relocating, parsing
/// the configuration, OpenSSL's and SQLite's initialisation, opening the store) are dropped
/// from this process's resident set (madvise MADV_DONTNEED on its executable file mappings:
/// never written, so nothing is lost), and the heap's free memory goes back to the kernel.
/// What runs afterwards faults back in from the page cache (minor faults, no I/O).
void shed_startup_pages();

}  // namespace heal
