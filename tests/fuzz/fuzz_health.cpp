// The health verdict on any body: a nested "UP" must never make a top-level failure healthy.
#include "checks/verdicts.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto v = heal::plugin::evaluate_health(body);
    if (v.state == heal::plugin::ok && v.status != "UP") std::abort();
    (void)heal::plugin::parse_status_line(body);
    return 0;
}
