// check_worker's HTTP response path: the parser limits and extraction of the probe, driven by
// Beast's own read loop over an in-memory stream that delivers the bytes in segments of a
// fuzzed size (as TCP would), then the verdicts that read the body.
#include "http_response.hpp"
#include "verdicts.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    if (size == 0) return 0;
    boost::asio::io_context ioc;
    beast::test::stream remote(ioc);
    remote.read_size(1 + data[0] % 97);  // segment size
    remote.append(beast::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    remote.close_remote();  // then end of stream, as a server closing the connection
    beast::flat_buffer buf;
    heal::plugin::ResponseParser parser;
    heal::plugin::limit_parser(parser, 4096);
    boost::system::error_code ec;
    http::read(remote, buf, parser, ec);
    bool over_limit = ec == http::error::body_limit && parser.is_header_done();
    if (ec && !over_limit) return 0;
    heal::plugin::ProbeResult r;
    heal::plugin::take_response(parser, over_limit, r);
    if (r.body.size() > 4096) std::abort();  // never more than the limit in memory
    (void)heal::plugin::evaluate_health(r.body);
    return 0;
}
