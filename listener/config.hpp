// heal.ini: what the listener listens on, who may talk to it, what it may run, and the
// guardrails around every state-changing action.
#pragma once

#include "common/address.hpp"
#include "common/ini_file.hpp"
#include "common/protocol.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace heal {

/// At most `limit` state-changing actions that ran in any sliding `window_s`.
struct Budget {
    unsigned limit = 3;
    double window_s = 3600;
};

/// What a verb runs, fixed at load time and executed without a shell: a script path, run as
/// {path, verb}, or a command line, run as exactly its words.
struct Command {
    std::vector<std::string> argv;  ///< argv[0]: an absolute path
    bool command_line = false;      ///< false: a single path, the verb is appended
    const std::string& path() const { return argv.front(); }
    /// The words as configured, for messages ("/usr/bin/sudo -n /bin/systemctl restart web").
    std::string text() const;
};

/// Splits a verb's value into words: blanks separate, double quotes group ("a b" is one word).
/// Nothing else of a shell: $, `, \, ', |, &, ;, <, >, (, ), {, }, globs (*, ?, [) and ~ are
/// refused, with a message saying so; so are an unterminated quote and an empty value.
std::optional<std::vector<std::string>> split_command(std::string_view value, std::string& error);

/// `watch_check = URL`: the service's status is an in-process probe, on the daemon's thread and
/// without a process: an HTTP(S) GET, or a TCP connect (and a line). Stands for the `status`
/// verb everywhere (the watch loop, `heal-ctl status`, verify, confirm).
struct WatchCheck {
    std::string url;    ///< as configured, for messages
    bool tcp = false;   ///< tcp://HOST:PORT
    bool tls = false;   ///< https://
    std::string host;   ///< the Host header, SNI and the name the certificate must carry
    unsigned short port = 0;
    std::string path = "/";  ///< HTTP: path and query
    std::string expect;      ///< watch_expect: text the body (tcp: the line) must contain
    bool health = false;     ///< watch_health = yes: a JSON health document's top-level status
    std::vector<std::pair<unsigned, unsigned>> codes;  ///< watch_codes; empty: 200-399
    std::string send;        ///< watch_send (tcp): sent first, then one line is read
    std::string ca;          ///< watch_ca (https): the CA file; "" for the system store
    /// watch_reuse (http, https): requests one connection carries (keep-alive) while the loop
    /// watches; 1 opens a new connection every round. 0: not set (default_watch_reuse).
    unsigned reuse = 0;
    unsigned rounds_per_connection() const { return reuse ? reuse : 10; }
};

/// Parses a watch_check value (http://HOST[:PORT][/PATH], https://…, tcp://HOST:PORT) into
/// `out`: "" or why not.
std::string parse_watch_check(std::string_view url, WatchCheck& out);

struct ServiceConfig {
    std::string name;
    std::map<Verb, Command> scripts;  ///< verb -> what it runs
    double timeout = 0;                   ///< seconds; 0 = the listener default
    std::optional<Budget> budget = Budget{};  ///< nullopt: `budget = none`
    double cooldown_s = 0;       ///< from the end of one action to the start of the next
    double quarantine_for_s = 0; ///< 0: a quarantine lasts until `heal-ctl reset`
    bool dry_run = false;
    /// After a successful start or restart, run status every verify_interval_s until it exits 0
    /// or verify_timeout_s passes (needs a status verb).
    bool verify = false;
    double verify_interval_s = 1;
    double verify_timeout_s = 30;
    /// Run before every restart and stop; its output is kept as diagnostics/<request id>.log.
    std::optional<Command> diagnose;
    double diagnose_timeout_s = 30;
    /// The local watch loop (daemon only): run status every watch_s (jittered by +-10%); after
    /// heal_after non-OK results in a row, heal_verb through the same decide() as a remote
    /// request, as the client `watch`. 0: not watched.
    double watch_s = 0;
    unsigned heal_after = 3;
    Verb heal_verb = Verb::restart;
    /// Before a remotely requested restart or stop, run status here: exit 0 refuses the
    /// request `healthy_here` (a second opinion against a partition or a wrong check).
    bool confirm = false;
    /// `watch_paused = yes`: the loop watches but does not heal, with no end (`heal-ctl pause`
    /// holds every non-admin heal, for a time).
    bool watch_paused = false;
    std::optional<WatchCheck> check;  ///< watch_check: the status, in-process

