#include "checks/http_response.hpp"

#include <boost/beast/http/field.hpp>

#include <dlfcn.h>
#include <zlib.h>

#include <cctype>

namespace heal::plugin {

std::size_t header_end(std::string_view data) {
    // An empty line: LF, then LF or CRLF. "\r\n\r\n" is "\r\n" + "\r\n", found as "\n\r\n".
    for (std::size_t at = data.find('\n'); at != std::string_view::npos; at = data.find('\n', at + 1)) {
        if (at + 1 < data.size() && data[at + 1] == '\n') return at + 2;
        if (at + 2 < data.size() && data[at + 1] == '\r' && data[at + 2] == '\n') return at + 3;
    }
    return 0;
}

std::string tidy_header_block(std::string_view block) {
    std::string out;
    out.reserve(block.size() + 32);
    for (std::size_t i = 0; i < block.size(); ++i) {
        if (block[i] == '\n' && (i == 0 || block[i - 1] != '\r')) out += '\r';
        out += block[i];
    }
    // Cut by the connection closing: end the last line, then the block.
    if (out.empty() || out.back() != '\n') out += "\r\n";
    if (out.size() < 4 || out.compare(out.size() - 4, 4, "\r\n\r\n") != 0) out += "\r\n";
    return out;
}

namespace {

/// zlib, loaded when a body is to be inflated (as systemd loads its optional libraries): a
/// plugin started thousands of times an hour does not pay for binding a library it rarely
/// uses (0.4 M instructions and 0.1 MiB per start, measured with make bench).
struct Zlib {
    decltype(&::inflateInit2_) init = nullptr;
    decltype(&::inflate) inflate = nullptr;
    decltype(&::inflateEnd) end = nullptr;
    std::string error;
};

const Zlib& zlib() {
    static const Zlib z = [] {
        Zlib out;
        void* lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            out.error = std::string("cannot load zlib: ") + dlerror();
            return out;
        }
        out.init = reinterpret_cast<decltype(&::inflateInit2_)>(dlsym(lib, "inflateInit2_"));
        out.inflate = reinterpret_cast<decltype(&::inflate)>(dlsym(lib, "inflate"));
        out.end = reinterpret_cast<decltype(&::inflateEnd)>(dlsym(lib, "inflateEnd"));
        if (!out.init || !out.inflate || !out.end) out.error = "cannot load zlib: a function is missing";
        return out;
    }();
    return z;
}

}  // namespace

std::string inflate_body(std::string& body, std::string_view encoding, std::size_t limit) {
    std::string e;
    for (char c : encoding) e += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (e == "identity") return {};
    if (e != "gzip" && e != "x-gzip" && e != "deflate")
        return "the body is encoded '" + std::string(encoding) + "', which was not asked for (gzip, deflate)";
    const Zlib& lib = zlib();
    if (!lib.error.empty()) return lib.error;
    // 15 + 32: zlib or gzip, told by the header; "deflate" without zlib's header (old IIS) is
    // tried raw (-15) when that fails at once.
    for (int bits : {15 + 32, -15}) {
        z_stream z{};
        if (lib.init(&z, bits, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))) != Z_OK) return "cannot start zlib";
        z.next_in = reinterpret_cast<Bytef*>(body.data());
        z.avail_in = static_cast<uInt>(body.size());
        std::string out;
        int rc = Z_OK;
        char chunk[16384];
        while (rc == Z_OK) {
            z.next_out = reinterpret_cast<Bytef*>(chunk);
            z.avail_out = sizeof chunk;
            rc = lib.inflate(&z, Z_NO_FLUSH);
            out.append(chunk, sizeof chunk - z.avail_out);
            if (out.size() > limit) {
                lib.end(&z);
                return "the " + e + " body inflates to more than --max-size " + std::to_string(limit) +
                       " bytes (from " + std::to_string(body.size()) + "): not checked";
            }
            if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended early
        }
        const bool raw_may_help = rc == Z_DATA_ERROR && bits > 0 && e == "deflate" && z.total_out == 0;
        lib.end(&z);
        if (rc == Z_STREAM_END) {
            body = std::move(out);
            return {};
        }
        if (!raw_may_help)
            return "the " + e + " body does not inflate: " +
                   (rc == Z_DATA_ERROR ? "corrupt data" : std::string("it is cut short"));
    }
    return "the deflate body does not inflate: corrupt data";
}

void limit_parser(ResponseParser& parser, std::size_t max_body) {
    parser.header_limit(static_cast<std::uint32_t>(2 * max_header_bytes + 8));  // tidied: CR added
    parser.body_limit(max_body);
}

void take_response(ResponseParser& parser, bool over_limit, std::string_view raw_header,
                   ProbeResult& r) {
    namespace http = boost::beast::http;
    auto& res = parser.get();
    r.body_over_limit = over_limit;  // stop there: never hold more than max_body in memory
    if (auto len = parser.content_length()) r.declared_length = *len;
    r.status = res.result_int();
    r.status_line = "HTTP/" + std::to_string(res.version() / 10) + "." + std::to_string(res.version() % 10) +
                    " " + std::to_string(r.status) + (res.reason().empty() ? "" : " ") + std::string(res.reason());
    r.header_bytes = raw_header.size();
    const auto first_line_end = raw_header.find('\n');
    r.headers = first_line_end == std::string_view::npos ? std::string() : std::string(raw_header.substr(first_line_end + 1));
    auto text = [&](http::field f) {
        auto it = res.find(f);
        return it == res.end() ? std::string() : std::string(it->value());
    };
    r.location = text(http::field::location);
    r.date = text(http::field::date);
    r.last_modified = text(http::field::last_modified);
    r.content_encoding = text(http::field::content_encoding);
    r.body = std::move(res.body());
    r.body_bytes = r.body.size();
}

}  // namespace heal::plugin
