// What heal-alert-receiver does with one webhook call from Alertmanager: for every alert, the
// route it takes, the host it names, the fleet guard with Prometheus' counts, one decision per
// problem in the fleet store, the heal through that host's listener, and pages back to
// Alertmanager when a heal is blocked or fails. The server (webhook_server.hpp) only carries bytes.
//
// The problem is the alert in one firing episode: (host, "SERVICE alert FINGERPRINT since
// STARTSAT") in the fleet store, decided once while the alert fires and forgotten when
// Alertmanager says it resolved (an alert that fires again has a new startsAt: a new problem). A repeat of a
// firing alert acts on nothing (it posts the page again, if there was one, so the page lives as
// long as the problem). Every decision is audited before a heal is asked for: no record, no heal.
#pragma once

#include "alertmanager.hpp"
#include "audit_log.hpp"
#include "pages.hpp"
#include "routes.hpp"

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace heal::receiver {

/// The answer to one HTTP request.
struct Answer {
    unsigned status = 200;
    std::string body;  ///< text/plain: one line per alert, or why the request was refused
};

class Receiver {
public:
    /// Opens the audit log (throws std::runtime_error naming it). The fleet store is opened per
    /// call, as heal-event-handler does: SQLite's lock makes concurrent decisions one at a time.
    explicit Receiver(Config cfg);

    /// One webhook body from `peer`: 400 for a payload that is not Alertmanager's version 4
    /// (audited, nothing acts), 503 when the store or the audit log could not take a decision
    /// (nothing acted for that alert; Alertmanager will send it again), else 200 with what was
    /// decided. Blocking (Prometheus, the listener, Alertmanager are asked): run it off the
    /// server's thread. Safe to call from several threads.
    Answer webhook(std::string_view body, const std::string& peer, const std::string& request_id);

    /// A request refused before its body was looked at (wrong token, path, method, size, a
    /// failed handshake): audited and counted by `status` (0: no HTTP status, the TLS handshake).
    void refused(const std::string& peer, unsigned status, const std::string& why, const std::string& request_id);

    /// Counts an answer sent, by HTTP status.
    void answered(unsigned status);

    /// GET /metrics: requests by status, decisions by outcome and guard, pages posted.
    std::string metrics();

    const Config& config() const { return cfg_; }

private:
    struct Decided {
        std::string line;          ///< the body's line for this alert
        bool undecided = false;    ///< the store or the audit could not take it: answer 503
    };
    Decided firing(const alertmanager::Alert& a, const Route& route, const std::string& request_id,
                   const std::string& peer);
    Decided resolved(const alertmanager::Alert& a, const Route& route, const std::string& request_id);
    bool audit(boost::json::object record);
    void count(const std::string& outcome, const std::string& guard);
    /// Posts (or ends, `lasts_s` 0) a page; logs and counts how it went.
    void page(const Page& p, double lasts_s);

    Config cfg_;
    AuditLog audit_;
    std::mutex audit_mutex_;
    std::mutex mutex_;  ///< guards what follows
    std::map<unsigned, std::uint64_t> requests_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> decisions_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> pages_;  ///< (alertname, posted|failed)
    std::set<std::string> unrouted_seen_;  ///< fingerprints logged as unrouted (capped)
};

}  // namespace heal::receiver
