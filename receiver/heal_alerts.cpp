#include "receiver/heal_alerts.hpp"

#include "common/log.hpp"
#include "fleet/heal_call.hpp"
#include "fleet/store.hpp"
#include "receiver/prometheus_guard.hpp"
#include "receiver/prometheus_query.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <boost/asio/post.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace heal::receiver {

namespace json = boost::json;

namespace {

constexpr std::size_t max_unrouted_remembered = 10000;
/// A page lasts this long unless posted again (refresh_pages every page_refresh_s and every
/// repeat of the alert do) or ended with its problem.
constexpr double page_lasts_s = 3600;
/// A page that the fleet store cannot be reached lasts this long unless Alertmanager's resend
/// of the alert posts it again (or the store decides the target again, which ends it).
constexpr double store_page_lasts_s = 900;

/// The problem in the fleet store is the heal's target: (host, "SERVICE VERB"). Every alert
/// episode (fingerprint, startsAt) that asks for that heal joins it while it is open, so one
/// outage seen by several alerts (rules, label sets, HA Prometheus pairs) is decided once.
std::string target_key(const Route& route) { return route.service + " " + route.verb; }

fleet::StoredPage stored(const Page& p) {
    return {p.failed ? "HealFailed" : "HealBlocked", p.guard, p.service, p.route, p.fingerprint, p.sentence, p.request_id};
}

Page page_of(const fleet::OpenProblem& o) {
    Page p;
    p.failed = o.page.name == "HealFailed";
    p.guard = o.page.guard;
    p.host = o.host;
    p.service = o.page.service;
    p.route = o.page.route;
    p.fingerprint = o.page.fingerprint;
    p.sentence = o.page.sentence;
    p.request_id = o.page.request_id;
    return p;
}

std::string labels_text(const std::map<std::string, std::string>& labels) {
    std::string out;
    for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
    return printable(out, 300);
}

/// The guard label of a claim that does not heal.
std::string guard_of(const fleet::Claim& c, bool prometheus_failed) {
    switch (c.kind) {
        case fleet::Claim::Kind::blocked: return prometheus_failed ? "prometheus" : "fleet";
        case fleet::Claim::Kind::budget: return "budget";
        case fleet::Claim::Kind::concurrency:
        case fleet::Claim::Kind::waiting: return "concurrency";
        default: return "";
    }
}

std::string metric_label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

}  // namespace

Receiver::Receiver(Config cfg) : cfg_(std::move(cfg)), audit_(cfg_.audit_log) { adopt_old_store(cfg_); }

bool Receiver::audit(json::object record) {
    json::object r;
    r["program"] = "heal-alert-receiver";
    for (auto& kv : record) r[kv.key()] = std::move(kv.value());
    std::lock_guard lock(audit_mutex_);  // one writer at a time within this process
    return audit_.write(r);
}

void Receiver::count(const std::string& outcome, const std::string& guard) {
    std::lock_guard lock(mutex_);
    ++decisions_[{outcome, guard}];
}

void Receiver::answered(unsigned status) {
    std::lock_guard lock(mutex_);
    ++requests_[status];
}

Receiver::~Receiver() { refusals_.join(); }

json::object Receiver::refusal_record(const std::string& peer, unsigned status, const std::string& why,
                                      const std::string& request_id) {
    log::warning("request " + request_id + " from " + peer + " refused" +
                 (status ? " (" + std::to_string(status) + ")" : "") + ": " + why);
    if (status == 0) answered(0);
    return {{"record", "refused"}, {"id", request_id}, {"peer", peer}, {"status", status},
            {"why", printable(why, 500)}, {"ts", utc_iso(now_ms())}};
}

void Receiver::refused(const std::string& peer, unsigned status, const std::string& why, const std::string& request_id) {
    audit(refusal_record(peer, status, why, request_id));
}

