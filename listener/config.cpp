#include "config.hpp"

#include "protocol.hpp"
#include "text.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace heal {

namespace {

constexpr std::string_view service_prefix = "service ";

std::string check_readable(const std::string& file) {
    if (::access(file.c_str(), R_OK) != 0) return "cannot read '" + file + "': " + std::strerror(errno);
    return {};
}

std::string check_executable(const std::string& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return "'" + file + "': " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "'" + file + "' is not a regular file";
    if (::access(file.c_str(), X_OK) != 0) return "'" + file + "' is not executable";
    return {};
}

struct Builder {
    ListenerConfig cfg;
    std::string dir;
    bool have_listen = false;
    std::optional<Allowlist> allow;

    std::string listener_key(std::string_view key, std::string_view value) {
        std::string err;
        if (key == "listen") {
            for (const auto& item : split_list(value)) {
                auto ep = parse_endpoint(item, default_port, err);
                if (!ep) return "listen: " + err;
                cfg.listen.push_back(*ep);
            }
            if (cfg.listen.empty()) return "listen: no address given";
            have_listen = true;
        } else if (key == "allow") {
            allow = Allowlist::parse(value, err);
            if (!allow) return "allow: " + err;
        } else if (key == "cert" || key == "key" || key == "client_ca" || key == "audit_log") {
            if (value.empty()) return std::string(key) + ": empty path";
            std::string file = resolve_path(dir, value);
            if (key != "audit_log") {
                if (auto e = check_readable(file); !e.empty()) return std::string(key) + ": " + e;
            }
            (key == "cert"        ? cfg.cert
             : key == "key"       ? cfg.key
             : key == "client_ca" ? cfg.client_ca
                                  : cfg.audit_log) = file;
        } else if (key == "timeout" || key == "io_timeout") {
            double& target = key == "timeout" ? cfg.timeout : cfg.io_timeout;
            if (!parse_seconds(value, 86400, target))
                return std::string(key) + ": expected seconds (e.g. 30 or 0.5), got '" +
                       printable(value) + "'";
        } else if (key == "max_connections" || key == "max_per_source") {
            unsigned long long n = 0;
            if (!parse_uint(value, 1, 100000, n))
                return std::string(key) + ": expected a number from 1 to 100000, got '" +
                       printable(value) + "'";
            (key == "max_connections" ? cfg.max_connections : cfg.max_per_source) =
                static_cast<unsigned>(n);
        } else {
            return "unknown key '" + printable(key) +
                   "' in [listener] (known: listen, allow, cert, key, client_ca, audit_log, "
                   "timeout, io_timeout, max_connections, max_per_source)";
        }
        return {};
    }

    std::string service_key(std::string_view name, std::string_view key, std::string_view value) {
        auto& svc = cfg.services[std::string(name)];
        svc.name = name;
        if (key == "timeout") {
            if (!parse_seconds(value, 86400, svc.timeout))
                return "timeout: expected seconds (e.g. 60), got '" + printable(value) + "'";
            return {};
        }
        if (!is_known_verb(key))
            return "unknown key '" + printable(key) + "' in [service " + std::string(name) +
                   "] (known: start, stop, restart, status, timeout)";
        if (value.empty()) return std::string(key) + ": empty path";
        std::string file = resolve_path(dir, value);
        if (auto e = check_executable(file); !e.empty()) return std::string(key) + ": " + e;
        svc.scripts[std::string(key)] = file;
        return {};
    }

    std::string on_key(std::string_view section, std::string_view key, std::string_view value) {
        if (section == "listener") return listener_key(key, value);
        if (section.substr(0, service_prefix.size()) == service_prefix) {
            auto name = trim(section.substr(service_prefix.size()));
            if (!is_valid_service_name(name))
                return "bad service name '" + printable(name) +
                       "' (letters, digits, '.', '_', '-'; at most 64)";
            return service_key(name, key, value);
        }
        if (section.empty()) return "key '" + printable(key) + "' outside any section";
        return "unknown section [" + printable(section) + "] (known: [listener], [service NAME])";
    }
};

}  // namespace

std::vector<std::string> config_warnings(const ListenerConfig& cfg) {
    std::vector<std::string> out;
    if (::geteuid() == 0)
        out.push_back("running as root: every script runs as root too; prefer an unprivileged "
                      "user (User=heal) with sudo rules for fixed commands (see heal-listener(8))");
    struct stat st {};
    if (::stat(cfg.key.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        out.push_back("private key '" + cfg.key + "' is readable by every user on this host; "
                      "chmod o-r it");
    return out;
}

ListenerConfig load_listener_config(const std::string& path) {
    Builder b;
    b.cfg.path = path;
    b.dir = dir_of(path);
    parse_ini_file(path, [&](std::string_view s, std::string_view k, std::string_view v) {
        return b.on_key(s, k, v);
    });
    auto missing = [&](const char* key) {
        throw ConfigError(path + ": [listener] " + key + " is required");
    };
    if (b.cfg.cert.empty()) missing("cert");
    if (b.cfg.key.empty()) missing("key");
    if (b.cfg.client_ca.empty()) missing("client_ca (there is no mode without client certificates)");
    if (b.cfg.audit_log.empty()) missing("audit_log");
    if (!b.allow) missing("allow (list the addresses that may connect)");
    b.cfg.allow = *b.allow;
    if (!b.have_listen)
        b.cfg.listen.emplace_back(boost::asio::ip::make_address("127.0.0.1"), default_port);
    for (const auto& [name, svc] : b.cfg.services)
        if (svc.scripts.empty())
            throw ConfigError(path + ": [service " + name + "] defines no verb (start, stop, "
                                     "restart or status)");
    return std::move(b.cfg);
}

}  // namespace heal
