// nagios.cfg as anyone might have written it: the reader gives absolute paths that were in the
// input (or Debian's defaults) or says why not, and never crashes or overruns.
#include "handler/nagios_cfg.hpp"
#include "handler/status_file.hpp"

#include <cstdint>
#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const heal::nagios::Paths defaults;
    try {
        std::istringstream in(text);
        const auto p = heal::nagios::read_nagios_cfg(in, "f");
        for (const auto* v : {&p.status_file, &p.objects_file, &p.command_file})
            if (v->empty() || v->front() != '/' || (text.find(*v) == std::string::npos && *v != defaults.status_file &&
                                                    *v != defaults.objects_file && *v != defaults.command_file))
                std::abort();
    } catch (const heal::nagios::StatusError&) {
    }
    return 0;
}
