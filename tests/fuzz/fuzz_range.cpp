// Nagios threshold ranges, HTTP code lists, --send escapes, durations, page sizes, HTTP dates
// and redirect Locations.
#include "common/plugin.hpp"
#include "common/text.hpp"
#include "checks/verdicts.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string error;
    if (auto r = heal::plugin::parse_range(text, error)) {
        for (double v : {-1e300, -1.0, 0.0, 0.5, 10.0, 1e300, double(NAN)}) (void)r->alerts(v);
    }
    error.clear();
    if (auto codes = heal::plugin::parse_codes(text, error)) (void)heal::plugin::code_listed(*codes, 200);
    error.clear();
    (void)heal::plugin::unescape(text, error);
    error.clear();
    (void)heal::plugin::parse_pagesize(text, error);
    (void)heal::plugin::parse_http_date(text);
    (void)heal::plugin::parse_cert_days(text);
    const heal::plugin::Location base{false, "web1", 80, "/"};
    if (auto loc = heal::plugin::parse_location(text, base))
        if (loc->path.empty() || loc->path.front() != '/' || loc->host.empty() || loc->port == 0) std::abort();
    double d = 0;
    if (heal::parse_duration(text, 1e9, d, true) && (d < 0 || d > 1e9 || std::isnan(d))) std::abort();
    return 0;
}
