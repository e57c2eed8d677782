#include "common/client_config.hpp"

#include "common/text.hpp"

#include <unistd.h>

#include <utility>

namespace heal {

void load_client_config(const std::string& path, ClientOptions& o) {
    const std::string dir = dir_of(path);
    parse_ini_file(path, [&](std::string_view section, std::string_view key,
                             std::string_view value) -> std::string {
        if (section != "client")
            return "unknown section [" + printable(section) + "] (known: [client])";
        if (key == "host" || key == "server_name") {
            if (value.empty()) return std::string(key) + ": empty";
            (key == "host" ? o.host : o.server_name) = value;
        } else if (key == "port") {
            unsigned long long p = 0;
            if (!parse_uint(value, 1, 65535, p))
                return "port: expected 1-65535, got '" + printable(value) + "'";
            o.port = static_cast<unsigned short>(p);
        } else if (key == "cert" || key == "key" || key == "ca" || key == "crl") {
            if (value.empty()) return std::string(key) + ": empty path";
            (key == "cert" ? o.cert : key == "key" ? o.key : key == "ca" ? o.ca : o.crl) = resolve_path(dir, value);
        } else if (key == "crl_stale") {
            if (value != "warn" && value != "refuse")
                return "crl_stale: expected warn or refuse, got '" + printable(value) + "'";
            o.crl_refuse_stale = value == "refuse";
        } else if (key == "timeout") {
            if (!parse_seconds(value, 3600, o.timeout))
                return "timeout: expected seconds, got '" + printable(value) + "'";
        } else {
            return "unknown key '" + printable(key) +
                   "' in [client] (known: host, port, server_name, cert, key, ca, crl, crl_stale, timeout)";
        }
        return {};
    });
}

ClientOptions client_options(const std::string& config, bool required, const ClientOverrides& over) {
    ClientOptions o;
    if (required || ::access(config.c_str(), F_OK) == 0) load_client_config(config, o);
    for (auto [field, given] : {std::pair{&o.host, &over.host}, {&o.cert, &over.cert}, {&o.key, &over.key},
                                {&o.ca, &over.ca}, {&o.crl, &over.crl}, {&o.server_name, &over.server_name},
                                {&o.bind, &over.bind}})
        if (*given) *field = **given;
    if (over.port) o.port = *over.port;
    if (over.timeout) o.timeout = *over.timeout;
    if (o.cert.empty() || o.key.empty() || o.ca.empty())
        throw ConfigError("--cert, --key and --ca are required (or cert, key and ca in " + config + ")");
    return o;
}

}  // namespace heal
