// Reading fields of JSON the listener sent (info, history) where a missing or mistyped field
// means "not known": the value or a neutral default, never an exception. For the reply itself,
// which must be well formed, protocol.hpp's parse_reply is strict.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace heal {

/// The string, or "".
inline std::string json_text(const boost::json::value* v) {
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
inline std::string json_text(const boost::json::object& o, const char* key) { return json_text(o.if_contains(key)); }

/// A whole number, or nullopt.
inline std::optional<std::int64_t> json_int(const boost::json::value* v) {
    if (v && v->is_int64()) return v->as_int64();
    if (v && v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    return std::nullopt;
}
inline std::optional<std::int64_t> json_int(const boost::json::object& o, const char* key) {
    return json_int(o.if_contains(key));
}

/// Any number, or 0.
inline double json_number(const boost::json::value* v) {
    if (v && v->is_double()) return v->as_double();
    if (auto i = json_int(v)) return static_cast<double>(*i);
    return 0;
}

}  // namespace heal