void Receiver::refused_later(const std::string& peer, unsigned status, const std::string& why,
                             const std::string& request_id) {
    // Each attempt waits for the lock up to 2 s; a reader holding it longer delays the record
    // (it keeps its time), for up to a minute, and holds up nothing else.
    boost::asio::post(refusals_, [this, record = refusal_record(peer, status, why, request_id)] {
        for (int attempt = 0; attempt < 30 && !audit(record); ++attempt) {
        }
    });
}

void Receiver::page(const Page& p, double lasts_s) {
    const std::string name = p.failed ? "HealFailed" : "HealBlocked";
    std::string err = cfg_.dry_run && lasts_s > 0 ? "dry run" : "";
    if (err.empty()) err = post_alerts(cfg_.alertmanager, alerts_body({p}, now_ms(), lasts_s), cfg_.io_timeout, cfg_.alertmanager_ca);
    const std::string what = (lasts_s > 0 ? "page " : "page ended ") + name + " host=" + p.host + " service=" + p.service +
                             (p.guard.empty() ? "" : " guard=" + p.guard);
    if (err == "dry run") log::info("dry run: would post " + what + ": " + p.sentence);
    else if (err.empty()) log::info("posted " + what + " to " + cfg_.alertmanager);
    else log::error("cannot post " + what + " to Alertmanager (" + err + "): " + p.sentence);
    std::lock_guard lock(mutex_);
    ++pages_[{name, err.empty() ? "posted" : err == "dry run" ? "dry_run" : "failed"}];
}

Answer Receiver::webhook(std::string_view body, const std::string& peer, const std::string& request_id) {
    std::string error;
    auto hook = alertmanager::parse_webhook(body, error);
    if (!hook) {
        refused(peer, 400, "not an Alertmanager webhook (version 4): " + error, request_id);
        return {400, "refused: not an Alertmanager webhook (version 4): " + error + "\n"};
    }
    if (hook->truncated_alerts > 0)
        log::warning("request " + request_id + ": Alertmanager left out " + std::to_string(hook->truncated_alerts) +
                     " alert(s) of group " + printable(hook->group_key, 200) + " (its max_alerts); they come again later");
    Answer ans;
    for (const auto& a : hook->alerts) {
        const Route* route = route_for(cfg_, a);
        Decided d;
        if (!route) {
            bool first = false;
            {
                std::lock_guard lock(mutex_);
                if (unrouted_seen_.size() >= max_unrouted_remembered) unrouted_seen_.clear();
                first = unrouted_seen_.insert(a.fingerprint).second;
            }
            if (first)
                log::info("request " + request_id + ": no route for alert " + a.fingerprint + " {" + labels_text(a.labels) +
                          "}: acknowledged, ignored (logged once per alert)");
            count("unrouted", "");
            d.line = a.fingerprint + " no route: ignored";
        } else {
            d = a.firing ? firing(a, *route, request_id, peer) : resolved(a, *route, request_id);
        }
        if (d.undecided) ans.status = 503;
        ans.body += d.line + "\n";
    }
    if (hook->alerts.empty()) ans.body = "no alerts\n";
    return ans;
}

fleet::StoreSpec store_spec(const Config& cfg) {
    return {.state_dir = cfg.state_dir, .file_name = "receiver.db", .conninfo_file = cfg.store_conninfo};
}

void adopt_old_store(const Config& cfg) {
    // Before 0.3 the receiver's store was named like the event handler's; its open problems
    // and episodes carry on under the new name.
    if (!cfg.store_conninfo.empty()) return;
    const std::string old_path = cfg.state_dir + "/event-handler.db", path = cfg.state_dir + "/receiver.db";
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 || ::stat(old_path.c_str(), &st) != 0) return;
    for (const char* suffix : {"-wal", "-shm", ""})
        if (::rename((old_path + suffix).c_str(), (path + suffix).c_str()) != 0 && errno != ENOENT)
            log::warning("cannot rename " + old_path + suffix + " to " + path + suffix + ": " + std::strerror(errno));
    log::info("the fleet store " + old_path + " is now " + path);
}

