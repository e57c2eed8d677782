// heal-ctl's reply parser: hostile JSON from a listener (or a man in the middle with a key).
#include "common/protocol.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string error;
    auto r = heal::parse_reply(std::string_view(reinterpret_cast<const char*>(data), size), error);
    if (!r) {
        if (error.empty()) std::abort();
        return 0;
    }
    // A reply we accept serialises to one line we accept again, with the same outcome.
    auto line = heal::to_json_line(*r);
    if (line.find('\n') != line.size() - 1) std::abort();
    std::string e2;
    auto back = heal::parse_reply(line, e2);
    if (!back || back->outcome != r->outcome || back->id != r->id || back->output != r->output)
        std::abort();
    return 0;
}
