// The listener's request line parser: whatever arrives, a Request or a Refusal, never both.
#include "common/protocol.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    heal::Refusal why;
    auto req = heal::parse_request(line, why);
    if (req) {
        if (why.reason != heal::Reason::none) std::abort();
        if (req->service.size() > 64) std::abort();
        // What parses, formats back into a line that parses the same.
        std::string again;
        if (req->verb == heal::Verb::history)
            again = heal::format_history_request(req->service.empty() ? "*" : req->service, req->limit, req->since_s);
        else if (req->verb == heal::Verb::pause)
            again = heal::format_pause_request(req->service, req->for_s, req->reason);
        else if (req->verb == heal::Verb::resume)
            again = heal::format_request("resume", req->service.empty() ? "*" : req->service);
        else
            again = heal::format_request(heal::to_string(req->verb), req->service, req->force);
        heal::Refusal r2;
        auto back = heal::parse_request(std::string_view(again).substr(0, again.size() - 1), r2);
        if (!back || back->verb != req->verb || back->service != req->service || back->force != req->force ||
            back->limit != req->limit || back->since_s != req->since_s || back->for_s != req->for_s ||
            back->reason != req->reason)
            std::abort();
    } else if (why.reason == heal::Reason::none || why.message.empty()) {
        std::abort();
    }
    return 0;
}
