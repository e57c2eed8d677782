// Icinga 2's API answers as anyone might send them: the readers give services that were in the
// input or say why not, and never crash or overrun.
#include "handler/icinga2.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto d = heal::icinga2::parse_services(text, 64);
        for (const auto& s : d.services)
            if (s.host.empty() || s.service.empty() || static_cast<int>(s.state) > 3 || s.last_ok < 0) std::abort();
    } catch (const heal::nagios::StatusError&) {
    }
    (void)heal::icinga2::action_error(text);
    heal::icinga2::Url u;
    if (heal::icinga2::parse_url(text, u).empty() && (u.host.empty() || u.port == 0)) std::abort();
    return 0;
}
