// check_worker's HTTP response path: the reader the probe uses (header block by hand, then
// Beast's parser with its limits) over an in-memory stream that delivers the bytes in segments
// of a fuzzed size (as TCP would), the inflater, then the verdicts that read the body.
#include "checks/http_response.hpp"
#include "checks/verdicts.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace beast = boost::beast;
    if (size < 2) return 0;
    boost::asio::io_context ioc;
    beast::test::stream remote(ioc);
    remote.read_size(1 + data[0] % 97);  // segment size
    const std::uint8_t mode = data[1];   // HEAD, -N, a tunnel's answer, decompression
    remote.append(beast::string_view(reinterpret_cast<const char*>(data + 2), size - 2));
    remote.close_remote();  // then end of stream, as a server closing the connection
    heal::plugin::ReadOptions o{4096, (mode & 1) != 0, (mode & 2) != 0, (mode & 4) != 0};
    heal::plugin::ProbeResult r;
    std::string leftover, why;
    bool finished = false;
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            why = co_await heal::plugin::read_response(remote, o, r, leftover);
            finished = true;
        },
        boost::asio::detached);
    ioc.run();
    if (!finished) std::abort();  // a closed stream always ends the read
    if (!why.empty()) return 0;
    if (r.body.size() > 4096) std::abort();  // never more than the limit in memory
    if (r.header_bytes > heal::plugin::max_header_bytes) std::abort();
    if ((mode & 8) && !r.content_encoding.empty()) {
        (void)heal::plugin::inflate_body(r.body, r.content_encoding, 4096);
        if (r.body.size() > 4096) std::abort();
    }
    (void)heal::plugin::evaluate_health(r.body);
    return 0;
}
