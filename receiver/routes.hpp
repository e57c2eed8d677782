// heal-alert-receiver's configuration (receiver.ini, INI like heal.ini) and its pure parts:
// which route an Alertmanager alert takes, which host it names, and what a Prometheus instant
// query answered. The server, the fleet guard and the calls to listeners build on these.
//
//   [receiver]                          ; how Alertmanager reaches us, and where we keep state
//   listen = 127.0.0.1:9466
//   allow = 127.0.0.1, ::1              ; checked before TLS
//   cert = server.crt / key = server.key
//   client_ca = ca.crt                  ; Alertmanager's client certificate must chain to it
//   token_file = /etc/heal/receiver.token   ; and/or: "Authorization: Bearer <the file's line>"
//   state_dir = /var/lib/heal-receiver     ; the fleet store, SQLite (receiver.db), by default
//   store_conninfo = /etc/heal/fleet-store.conninfo  ; or PostgreSQL, shared by HA receivers
//   audit_log = /var/log/heal-receiver/audit.jsonl  ; every request refused and every decision
//   client_config = /etc/heal/heal-ctl.ini  ; how to reach the listeners
//   prometheus = http://127.0.0.1:9090      ; the fleet guard's source of truth
//   alertmanager = http://127.0.0.1:9093    ; where HealBlocked / HealFailed go
//   max_unhealthy = 25%   fleet_budget = 10/1h   fleet_concurrency = 2   dry_run = no
//
//   [route worker-down]                 ; one per kind of alert that heals
//   match = alertname=WorkerDown, job=worker
//   host_label = instance               ; its value without the port names the host
//   server_name = heal.example.org      ; the listener certificate's name (default: the host)
//   service = worker                    ; the heal service, and the verb
//   verb = restart
//   group_size = count(up{job="worker"})
//   group_unhealthy = count(up{job="worker"} == 0)
#pragma once

#include "common/address.hpp"
#include "receiver/alertmanager.hpp"
#include "fleet/guard.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace heal::receiver {

struct Route {
    std::string name;
    std::vector<std::pair<std::string, std::string>> match;  ///< label = value, all of them
    std::string host_label = "instance";
    std::string server_name;  ///< "" : the host
    std::string service, verb = "restart";
    std::string group_size, group_unhealthy;  ///< PromQL, each answering one number
};

struct Config {
    std::string path;
    boost::asio::ip::tcp::endpoint listen;
    Allowlist allow;
    std::string cert, key, client_ca, token_file;
    std::string state_dir = "/var/lib/heal-receiver";
    std::string store_conninfo;  ///< set: the fleet store is PostgreSQL, this file its libpq conninfo
    std::string audit_log = "/var/log/heal-receiver/audit.jsonl";
    std::string client_config = "/etc/heal/heal-ctl.ini";
    std::string prometheus, alertmanager;  ///< base URLs
    /// The CA an https:// Prometheus's or Alertmanager's certificate is verified against (""
    /// means the system's store, /etc/ssl/certs).
    std::string prometheus_ca, alertmanager_ca;
    fleet::UnhealthyLimit max_unhealthy;
    fleet::Budget fleet_budget;
    unsigned fleet_concurrency = 2;
    bool dry_run = false;
    double io_timeout = 10;
    std::vector<Route> routes;  ///< in file order: the first that matches takes the alert
};

/// Loads and validates `path`; throws ConfigError naming the file, line and key. At least one
/// of client_ca and token_file is required (no anonymous caller acts); every route needs match,
/// service and both queries.
Config load_config(const std::string& path);

/// The first route whose every matcher equals the alert's label; null when none does.
const Route* route_for(const Config& cfg, const alertmanager::Alert& alert);

/// The host the alert names through the route's host_label: the value without a ":PORT"
/// ("web2:9100" -> "web2", "[2001:db8::1]:9100" -> "2001:db8::1"); nullopt with `error` when the
/// label is missing or is not a host name or address.
std::optional<std::string> host_of(const Route& route, const alertmanager::Alert& alert, std::string& error);

/// The number a Prometheus /api/v1/query answer holds: a scalar, or a vector of exactly one
/// sample; an empty vector is `empty_is` when given (count() of nothing), else an error.
/// nullopt with `error` for anything else: not JSON, status not "success", a matrix, two
/// samples, a value that is not a finite number.
std::optional<double> parse_query_number(std::string_view body, std::optional<double> empty_is, std::string& error);

}  // namespace heal::receiver
