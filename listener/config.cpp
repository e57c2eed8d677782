#include "listener/config.hpp"

#include "checks/verdicts.hpp"
#include "common/audit_log.hpp"
#include "common/protocol.hpp"
#include "common/text.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <utility>

namespace heal {

namespace {

constexpr std::string_view service_prefix = "service ";
constexpr std::string_view client_prefix = "client ";

std::string check_readable(const std::string& file) {
    if (::access(file.c_str(), R_OK) != 0) return "cannot read '" + file + "': " + std::strerror(errno);
    return {};
}

/// What cannot go together in a service's watch_check keys: "" or why not.
std::string check_fits(const ServiceConfig& svc) {
    if (!svc.check) return {};
    const WatchCheck& c = *svc.check;
    if (c.url.empty())
        return "watch_expect, watch_health, watch_codes, watch_send, watch_ca and watch_reuse qualify a "
               "watch_check, and there is none";
    if (svc.scripts.count(Verb::status))
        return "has both a status command and watch_check (" + c.url +
               "): both say how its status is known; keep one";
    if (c.tcp && (c.health || !c.codes.empty() || !c.ca.empty() || c.reuse))
        return "watch_health, watch_codes, watch_ca and watch_reuse are for an http:// or https:// watch_check, "
               "not " + c.url;
    if (!c.tcp && !c.send.empty()) return "watch_send is for a tcp:// watch_check, not " + c.url;
    if (!c.tls && !c.ca.empty()) return "watch_ca is for an https:// watch_check, not " + c.url;
    if (!c.ca.empty()) return check_readable(c.ca).empty() ? "" : "watch_ca: " + check_readable(c.ca);
    return {};
}

}  // namespace

std::string parse_watch_check(std::string_view url, WatchCheck& out) {
    const std::string shown = printable(url);
    const std::string lower = plugin::to_lower(url.substr(0, 8));
    const std::string usage =
        "watch_check: expected http://HOST[:PORT][/PATH], https://HOST[:PORT][/PATH] or tcp://HOST:PORT, got '" +
        shown + "'";
    if (url.find('#') != std::string_view::npos) return usage + " (a fragment is never sent)";
    if (lower.rfind("tcp://", 0) == 0) {
        std::string err;
        auto hp = plugin::split_host_port(url.substr(6), err);
        if (!hp || hp->first.empty() || hp->second == 0 || hp->first.find_first_of("/?@ ") != std::string::npos)
            return usage + (err.empty() ? "" : ": " + err);
        out.tcp = true;
        out.tls = false;
        out.host = plugin::to_lower(hp->first);
        out.port = hp->second;
    } else {
        if (lower.rfind("http://", 0) != 0 && lower.rfind("https://", 0) != 0) return usage;
        auto loc = plugin::parse_location(url, plugin::Location{});
        if (!loc) return usage + " (no user info, spaces or control characters; a port from 1 to 65535)";
        out.tcp = false;
        out.tls = loc->tls;
        out.host = loc->host;
        out.port = loc->port;
        out.path = loc->path;
    }
    out.url = std::string(url);
    return {};
}

std::string Command::text() const {
    std::string out;
    for (const auto& w : argv) {
        if (!out.empty()) out += ' ';
        bool quote = w.empty() || w.find_first_of(" \t") != std::string::npos;
        out += quote ? "\"" + w + "\"" : w;
    }
    return out;
}

std::optional<std::vector<std::string>> split_command(std::string_view value, std::string& error) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false, quoted = false;
    for (char c : value) {
        if (c == '"') {
            quoted = !quoted;
            in_word = true;
        } else if (c == '$' || c == '`' || c == '\\' || c == '\'') {
            error = std::string("'") + c + "' in '" + printable(value) +
                    "': a verb runs a fixed command without a shell (no variables, command "
                    "substitution, escapes or single quotes; group words with double quotes); "
                    "put anything more in a script";
            return std::nullopt;
        } else if (!quoted && std::string_view("|&;<>(){}*?[]~#").find(c) != std::string_view::npos) {
            error = std::string("'") + c + "' in '" + printable(value) +
                    "': a verb runs a fixed command without a shell (no pipes, lists, "
                    "redirections, globs or ~); put anything more in a script";
            return std::nullopt;
        } else if (!quoted && (c == ' ' || c == '\t')) {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            error = "a control character in '" + printable(value) + "'";
            return std::nullopt;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quoted) {
        error = "unterminated double quote in '" + printable(value) + "'";
        return std::nullopt;
    }
    if (in_word) words.push_back(std::move(word));
    if (words.empty() || words.front().empty()) {
        error = "empty command";
        return std::nullopt;
    }
    return words;
}

namespace {

/// "256M", "1G", "4096": bytes, K/M/G in powers of 1024; at most 1 TiB.
bool parse_size(std::string_view text, std::uint64_t& out) {
    unsigned shift = 0;
    if (!text.empty()) {
        switch (text.back()) {
            case 'K': case 'k': shift = 10; break;
            case 'M': case 'm': shift = 20; break;
            case 'G': case 'g': shift = 30; break;
            default: break;
        }
        if (shift) text.remove_suffix(1);
    }
    unsigned long long n = 0;
    if (!parse_uint(text, 0, (1ull << 40) >> shift, n)) return false;
    out = n << shift;
    return true;
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
    std::optional<Allowlist> allow, metrics_allow;
    std::map<std::string, ClientRule> clients;
    std::vector<std::string> client_order;

    std::string listener_key(std::string_view key, std::string_view value) {
        std::string err;
        if (key == "listen") {
            for (const auto& item : split_list(value)) {
                auto ep = parse_endpoint(item, default_port, err, /*allow_zero=*/true);
                if (!ep) return "listen: " + err;
                cfg.listen.push_back(*ep);
            }
            if (cfg.listen.empty()) return "listen: no address given";
            have_listen = true;
        } else if (key == "allow") {
            allow = Allowlist::parse(value, err);
            if (!allow) return "allow: " + err;
        } else if (key == "cert" || key == "key" || key == "client_ca" || key == "audit_log" ||
                   key == "state_dir" || key == "crl") {
            if (value.empty()) return std::string(key) + ": empty path";
            std::string file = resolve_path(dir, value);
            if (key != "audit_log" && key != "state_dir") {
                if (auto e = check_readable(file); !e.empty()) return std::string(key) + ": " + e;
            }
            (key == "cert"        ? cfg.cert
             : key == "key"       ? cfg.key
             : key == "client_ca" ? cfg.client_ca
             : key == "crl"       ? cfg.crl
             : key == "state_dir" ? cfg.state_dir
                                  : cfg.audit_log) = file;
        } else if (key == "crl_stale") {
            if (value != "warn" && value != "refuse")
                return "crl_stale: expected warn or refuse, got '" + printable(value) + "'";
            cfg.crl_refuse_stale = value == "refuse";
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
        } else if (key == "user" || key == "group") {
            if (value.empty() || value.find_first_of(" \t:/") != std::string_view::npos)
                return std::string(key) + ": expected a name, got '" + printable(value) + "'";
            (key == "user" ? cfg.user : cfg.group) = value;
        } else if (key == "allow_root") {
            if (!parse_bool(value, cfg.allow_root))
                return "allow_root: expected yes or no, got '" + printable(value) + "'";
        } else if (key == "metrics_listen") {
            auto ep = parse_endpoint(value, 9469, err, /*allow_zero=*/true);
            if (!ep) return "metrics_listen: " + err;
            cfg.metrics_listen = *ep;
        } else if (key == "metrics_allow") {
            auto list = Allowlist::parse(value, err);
            if (!list) return "metrics_allow: " + err;
            metrics_allow = std::move(*list);
        } else if (key == "diagnostics_keep") {
            if (!parse_duration(value, 3660 * 86400.0, cfg.diagnostics_keep_s))
                return "diagnostics_keep: expected a duration (e.g. 30d, 12h), got '" + printable(value) + "'";
        } else if (key == "diagnostics_max_size") {
            if (!parse_size(value, cfg.diagnostics_max_size))
                return "diagnostics_max_size: expected bytes with an optional K, M or G (e.g. 256M), got '" +
                       printable(value) + "'";
        } else if (key == "report") {
            Command cmd;
            if (auto e = command(key, value, cmd); !e.empty()) return e;
            cfg.report = std::move(cmd);
        } else if (key == "report_timeout") {
            if (!parse_duration(value, 3600.0, cfg.report_timeout_s))
                return "report_timeout: expected a duration above 0 (e.g. 10s), got '" + printable(value) + "'";
        } else if (key == "max_concurrent_actions") {
            unsigned long long n = 0;
            if (!parse_uint(value, 1, 1000, n))
                return "max_concurrent_actions: expected a number from 1 to 1000, got '" +
                       printable(value) + "'";
            cfg.max_concurrent_actions = static_cast<unsigned>(n);
        } else {
            return "unknown key '" + printable(key) +
                   "' in [listener] (known: listen, allow, cert, key, client_ca, crl, crl_stale, audit_log, "
                   "state_dir, user, group, allow_root, timeout, io_timeout, max_connections, "
                   "max_per_source, max_concurrent_actions, diagnostics_keep, "
                   "diagnostics_max_size, metrics_listen, metrics_allow, report, report_timeout)";
        }
        return {};
    }

    std::string service_key(std::string_view name, std::string_view key, std::string_view value) {
        auto& svc = cfg.services[std::string(name)];
        svc.name = name;
        if (key == "timeout") {
            if (!parse_duration(value, 86400, svc.timeout))
                return "timeout: expected a duration (e.g. 60 or 2m), got '" + printable(value) + "'";
            return {};
        }
        if (key == "budget") {
            if (value == "none") {
                svc.budget.reset();
                return {};
            }
            auto slash = value.find('/');
            unsigned long long n = 0;
            Budget b;
            if (slash == std::string_view::npos || !parse_uint(value.substr(0, slash), 1, 10000, n) ||
                !parse_duration(value.substr(slash + 1), 366 * 86400.0, b.window_s))
                return "budget: expected N/WINDOW (e.g. 3/1h; units s, m, h, d) or none, got '" +
                       printable(value) + "'";
            b.limit = static_cast<unsigned>(n);
            svc.budget = b;
            return {};
        }
        if (key == "cooldown" || key == "quarantine_for") {
            double& target = key == "cooldown" ? svc.cooldown_s : svc.quarantine_for_s;
            if (!parse_duration(value, 366 * 86400.0, target, key == "cooldown"))
                return std::string(key) + ": expected a duration (e.g. 30s, 10m, 1h, 2d), got '" +
                       printable(value) + "'";
            return {};
        }
        if (key == "watch") {
            if (value == "off" || value == "no") {
                svc.watch_s = 0;
                return {};
            }
            if (!parse_duration(value, 86400.0, svc.watch_s) || svc.watch_s < min_watch_s)
                return "watch: expected an interval of at least 100ms (e.g. 1s, 500ms) or off, got '" +
                       printable(value) + "'";
            return {};
        }
        if (key == "heal_after") {
            unsigned long long n = 0;
            if (!parse_uint(value, 1, 1000, n))
                return "heal_after: expected a count of failed status runs in a row, 1 to 1000, got '" +
                       printable(value) + "'";
            svc.heal_after = static_cast<unsigned>(n);
            return {};
        }
        if (key == "heal_verb") {
            auto v = parse_verb(value);
            if (!v || (*v != Verb::restart && *v != Verb::start))
                return "heal_verb: expected restart or start, got '" + printable(value) + "'";
            svc.heal_verb = *v;
            return {};
        }
        if (key == "dry_run" || key == "verify" || key == "confirm" || key == "watch_paused") {
            if (!parse_bool(value, key == "verify"    ? svc.verify
                                   : key == "confirm" ? svc.confirm
                                   : key == "watch_paused" ? svc.watch_paused
                                                      : svc.dry_run))
                return std::string(key) + ": expected yes or no, got '" + printable(value) + "'";
            return {};
        }
        if (key == "diagnose") {
            Command cmd;
            if (auto e = command(key, value, cmd); !e.empty()) return e;
            svc.diagnose = std::move(cmd);
            return {};
        }
        if (key == "diagnose_timeout") {
            if (!parse_duration(value, 86400.0, svc.diagnose_timeout_s))
                return "diagnose_timeout: expected a duration above 0 (e.g. 30s, 2m), got '" +
                       printable(value) + "'";
            return {};
        }
        if (key == "verify_interval" || key == "verify_timeout") {
            double& target = key == "verify_interval" ? svc.verify_interval_s : svc.verify_timeout_s;
            if (!parse_duration(value, key == "verify_interval" ? 3600.0 : 86400.0, target))
                return std::string(key) + ": expected a duration above 0 (e.g. 0.5s, 30s, 2m), got '" +
                       printable(value) + "'";
            return {};
        }
        if (key.rfind("watch_", 0) == 0 && key != "watch_paused") return check_key(svc, key, value);
        auto verb = parse_verb(key);
        if (!verb || !is_script_verb(*verb))
            return "unknown key '" + printable(key) + "' in [service " + std::string(name) +
                   "] (known: start, stop, restart, status, timeout, budget, cooldown, "
                   "quarantine_for, dry_run, verify, verify_interval, verify_timeout, diagnose, "
                   "diagnose_timeout, watch, heal_after, heal_verb, watch_paused, confirm, watch_check, "
                   "watch_expect, watch_health, watch_codes, watch_send, watch_ca, watch_reuse)";
        Command cmd;
        if (auto e = command(key, value, cmd); !e.empty()) return e;
        svc.scripts[*verb] = std::move(cmd);
        return {};
    }

    /// watch_check and what qualifies it; load_listener_config checks that they fit together.
    std::string check_key(ServiceConfig& svc, std::string_view key, std::string_view value) {
        WatchCheck& c = svc.check ? *svc.check : svc.check.emplace();
        if (key == "watch_check") return parse_watch_check(value, c);
        if (key == "watch_expect" || key == "watch_send") {
            std::string err;
            auto text = key == "watch_send" ? plugin::unescape(value, err) : std::optional<std::string>(value);
            if (!text || text->empty() || text->size() > 1024)
                return std::string(key) + ": expected text of 1 to 1024 bytes" +
                       (key == "watch_send" ? " (\\r, \\n, \\t, \\\\ allowed)" : "") + ", got '" +
                       printable(value) + "'" + (err.empty() ? "" : ": " + err);
            (key == "watch_send" ? c.send : c.expect) = *text;
            return {};
        }
        if (key == "watch_health") {
            if (!parse_bool(value, c.health))
                return "watch_health: expected yes or no, got '" + printable(value) + "'";
            return {};
        }
        if (key == "watch_codes") {
            std::string err;
            auto codes = plugin::parse_codes(value, err);
            if (!codes) return "watch_codes: " + err;
            c.codes = std::move(*codes);
            return {};
        }
        if (key == "watch_ca") {
            c.ca = resolve_path(dir, std::string(value));
            return {};
        }
        if (key == "watch_reuse") {
            unsigned long long n = 0;
            if (!parse_uint(value, 1, 1000, n))
                return "watch_reuse: expected how many rounds one connection serves, 1 (a new connection every "
                       "round) to 1000, got '" + printable(value) + "'";
            c.reuse = static_cast<unsigned>(n);
            return {};
        }
        return "unknown key '" + printable(key) + "' in [service " + svc.name +
               "] (watch keys: watch, watch_check, watch_expect, watch_health, watch_codes, watch_send, "
               "watch_ca, watch_reuse, watch_paused)";
    }

    /// A script path or a command line (split_command), its program resolved and checked.
    std::string command(std::string_view key, std::string_view value, Command& out) {
        std::string err;
        auto words = split_command(value, err);
        if (!words) return std::string(key) + ": " + err;
        out = Command{std::move(*words), false};
        out.command_line = out.argv.size() > 1;
        out.argv.front() = resolve_path(dir, out.argv.front());
        if (auto e = check_executable(out.path()); !e.empty()) return std::string(key) + ": " + e;
        return {};
    }

    std::string client_key(std::string_view name, std::string_view key, std::string_view value) {
        if (clients.find(std::string(name)) == clients.end()) {
            clients[std::string(name)].name = name;
            client_order.emplace_back(name);
        }
        auto& c = clients[std::string(name)];
        if (key == "cn") {
            if (value.empty()) return "cn: empty";
            c.cn = value;
        } else if (key == "fingerprint") {
            c.fingerprint = normalize_fingerprint(value);
            if (c.fingerprint.empty())
                return "fingerprint: expected the certificate's SHA-256 as 64 hex digits (colons "
                       "allowed, as `openssl x509 -noout -fingerprint -sha256` prints), got '" +
                       printable(value, 120) + "'";
        } else if (key == "verbs") {
            c.verbs.clear();
            for (const auto& item : split_list(value)) {
                if (item == "*") {
                    c.verbs = {Verb::start, Verb::stop, Verb::restart, Verb::status};
                    continue;
                }
                auto v = parse_verb(item);
                if (!v || !is_script_verb(*v))
                    return "verbs: unknown verb '" + printable(item) +
                           "' (known: start, stop, restart, status, or *; reset and --force "
                           "come with admin = yes)";
                c.verbs.insert(*v);
            }
            if (c.verbs.empty()) return "verbs: no verb given";
        } else if (key == "services") {
            c.all_services = false;
            c.services.clear();
            for (const auto& item : split_list(value)) {
                if (item == "*") {
                    c.all_services = true;
                } else if (is_valid_service_name(item)) {
                    c.services.insert(item);
                } else {
                    return "services: bad service name '" + printable(item) + "'";
                }
            }
            if (!c.all_services && c.services.empty()) return "services: no service given";
        } else if (key == "admin") {
            if (!parse_bool(value, c.admin)) return "admin: expected yes or no, got '" + printable(value) + "'";
        } else {
            return "unknown key '" + printable(key) + "' in [client " + std::string(name) +
                   "] (known: cn, fingerprint, verbs, services, admin)";
        }
        return {};
    }

    std::string on_key(std::string_view section, std::string_view key, std::string_view value) {
        if (section == "listener") return listener_key(key, value);
        // [service NAME] and [client NAME]: the same name rules for both.
        for (auto [prefix, what] : {std::pair{service_prefix, "service"}, {client_prefix, "client"}}) {
            if (section.substr(0, prefix.size()) != prefix) continue;
            auto name = trim(section.substr(prefix.size()));
            if (!is_valid_service_name(name))
                return std::string("bad ") + what + " name '" + printable(name) +
                       "' (letters, digits, '.', '_', '-'; at most 64)";
            return prefix == service_prefix ? service_key(name, key, value)
                                            : client_key(name, key, value);
        }
        if (section.empty()) return "key '" + printable(key) + "' outside any section";
        return "unknown section [" + printable(section) +
               "] (known: [listener], [service NAME], [client NAME])";
    }
};

}  // namespace

namespace {

/// More CA certificates than this in client_ca looks like a system bundle.
constexpr std::size_t max_client_cas = 5;

std::size_t count_certificates(const std::string& file) {
    std::ifstream in(file);
    std::size_t n = 0;
    std::string line;
    for (std::size_t lines = 0; lines < 1000000 && std::getline(in, line); ++lines)
        if (line.rfind("-----BEGIN CERTIFICATE-----", 0) == 0) ++n;
    return n;
}

/// /etc/ssl/certs (Debian's store of trusted CAs), or a file of the public CAs it links to.
bool under_system_store(const std::string& file) {
    std::error_code ec;
    auto real = std::filesystem::weakly_canonical(file, ec).string();
    return file.rfind("/etc/ssl/certs/", 0) == 0 || real.rfind("/etc/ssl/certs/", 0) == 0 ||
           real.rfind("/usr/share/ca-certificates/", 0) == 0;
}

}  // namespace

std::vector<std::string> config_warnings(const ListenerConfig& cfg) {
    std::vector<std::string> out;
    if (::geteuid() == 0 && cfg.user.empty())
        out.push_back(cfg.allow_root
                          ? "running as root (allow_root = yes): every script runs as root too; "
                            "prefer user = heal with sudo rules for fixed commands (see "
                            "heal-listener(8))"
                          : "as root without [listener] user, heal-listener refuses to start; "
                            "set user = heal (or allow_root = yes)");
    if (!cfg.group.empty() && cfg.user.empty())
        out.push_back("[listener] group is set but user is not: group applies only with user");
    for (const auto& c : cfg.allow.entries())
        if (c.wide())
            out.push_back("allow = " + c.text + " lets in a large part of the Internet (wider than "
                          "an IPv4 /8 or an IPv6 /32): list your Nagios servers instead");
    if (auto n = count_certificates(cfg.client_ca); n > max_client_cas || under_system_store(cfg.client_ca))
        out.push_back("client_ca '" + cfg.client_ca + "' " +
                      (n > max_client_cas ? "holds " + std::to_string(n) + " CA certificates"
                                          : std::string("is in the system's CA store")) +
                      " (a system CA bundle?): a certificate from any of those CAs would be let "
                      "in; use your own CA's certificate only");
    // Whoever may change a script or the configuration decides what runs: so does whoever may
    // replace it, through any folder on its path (a sticky folder, like /tmp, lets nobody
    // replace another's file).
    auto check_owner = [&](const std::string& file, const std::string& what) {
        struct stat fs {};
        if (::stat(file.c_str(), &fs) != 0) return;
        if (fs.st_mode & (S_IWGRP | S_IWOTH))
            out.push_back(what + " '" + file + "' is " +
                          ((fs.st_mode & S_IWOTH) ? "world" : "group") +
                          "-writable: whoever can write it decides what heal runs; chmod go-w it");
        if (fs.st_uid != 0 && fs.st_uid != ::geteuid())
            out.push_back(what + " '" + file + "' is owned by uid " + std::to_string(fs.st_uid) +
                          ", neither root nor this user: that user decides what heal runs");
        for (auto dir = dir_of(file);; dir = dir_of(dir)) {
            struct stat ds {};
            if (::stat(dir.c_str(), &ds) != 0) break;
            if ((ds.st_mode & (S_IWGRP | S_IWOTH)) && !(ds.st_mode & S_ISVTX))
                out.push_back("folder '" + dir + "' of " + what + " '" + file + "' is " +
                              ((ds.st_mode & S_IWOTH) ? "world" : "group") +
                              "-writable: whoever can write it can replace the " + what + "; chmod go-w it");
            else if (ds.st_uid != 0 && ds.st_uid != ::geteuid())
                out.push_back("folder '" + dir + "' of " + what + " '" + file + "' is owned by uid " +
                              std::to_string(ds.st_uid) + ", neither root nor this user: that user can replace the " +
                              what);
            if (dir == "/") break;
        }
    };
    check_owner(cfg.path, "configuration");
    if (cfg.report) check_owner(cfg.report->path(), "report command");
    for (const auto& [name, svc] : cfg.services) {
        for (const auto& [verb, cmd] : svc.scripts) check_owner(cmd.path(), "script");
        if (svc.diagnose) check_owner(svc.diagnose->path(), "diagnose script");
    }
    struct stat st {};
    if (::stat(cfg.key.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        out.push_back("private key '" + cfg.key + "' is readable by every user on this host; "
                      "chmod o-r it");
    if (cfg.clients.empty())
        out.push_back("no [client NAME] sections: every certificate signed by client_ca may run "
                      "every verb of every service (and nobody may reset or --force); name who "
                      "may do what (see heal.ini(5))");
    for (const auto& [name, svc] : cfg.services)
        if (svc.confirm && !svc.can(Verb::status))
            out.push_back("[service " + name + "] confirm = yes without a status command: there is "
                          "nothing to ask, so remote restarts and stops are not confirmed");
    for (const auto& [name, svc] : cfg.services)
        if (!svc.budget && svc.scripts.size() > svc.scripts.count(Verb::status))
            out.push_back("[service " + name + "] budget = none: a service that fails again after "
                          "every restart is restarted for ever");
    return out;
}

std::vector<std::string> config_problems(const ListenerConfig& cfg) {
    std::vector<std::string> out;
    struct stat st {};
    if (::stat(cfg.state_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        out.push_back("state_dir '" + cfg.state_dir + "' is not a folder (create it, owned by the "
                      "listener's user: install -d -m 0750 -o heal " + cfg.state_dir + ")");
    else if (::access(cfg.state_dir.c_str(), W_OK | X_OK) != 0)
        out.push_back("state_dir '" + cfg.state_dir + "' is not writable: " + std::strerror(errno));
    // As root with `user`, the listener uses state_dir after dropping: it must be that user's.
    if (::geteuid() == 0 && !cfg.user.empty()) {
        if (passwd* pw = ::getpwnam(cfg.user.c_str())) {
            for (const auto& f : {cfg.state_dir, cfg.state_dir + "/heal.db", cfg.state_dir + "/locks"}) {
                struct stat fs {};
                if (::stat(f.c_str(), &fs) == 0 && fs.st_uid != pw->pw_uid)
                    out.push_back("'" + f + "' is owned by uid " + std::to_string(fs.st_uid) +
                                  ", not by user " + cfg.user + ", whom the listener runs as after "
                                  "dropping root: chown -R " + cfg.user + ": " + cfg.state_dir);
            }
        } else {
            out.push_back("user '" + cfg.user + "' does not exist");
        }
    }
    if (auto why = audit_log_problem(cfg.audit_log); !why.empty())
        out.push_back("audit_log '" + cfg.audit_log + "' " + why);
    return out;
}

std::string normalize_fingerprint(std::string_view text) {
    std::string hex;
    for (char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
        hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64) return {};
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i) out += ':';
        out += hex.substr(i, 2);
    }
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
    if (b.metrics_allow) {
        b.cfg.metrics_allow = *b.metrics_allow;
    } else {
        std::string err;
        b.cfg.metrics_allow = *Allowlist::parse("127.0.0.1, ::1", err);
    }
    if (!b.have_listen)
        b.cfg.listen.emplace_back(boost::asio::ip::make_address("127.0.0.1"), default_port);
    for (const auto& [name, svc] : b.cfg.services) {
        if (auto e = check_fits(svc); !e.empty()) throw ConfigError(path + ": [service " + name + "] " + e);
        if (svc.scripts.empty() && !svc.check)
            throw ConfigError(path + ": [service " + name + "] defines no verb (start, stop, "
                                     "restart or status)");
        if (svc.verify && !svc.can(Verb::status))
            throw ConfigError(path + ": [service " + name + "] verify = yes needs a status "
                                     "command or watch_check to verify with");
        if (svc.watch_s > 0 && !svc.can(Verb::status))
            throw ConfigError(path + ": [service " + name + "] watch needs a status command or "
                                     "watch_check to watch with");
        if (svc.watch_s > 0 && !svc.scripts.count(svc.heal_verb))
            throw ConfigError(path + ": [service " + name + "] watch heals with heal_verb = " +
                              std::string(to_string(svc.heal_verb)) + ", which the section does not define");
    }
    std::set<std::string> cns, fingerprints;
    for (const auto& name : b.client_order) {
        auto& c = b.clients.at(name);
        std::string where = path + ": [client " + name + "] ";
        if (name == watch_client)
            throw ConfigError(where + "'" + watch_client + "' is the name of the listener's own watch "
                                      "loop in the audit and history; give the client another name");
        if (c.cn.empty() == c.fingerprint.empty())
            throw ConfigError(where + "needs exactly one of cn and fingerprint");
        if ((!c.cn.empty() && !cns.insert(c.cn).second) ||
            (!c.fingerprint.empty() && !fingerprints.insert(c.fingerprint).second))
            throw ConfigError(where + "matches the same certificate as an earlier [client] section");
        for (const auto& s : c.services)
            if (!b.cfg.services.count(s))
                throw ConfigError(where + "services: no [service " + s + "] in this file");
        b.cfg.clients.push_back(std::move(c));
    }
    return std::move(b.cfg);
}

}  // namespace heal
