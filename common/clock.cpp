#include "common/clock.hpp"

#include "common/text.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>

namespace heal {

std::int64_t ClockReading::wall_of(std::int64_t wall, const std::string& recorded_boot_id,
                                   std::optional<std::int64_t> recorded_boot_ms) const {
    if (!recorded_boot_ms || boot_id.empty() || recorded_boot_id != boot_id) return wall;
    return wall_ms - (boot_ms - *recorded_boot_ms);
}

ClockReading read_clock() {
    ClockReading c;
    static const std::string boot_id = [] {
        std::string id;
        int fd = ::open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[64];
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) id.assign(buf, static_cast<std::size_t>(n));
            ::close(fd);
        }
        while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
        return id;
    }();
    c.boot_id = boot_id;
    timespec ts{};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    c.boot_ms = static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
    c.wall_ms = now_ms();
    return c;
}

}  // namespace heal
