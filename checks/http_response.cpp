#include "http_response.hpp"

#include <boost/beast/http/field.hpp>

namespace heal::plugin {

void limit_parser(ResponseParser& parser, std::size_t max_body) {
    parser.header_limit(64 * 1024);
    parser.body_limit(max_body);
}

void take_response(ResponseParser& parser, bool over_limit, ProbeResult& r) {
    auto& res = parser.get();
    r.body_over_limit = over_limit;  // stop there: never hold more than max_body in memory
    if (auto len = parser.content_length()) r.declared_length = *len;
    r.status = res.result_int();
    if (auto loc = res.find(boost::beast::http::field::location); loc != res.end())
        r.location = std::string(loc->value());
    if (auto d = res.find(boost::beast::http::field::date); d != res.end())
        r.date = std::string(d->value());
    if (auto lm = res.find(boost::beast::http::field::last_modified); lm != res.end())
        r.last_modified = std::string(lm->value());
    r.body = std::move(res.body());
    r.body_bytes = r.body.size();
}

}  // namespace heal::plugin
