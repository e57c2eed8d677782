// Allowlists, CIDR blocks and listen endpoints: the first thing between a peer and a script.
#include "common/address.hpp"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string error;
    if (auto allow = heal::Allowlist::parse(text, error)) {
        (void)allow->allows(boost::asio::ip::make_address("127.0.0.1"));
        (void)allow->allows(boost::asio::ip::make_address("::ffff:10.1.2.3"));
    } else if (error.empty()) {
        std::abort();
    }
    error.clear();
    (void)heal::parse_cidr(text, error);
    error.clear();
    if (auto ep = heal::parse_endpoint(text, 5669, error)) (void)heal::endpoint_text(*ep);
    return 0;
}