Receiver::Decided Receiver::firing(const alertmanager::Alert& a, const Route& route, const std::string& request_id,
                                   const std::string& peer) {
    std::string why;
    const auto host = host_of(route, a, why);
    Target t{a, route, host.value_or("unknown"), target_key(route),
             a.labels.count("alertname") ? a.labels.at("alertname") : "", "", request_id + "/" + a.fingerprint, peer};
    if (!host) return unroutable(t, why);
    t.what = route.verb + " " + route.service + " on " + t.host + " for alert " + t.alertname + " " + a.fingerprint;

    // The episode joins its target's problem; the store is asked before Prometheus, so a repeat
    // or a second alert of an open problem costs no query.
    std::unique_ptr<fleet::Store> store;
    std::optional<fleet::OpenProblem> open;
    try {
        store = fleet::open_store(store_spec(cfg_));
        const auto ep = store->episode_fires(a.fingerprint, a.starts_at, a.starts_ms, t.host, t.key, now_ms());
        for (const auto& ended : ep.ended) end_page(ended, route, t.rid);
        if (ep.closed_before) {
            log::info("request " + t.rid + ": alert " + t.alertname + " " + a.fingerprint + " since " + a.starts_at +
                      " fires after it was resolved (a late or repeated notification): acts on nothing");
            count("late", "");
            return {a.fingerprint + " already resolved: a late notification acts on nothing"};
        }
        open = store->open_problem(t.host, t.key);
    } catch (const std::exception& e) {
        return undecided(t, e.what());
    }
    store_answers(t);
    if (open) return repeat(*open, a);
    return decide(t, *store);
}

Receiver::Decided Receiver::unroutable(const Target& t, const std::string& why) {
    // A route matched but cannot say where to heal: a human must.
    log::error("request " + t.rid + ": route " + t.route.name + " cannot heal: " + why);
    audit({{"record", "decision"}, {"id", t.rid}, {"peer", t.peer}, {"route", t.route.name},
           {"fingerprint", t.alert.fingerprint}, {"outcome", "blocked"}, {"guard", "route"}, {"why", printable(why, 500)}});
    count("blocked", "route");
    Page p = page_for(t);
    p.guard = "route";
    p.sentence = "heal cannot act on alert " + t.alertname + " (route " + t.route.name + "): " + why;
    page(p, page_lasts_s);
    return {t.alert.fingerprint + " blocked (route): " + why};
}

Receiver::Decided Receiver::undecided(const Target& t, const std::string& why) {
    log::error("request " + t.rid + ": cannot decide " + (t.what.empty() ? t.key + " on " + t.host : t.what) +
               ": cannot reach the fleet store: " + why);
    count("undecided", "store");
    // Never a heal without a claim: a human hears of it now. Alertmanager sends the alert again
    // (503); the page lasts while it does, and ends when the store decides the target again.
    Page p = page_for(t);
    p.guard = "store";
    p.sentence = "heal did not " + t.route.verb + " " + t.route.service + " on " + t.host + " (alert " + t.alertname +
                 "): cannot reach the fleet store (" + why + "); nothing acts until it answers";
    {
        std::lock_guard lock(mutex_);
        store_pages_[t.host + "\n" + t.key] = p;
    }
    page(p, store_page_lasts_s);
    return {t.alert.fingerprint + " undecided: cannot reach the fleet store", true};
}

void Receiver::store_answers(const Target& t) {
    std::optional<Page> p;
    {
        std::lock_guard lock(mutex_);
        auto it = store_pages_.find(t.host + "\n" + t.key);
        if (it == store_pages_.end()) return;
        p = std::move(it->second);
        store_pages_.erase(it);
    }
    p->sentence = "the fleet store answers again";
    page(*p, 0);
}

Page Receiver::page_for(const Target& t) const {
    Page p;
    p.host = t.host;
    p.service = t.route.service;
    p.route = t.route.name;
    p.fingerprint = t.alert.fingerprint;
    return p;
}

Receiver::Decided Receiver::repeat(const fleet::OpenProblem& open, const alertmanager::Alert& a) {
    // Nothing acts; a page of this problem is posted again, so it lasts as long.
    if (!open.page.name.empty()) page(page_of(open), page_lasts_s);
    count("already", "");
    return {a.fingerprint + " already decided: " + open.said()};
}

