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

#include "receiver/alertmanager.hpp"
#include "common/audit_log.hpp"
#include "fleet/heal_call.hpp"
#include "fleet/store.hpp"
#include "receiver/pages.hpp"
#include "receiver/routes.hpp"

#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace heal::receiver {

/// The receiver's fleet store: PostgreSQL with store_conninfo, else receiver.db in state_dir.
fleet::StoreSpec store_spec(const Config& cfg);
/// At start: a store left by a version before 0.3 (state_dir/event-handler.db) is renamed
/// receiver.db, so its open problems carry on.
void adopt_old_store(const Config& cfg);

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

    /// Writes what refused() handed over before the audit log closes.
    ~Receiver();
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    /// A request refused (a body that is not a webhook; from the server: a wrong token, path,
    /// method, size, a failed handshake): logged, counted by `status` (0: no HTTP status, the
    /// TLS handshake) and audited before it returns.
    void refused(const std::string& peer, unsigned status, const std::string& why, const std::string& request_id);
    /// The same, audited on a thread of its own and not waited for: what the server's io thread
    /// calls, so that a lock another process holds on the audit log stops neither /-/healthy
    /// nor other answers.
    void refused_later(const std::string& peer, unsigned status, const std::string& why,
                       const std::string& request_id);

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
    /// One alert's heal: where, what, and the words for it.
    struct Target {
        const alertmanager::Alert& alert;
        const Route& route;
        std::string host, key;  ///< the problem in the fleet store: (host, "SERVICE VERB")
        std::string alertname, what, rid, peer;
    };
    Decided firing(const alertmanager::Alert& a, const Route& route, const std::string& request_id,
                   const std::string& peer);
    Decided resolved(const alertmanager::Alert& a, const Route& route, const std::string& request_id);
    Decided repeat(const fleet::OpenProblem& open, const alertmanager::Alert& a);
    /// A route that cannot say where to heal: a page.
    Decided unroutable(const Target& t, const std::string& why);
    /// The store could not decide: nothing acts, Alertmanager sends it again (503).
    Decided undecided(const Target& t, const std::string& why);
    /// The store decided the target again: a page that it could not be reached ends.
    void store_answers(const Target& t);
    Page page_for(const Target& t) const;
    /// A new problem of the target: the fleet guard's counts, the claim, then blocked or heal.
    Decided decide(const Target& t, fleet::Store& store);
    Decided blocked(const Target& t, fleet::Store& store, const fleet::Claim& claim, boost::json::object rec,
                    const fleet::FleetView& view, bool prometheus_failed);
    /// The audit gate, the listener's call, the end of the heal in the store.
    Decided heal(const Target& t, fleet::Store& store, const fleet::Claim& claim, const fleet::HealCall& call,
                 boost::json::object rec, const fleet::FleetView& view);
    /// How the heal ended: the final record, a page when it did not heal.
    Decided healed_or_paged(const Target& t, fleet::Store& store, const fleet::HealOutcome& h);
    /// Keeps the page with the problem (its own columns) and posts it.
    void keep_page(fleet::Store& store, const std::string& key, const Page& p, const std::string& rid);
    /// A problem closed: audited, logged, its page (if any) ended.
    void end_page(const fleet::OpenProblem& closed, const Route& route, const std::string& rid);
    bool audit(boost::json::object record);
    boost::json::object refusal_record(const std::string& peer, unsigned status, const std::string& why,
                                       const std::string& request_id);
    void count(const std::string& outcome, const std::string& guard);
    /// Posts (or ends, `lasts_s` 0) a page; logs and counts how it went.
    void page(const Page& p, double lasts_s);

    Config cfg_;
    AuditLog audit_;
    std::mutex audit_mutex_;
    /// The refusals' audit records: written here, one at a time, never on the io thread.
    boost::asio::thread_pool refusals_{1};
    std::mutex mutex_;  ///< guards what follows
    std::map<unsigned, std::uint64_t> requests_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> decisions_;
    std::map<std::pair<std::string, std::string>, std::uint64_t> pages_;  ///< (alertname, posted|failed)
    std::set<std::string> unrouted_seen_;  ///< fingerprints logged as unrouted (capped)
    std::map<std::string, Page> store_pages_;  ///< "host\ntarget": posted "cannot reach the fleet store"
};

}  // namespace heal::receiver
