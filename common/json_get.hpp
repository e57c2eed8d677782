// Reading fields of JSON the listener sent (info, history) where a missing or mistyped field
// means "not known": the value or a neutral default, never an exception. For the reply itself,
// which must be well formed, protocol.hpp's parse_reply is strict.
#pragma once

#include "common/text.hpp"

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

/// info's "paused" object in words, of `subject` ("" for none): "web is paused until T by client
/// ops (disk swap), every service: only admins' heals run", or "web's watch loop is paused
/// (watch_paused = yes in heal.ini)".
inline std::string paused_words(const boost::json::object& p, const std::string& subject = "") {
    const auto* w = p.if_contains("watch_only");
    if (w && w->is_bool() && w->as_bool())
        return (subject.empty() ? "its" : subject + "'s") + " watch loop is paused (" + printable(json_text(p, "by"), 80) + ")";
    const auto* all = p.if_contains("all");
    const std::string reason = printable(json_text(p, "reason"), 160);
    return (subject.empty() ? "" : subject + " is ") + "paused until " + printable(json_text(p, "until"), 40) +
           " by " + printable(json_text(p, "by"), 80) + (reason.empty() ? "" : " (" + reason + ")") +
           (all && all->is_bool() && all->as_bool() ? ", every service" : "") + ": only admins' heals run";
}

}  // namespace heal