Receiver::Decided Receiver::decide(const Target& t, fleet::Store& store) {
    // The fleet guard's two counts, then one atomic decision for the problem.
    bool prometheus_failed = false;
    const auto view = ask_prometheus(cfg_, t.route, prometheus_failed);
    const std::int64_t now = now_ms();
    const auto call = fleet::prepare_call(cfg_.client_config, {.host = t.host, .server_name = t.route.server_name.empty()
                                                                                                  ? t.host
                                                                                                  : t.route.server_name});
    fleet::Claim claim;
    try {
        claim = store.claim({.host = t.host,
                             .service = t.key,
                             .blocked_by = view.blocked_by,
                             .decision = t.route.verb + " for alert " + t.alertname + " (request " + t.rid + ")",
                             .dry_run = cfg_.dry_run,
                             .last_chance = true,  // no later attempt is counted on: repeats never act
                             .now_ms = now,
                             .deadline_ms = now + to_ms(call.options.timeout + 5)},
                            {cfg_.fleet_budget.limit, to_ms(cfg_.fleet_budget.window_s), cfg_.fleet_concurrency});
    } catch (const std::exception& e) {
        return undecided(t, e.what());
    }
    json::object rec{{"record", "decision"},     {"id", t.rid},         {"peer", t.peer},
                     {"route", t.route.name},    {"host", t.host},      {"service", t.route.service},
                     {"verb", t.route.verb},     {"alertname", t.alertname}, {"fingerprint", t.alert.fingerprint},
                     {"fleet", view.seen}};
    switch (claim.kind) {
        case fleet::Claim::Kind::already:
            // Another call decided it meanwhile (an HA peer's delivery, a second alert).
            count("already", "");
            return {t.alert.fingerprint + " already decided: " + claim.earlier};
        case fleet::Claim::Kind::dry_run: {
            const std::string seen = view.seen.empty() ? "" : " (" + view.seen + ")";
            rec["outcome"] = "dry_run";
            audit(rec);
            log::info("request " + t.rid + ": dry run: would " + t.what + seen);
            count("dry_run", "");
            return {t.alert.fingerprint + " dry run: would " + t.what + seen};
        }
        case fleet::Claim::Kind::heal: return heal(t, store, claim, call, std::move(rec), view);
        default: return blocked(t, store, claim, std::move(rec), view, prometheus_failed);
    }
}

Receiver::Decided Receiver::blocked(const Target& t, fleet::Store& store, const fleet::Claim& claim,
                                    json::object rec, const fleet::FleetView& view, bool prometheus_failed) {
    const std::string guard = guard_of(claim, prometheus_failed);
    const std::string words = fleet::guard_words(claim, view.blocked_by, cfg_.fleet_budget, cfg_.fleet_concurrency,
                                                 {.budget = "fleet_budget", .concurrency = "fleet_concurrency"});
    rec["outcome"] = "blocked";
    rec["guard"] = guard;
    rec["why"] = printable(words, 500);
    audit(rec);  // nothing acts either way; a lost record is logged by the audit log
    log::warning("request " + t.rid + ": blocked (" + guard + "): " + t.what + ": " + words);
    count("blocked", guard);
    Page p = page_for(t);
    p.guard = guard;
    p.sentence = "heal did not " + t.route.verb + " " + t.route.service + " on " + t.host + " (alert " + t.alertname +
                 "): fleet guard: " + words;
    keep_page(store, t.key, p, t.rid);
    return {t.alert.fingerprint + " blocked (" + guard + "): " + words};
}