    /// A verb this service can do: one of its commands, or status by its watch_check.
    bool can(Verb v) const { return scripts.count(v) > 0 || (v == Verb::status && check.has_value()); }
};

/// The client name of the watch loop's heals in the audit, history and metrics: [client watch]
/// is refused, so no certificate can take it.
inline constexpr const char* watch_client = "watch";
inline constexpr double min_watch_s = 0.1;

/// A `[client NAME]` section: which certificate it is and what it may do.
struct ClientRule {
    std::string name;
    std::string cn;           ///< match on the subject's CN, or:
    std::string fingerprint;  ///< SHA-256, upper-case hex with colons (as PeerCertificate)
    std::set<Verb> verbs{Verb::status};  ///< script verbs granted
    bool all_services = true;
    std::set<std::string> services;
    bool admin = false;  ///< may reset and --force

    bool grants(Verb v, const std::string& service) const {
        return verbs.count(v) && (all_services || services.count(service));
    }
};

struct ListenerConfig {
    std::string path;  ///< the file this came from
    std::vector<boost::asio::ip::tcp::endpoint> listen;
    Allowlist allow;
    std::string cert, key, client_ca, audit_log;
    std::string crl;                ///< PEM CRLs for client certificates; "" for none
    bool crl_refuse_stale = false;  ///< crl_stale = refuse: a CRL past its next update fails
    std::string state_dir = "/var/lib/heal";
    std::string user, group;  ///< drop to these after binding (see privileges.hpp)
    bool allow_root = false;
    double timeout = 30;     ///< default action timeout, seconds
    double io_timeout = 10;  ///< per network phase: handshake, request, reply, shutdown
    unsigned max_connections = 512;
    unsigned max_per_source = 32;
    unsigned max_concurrent_actions = 4;  ///< state-changing actions in flight, all processes
    std::map<std::string, ServiceConfig> services;
    std::vector<ClientRule> clients;  ///< empty: every certificate from client_ca, no admin

    double timeout_for(const ServiceConfig& s) const { return s.timeout > 0 ? s.timeout : timeout; }
    /// Prometheus /metrics over plain HTTP: off unless set; only metrics_allow peers.
    std::optional<boost::asio::ip::tcp::endpoint> metrics_listen;
    Allowlist metrics_allow;
    /// Diagnostics older than this, then the oldest beyond the size, are deleted.
    double diagnostics_keep_s = 30 * 86400.0;
    std::uint64_t diagnostics_max_size = 256ull << 20;
    /// Run after every heal, refusal and quarantine of the watch loop (HEAL_* in its
    /// environment); never waited for by the loop.
    std::optional<Command> report;
    double report_timeout_s = 10;
};

/// Things that work but deserve an operator's look: running as root (every script then runs as
/// root), a private key that anyone on the host can read, no [client] sections, a service
/// without a budget.
std::vector<std::string> config_warnings(const ListenerConfig& cfg);

/// What --check-config adds: state_dir and audit_log are writable by this user. One line
/// per problem; empty when all is well.
std::vector<std::string> config_problems(const ListenerConfig& cfg);

/// Loads and validates `path`. Throws ConfigError naming the file, line and key.
/// Relative paths in the file are relative to the file's folder.
ListenerConfig load_listener_config(const std::string& path);

/// "AB:CD:…" from any case, with or without colons; "" when it is not 32 bytes of hex.
std::string normalize_fingerprint(std::string_view text);

}  // namespace heal
