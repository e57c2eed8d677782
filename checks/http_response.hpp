// How check_worker reads an HTTP response: the parser's limits and what it takes from the
// result. Shared by the probe (from the network) and the fuzzer (from bytes).
#pragma once

#include "probe.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace heal::plugin {

using ResponseParser = boost::beast::http::response_parser<boost::beast::http::string_body>;

/// 64 KiB of headers; at most `max_body` bytes of body are ever held.
void limit_parser(ResponseParser& parser, std::size_t max_body);

/// Status, Location and body of a parsed response into `r`; `over_limit` when the body was cut
/// at the limit (the headers are complete).
void take_response(ResponseParser& parser, bool over_limit, ProbeResult& r);

}  // namespace heal::plugin