Receiver::Decided Receiver::heal(const Target& t, fleet::Store& store, const fleet::Claim& claim,
                                 const fleet::HealCall& call, json::object rec, const fleet::FleetView& view) {
    // Audited first; no record, no heal (the problem is forgotten so a resend decides again).
    rec["outcome"] = "heal";
    if (!audit(rec)) {
        log::error("request " + t.rid + ": not healing, the audit log cannot take the decision: " + t.what);
        try {
            store.finish(claim.heal_id, now_ms(), "not_audited", "");
            store.close(t.host, t.key);
        } catch (const std::exception& e) {
            log::warning("request " + t.rid + ": " + e.what());
        }
        count("undecided", "audit");
        return {t.alert.fingerprint + " undecided: the audit log is unavailable", true};
    }
    log::info("request " + t.rid + ": healing: " + t.what + " (listener " + t.host + ", certificate name " +
              call.options.server_name + (view.seen.empty() ? "" : " (" + view.seen + ")") + ")");
    const CallResult result = fleet::call(call, t.route.verb, t.route.service);
    for (const auto& w : result.warnings) log::warning("request " + t.rid + ": " + w);
    const fleet::HealOutcome h = fleet::interpret(result, t.route.verb);
    try {
        store.finish(claim.heal_id, now_ms(), h.listener_outcome, h.request_id);
    } catch (const std::exception& e) {
        log::warning("request " + t.rid + ": cannot record the end of the heal: " + e.what());
    }
    return healed_or_paged(t, store, h);
}

Receiver::Decided Receiver::healed_or_paged(const Target& t, fleet::Store& store, const fleet::HealOutcome& h) {
    using Kind = fleet::HealOutcome::Kind;
    const std::string said = h.kind == Kind::healed || h.kind == Kind::dry_run ? h.done : h.said;
    const std::string listener = h.request_id.empty() ? "" : " (listener request " + h.request_id + ")";
    audit({{"record", "final"}, {"id", t.rid}, {"host", t.host}, {"service", t.route.service},
           {"outcome", h.kind == Kind::dry_run ? "dry_run" : h.kind == Kind::healed ? "healed"
                       : h.kind == Kind::held ? "held" : "failed"},
           {"listener_outcome", h.listener_outcome}, {"listener_request", h.request_id},
           {"message", printable(said, 500)}});
    if (h.kind == Kind::healed || h.kind == Kind::dry_run) {
        const std::string word = h.kind == Kind::dry_run ? "dry run at the listener" : "healed";
        log::info("request " + t.rid + ": " + word + ": " + t.what + ": " + said + listener);
        count(h.kind == Kind::dry_run ? "dry_run" : "healed", "");
        return {t.alert.fingerprint + " " + word + ": " + said + listener};
    }
    if (h.kind == Kind::held) {
        // A human holds the service on its host (heal-ctl pause): not a failure, nobody is paged;
        // the problem stays decided until its alerts resolve.
        log::info("request " + t.rid + ": held: " + t.what + ": " + h.message + listener);
        try {
            store.set_outcome(t.host, t.key, "held: paused on the host (listener request " + h.request_id + ")");
        } catch (const std::exception& e) {
            log::warning("request " + t.rid + ": cannot record the hold with the problem: " + e.what());
        }
        count("held", "paused");
        return {t.alert.fingerprint + " held (paused): " + h.message};
    }
    const bool partition = h.kind == Kind::partition;
    Page p = page_for(t);
    p.failed = !partition;
    p.guard = partition ? "healthy_here" : "";
    p.request_id = h.request_id;
    p.sentence = partition ? fleet::partition_sentence(t.route.verb, t.route.service, t.host, "Prometheus",
                                                       "alert " + t.alertname, h.message)
                           : "heal could not fix " + t.route.service + " on " + t.host + " (alert " + t.alertname +
                                 "): " + said + listener;
    log::warning("request " + t.rid + ": not healed: " + t.what + ": " + said);
    count(partition ? "blocked" : "failed", partition ? "healthy_here" : "");
    keep_page(store, t.key, p, t.rid);
    return {t.alert.fingerprint + (partition ? " blocked (healthy_here): " : " failed: ") + said};
}

void Receiver::keep_page(fleet::Store& store, const std::string& key, const Page& p, const std::string& rid) {
    try {
        store.set_page(p.host, key, stored(p));
    } catch (const std::exception& e) {
        log::warning("request " + rid + ": cannot keep the page with the problem: " + e.what());
    }
    page(p, page_lasts_s);
}

