// An http[s]://HOST[:PORT][/PREFIX] base URL, as the deciders are given Prometheus',
// Alertmanager's and Icinga 2's API's addresses. Pure: the fuzz targets link it.
#pragma once

#include <string>
#include <string_view>

namespace heal::plugin {

struct HttpUrl {
    bool tls = false;
    std::string host;
    unsigned short port = 80;
    bool port_given = false;
    std::string prefix;  ///< a path the API lives under ("" or "/prometheus"), no trailing '/'
};

/// http[s]://HOST[:PORT][/PREFIX]: "" or why not (user info, a query, a fragment, spaces, no
/// host, a bad port), naming the URL.
std::string parse_http_url(std::string_view url, HttpUrl& out);

}  // namespace heal::plugin
