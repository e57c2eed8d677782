// What heal-alert-receiver does with one webhook call from Alertmanager: for every alert, the
// route it takes, the host it names, the fleet guard with Prometheus' counts, one decision per
// problem in the fleet store, the heal through that host's listener, and pages back to
// Alertmanager when a heal is blocked or fails. The server (webhook_server.hpp) only carries bytes.
//
// The problem is the heal's target, (host, "SERVICE VERB") in the fleet store. Every alert
// episode (fingerprint, startsAt) asking for that heal joins the target's open problem, so five
// alerts of one outage (distinct label sets, both Prometheus of an HA pair) heal once. The
// problem closes when every episode that joined it resolved; a closed episode stays closed, so a
// late or repeated firing of it acts on nothing, while the same alert firing again (a new
// startsAt) is a new episode. A repeat acts on nothing and costs no Prometheus query (the store is
// asked first); it posts the problem's page again. Every decision is audited before a heal is
// asked for: no record, no heal.
#pragma once

#include "alertmanager.hpp"
#include "audit_log.hpp"
#include "client.hpp"
#include "fleet_store.hpp"
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

    /// Posts the page of every open problem again (each ends an hour after its last post):
    /// the server calls it every page_refresh_s, so a page lives as long as its problem and
    /// no longer than an hour after the receiver stopped.
    void refresh_pages();

    /// SIGHUP: reopens the audit log at its path (after a rotation). Logs what it did.
    void reopen_audit();

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
    Decided repeat(const fleet::OpenProblem& open, const alertmanager::Alert& a);
    /// A new problem of target `key`: the fleet guard's counts, the claim, the audit, the heal.
    Decided decide(const alertmanager::Alert& a, const Route& route, const std::string& host, const std::string& key,
                   const std::string& alertname, const std::string& what, fleet::FleetStore& store,
                   const std::string& rid, const std::string& peer);
    /// How the heal ended (`outcome`: the listener's, or no_answer): the final record, a page.
    Decided healed_or_paged(const CallResult& result, const std::string& outcome, const Route& route,
                            const std::string& alertname, const std::string& what, fleet::FleetStore& store,
                            const std::string& key, Page p, const std::string& rid);
    /// Keeps the page with the problem (its own columns) and posts it.
    void keep_page(fleet::FleetStore& store, const std::string& key, const Page& p, const std::string& rid);
    /// A problem closed: audited, logged, its page (if any) ended.
    void end_page(const fleet::OpenProblem& closed, const Route& route, const std::string& rid);
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
