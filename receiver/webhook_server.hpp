// heal-alert-receiver's HTTPS server: Alertmanager's webhook calls come in here.
//
// accept → allowlist (before any TLS work; refused peers are closed, logged once a minute per
// address) → a slot (max_connections in all, max_per_address per address; past them a
// connection waits its turn within io_timeout, then is closed) → TLS handshake (client certificate verified when client_ca is set)
// → one HTTP/1.1 request (headers 8 KiB, body alertmanager::max_body_bytes, each phase within
// io_timeout) → bearer token (when token_file is set, compared in constant time) → the path:
//   POST /webhook   Receiver::webhook, run on a worker thread (it waits on Prometheus, the
//                   listener, Alertmanager) while the server goes on serving; answered within
//                   answer_within_s (202 when still deciding, 503 when no worker took it)
//   GET  /metrics   Receiver::metrics
//   GET  /-/healthy "ok"
// → the answer, and the connection is closed. Refusals before the request was read are logged
// and audited once per address, kind and 10 s window, the rest counted into one record. SIGTERM/SIGINT stop accepting and let calls in
// progress finish; SIGHUP reopens the audit log (logrotate); the configuration is read at start.
// Every page_refresh_s the pages of open problems are posted again, so they last as long.
#pragma once

#include "receiver/heal_alerts.hpp"

namespace heal::receiver {

inline constexpr unsigned max_connections = 64;   ///< served at once
inline constexpr unsigned max_per_address = 16;   ///< served at once for one address
inline constexpr unsigned max_waiting = 256;      ///< waiting for a slot (within io_timeout); more are closed
inline constexpr unsigned worker_threads = 4;  ///< webhook decisions at once
inline constexpr unsigned max_pending = 32;    ///< webhook calls waiting for a worker; more: 503 at once
/// Every webhook call is answered within this (Alertmanager gives up after 10 s by default).
inline constexpr unsigned answer_within_s = 8;
inline constexpr unsigned page_refresh_s = 600;  ///< pages end an hour after their last post

/// Serves until SIGTERM or SIGINT; returns the exit code. Throws std::runtime_error when it
/// cannot start (certificates, token, the port).
int serve(Receiver& receiver);

/// The token file's first line (without "\r"): at least 16 characters; throws
/// std::runtime_error naming the file otherwise.
std::string read_token(const std::string& path);

/// "Bearer TOKEN" against `token`, in constant time for a header of the token's length.
bool bearer_matches(std::string_view authorization, const std::string& token);

}  // namespace heal::receiver
