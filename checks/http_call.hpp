// One HTTP(S) call with check_worker's client (probe.hpp), as the deciders make them to
// Prometheus, Alertmanager and Icinga 2's API: an http[s]://HOST[:PORT][/PREFIX] base URL, a
// deadline, an answer capped, a short or oversized answer an error in words.
#pragma once

#include "checks/http_url.hpp"
#include "checks/probe.hpp"

#include <string>
#include <string_view>

namespace heal::plugin {

struct HttpAnswer {
    std::string error;  ///< "" when an answer came whole
    int status = 0;
    std::string body;
};

/// `req` to `t` within `timeout_s`; the body at most `max_answer` bytes (more, or fewer than
/// its Content-Length said, is an error).
HttpAnswer http_call(const Target& t, HttpRequest req, double timeout_s, std::size_t max_answer);

}  // namespace heal::plugin
