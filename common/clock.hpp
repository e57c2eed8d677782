// Time for the guards: "how long ago" is measured on the boot clock (CLOCK_BOOTTIME: it never
// steps back, and it counts a suspend), so that a wall clock stepped back or forward neither
// stretches a cooldown nor empties a budget window. A time is recorded as its wall time plus
// the boot clock and the boot's id; read back in the same boot it is placed by the boot clock,
// from an earlier boot by its wall time (the only clock two boots share).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace heal {

struct ClockReading {
    std::int64_t wall_ms = 0;  ///< now_ms()
    std::int64_t boot_ms = 0;  ///< CLOCK_BOOTTIME
    std::string boot_id;       ///< /proc/sys/kernel/random/boot_id ("" when unreadable)

    /// The boot clock at wall time `wall` (a moment near this reading).
    std::int64_t boot_at(std::int64_t wall) const { return boot_ms - (wall_ms - wall); }
    /// A recorded time in this reading's wall frame: by the boot clock when it was recorded in
    /// this boot, else as recorded.
    std::int64_t wall_of(std::int64_t wall, const std::string& recorded_boot_id,
                         std::optional<std::int64_t> recorded_boot_ms) const;
};

ClockReading read_clock();

/// Seconds (a configured timeout or interval) as a steady_clock duration, for timers and deadlines.
inline std::chrono::steady_clock::duration steady_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace heal
