#include "checks/http_call.hpp"

#include <chrono>

namespace heal::plugin {

HttpAnswer http_call(const Target& t, HttpRequest req, double timeout_s, std::size_t max_answer) {
    req.max_body = max_answer;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(timeout_s));
    const auto r = probe_http(t, req, deadline);
    HttpAnswer a;
    if (!r.error.empty()) a.error = r.error;
    else if (r.body_over_limit)
        a.error = max_answer >= (1u << 20) ? "an answer over " + std::to_string(max_answer >> 20) + " MiB"
                                           : "an answer over " + std::to_string(max_answer) + " bytes";
    else if (r.declared_length && *r.declared_length != r.body_bytes) a.error = "the answer was cut short";
    a.status = r.status;
    a.body = r.body;
    return a;
}

}  // namespace heal::plugin
