// Nagios' status.dat and objects.cache as anyone might have written them: the readers either
// give services that were in the input or say why not, and never crash or overrun.
#include "handler/nagios_group.hpp"
#include "handler/status_file.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    heal::nagios::Limits limits;
    limits.max_line = 256;  // small limits, so the fuzzer reaches them
    limits.max_services = 64;
    try {
        std::istringstream in(text);
        auto d = heal::nagios::read_status(in, [](const std::string&, const std::string&) { return true; }, limits);
        for (const auto& s : d.services)
            if (s.host.empty() || s.service.empty() || text.find(s.host) == std::string::npos ||
                static_cast<int>(s.state) > 3)
                std::abort();
        auto g = heal::nagios::group_health({{"h", "s"}, {"m", "s"}}, d, "h", "s", false);
        if (g.not_ok < 1 || g.not_ok + g.without_state > g.size || g.size < 2) std::abort();
    } catch (const heal::nagios::StatusError&) {
    }
    try {
        std::istringstream in(text);
        auto m = heal::nagios::read_members(in, {"s", "g"}, limits);
        for (const auto& [h, s] : m)
            if (h.empty() || s.empty()) std::abort();
    } catch (const heal::nagios::StatusError&) {
    }
    try {
        std::istringstream in(text);
        auto m = heal::nagios::read_members(in, {"s", ""}, limits);
        for (const auto& [h, s] : m)
            if (h.empty() || s != "s") std::abort();
    } catch (const heal::nagios::StatusError&) {
    }
    return 0;
}