void Receiver::end_page(const fleet::OpenProblem& closed, const Route& route, const std::string& rid) {
    audit({{"record", "resolved"}, {"id", rid}, {"route", route.name}, {"host", closed.host}, {"service", route.service},
           {"verb", route.verb}, {"decided", printable(closed.decision, 500)}});
    log::info("request " + rid + ": resolved: " + closed.service + " on " + closed.host +
              " (problem closed; decided before: " + closed.decision + ")");
    if (closed.page.name.empty()) return;
    Page p = page_of(closed);
    p.sentence = "resolved: " + closed.decision;
    page(p, 0);
}

Receiver::Decided Receiver::resolved(const alertmanager::Alert& a, const Route& route, const std::string& request_id) {
    const std::string rid = request_id + "/" + a.fingerprint;
    std::string why;
    const auto host = host_of(route, a, why);
    fleet::Resolution r;
    try {
        r = fleet::open_store(store_spec(cfg_))
                ->episode_resolves(a.fingerprint, a.starts_at, host.value_or("unknown"), target_key(route), now_ms());
    } catch (const std::exception& e) {
        log::error("request " + rid + ": cannot close the problem: cannot reach the fleet store: " + e.what());
        count("undecided", "store");
        return {a.fingerprint + " undecided: cannot reach the fleet store", true};
    }
    count("resolved", "");
    if (r.closed) {
        end_page(*r.closed, route, rid);
        return {a.fingerprint + " resolved: problem closed"};
    }
    if (r.still_open_by > 0)
        return {a.fingerprint + " resolved; the problem stays open: " + std::to_string(r.still_open_by) +
                " other alert(s) for it still fire"};
    return {a.fingerprint + " resolved"};
}

void Receiver::reopen_audit() {
    std::lock_guard lock(audit_mutex_);
    if (audit_.reopen()) log::info("SIGHUP: reopened the audit log " + cfg_.audit_log);
}

void Receiver::refresh_pages() {
    std::vector<fleet::OpenProblem> paged;
    try {
        paged = fleet::open_store(store_spec(cfg_))->paged_problems();
    } catch (const std::exception& e) {
        log::warning("cannot post the pages of open problems again: cannot reach the fleet store: " +
                     std::string(e.what()));
        return;
    }
    for (const auto& o : paged) page(page_of(o), page_lasts_s);
}

std::string Receiver::metrics() {
    std::ostringstream out;
    std::lock_guard lock(mutex_);
    out << "# HELP heal_receiver_info heal-alert-receiver's version and whether it runs dry.\n"
           "# TYPE heal_receiver_info gauge\n"
        << "heal_receiver_info{version=\"" << HEAL_VERSION << "\",dry_run=\"" << (cfg_.dry_run ? "yes" : "no")
        << "\"} 1\n"
           "# HELP heal_receiver_requests_total Requests answered, by HTTP status (0: refused at the TLS handshake).\n"
           "# TYPE heal_receiver_requests_total counter\n";
    for (const auto& [status, n] : requests_) out << "heal_receiver_requests_total{code=\"" << status << "\"} " << n << "\n";
    out << "# HELP heal_receiver_decisions_total Decisions on alerts, by outcome (healed, failed, held, blocked, "
           "dry_run, already, late, resolved, unrouted, undecided) and the guard that blocked or held.\n"
           "# TYPE heal_receiver_decisions_total counter\n";
    for (const auto& [k, n] : decisions_)
        out << "heal_receiver_decisions_total{outcome=\"" << metric_label(k.first) << "\",guard=\""
            << metric_label(k.second) << "\"} " << n << "\n";
    out << "# HELP heal_receiver_pages_total HealBlocked and HealFailed alerts posted to Alertmanager, by result.\n"
           "# TYPE heal_receiver_pages_total counter\n";
    for (const auto& [k, n] : pages_)
        out << "heal_receiver_pages_total{alertname=\"" << k.first << "\",result=\"" << k.second << "\"} " << n << "\n";
    return out.str();
}

}  // namespace heal::receiver
