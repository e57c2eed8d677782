#include "heal_alerts.hpp"

#include "client.hpp"
#include "client_config.hpp"
#include "fleet_store.hpp"
#include "log.hpp"
#include "prometheus_guard.hpp"
#include "prometheus_query.hpp"
#include "text.hpp"
#include "version.hpp"

#include <sstream>

namespace heal::receiver {

namespace json = boost::json;

namespace {

constexpr std::size_t max_unrouted_remembered = 10000;
/// A page lasts this long unless posted again (refresh_pages every page_refresh_s and every
/// repeat of the alert do) or ended with its problem.
constexpr double page_lasts_s = 3600;

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

Receiver::Receiver(Config cfg) : cfg_(std::move(cfg)), audit_(cfg_.audit_log) {}

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

void Receiver::refused(const std::string& peer, unsigned status, const std::string& why, const std::string& request_id) {
    log::warning("request " + request_id + " from " + peer + " refused" +
                 (status ? " (" + std::to_string(status) + ")" : "") + ": " + why);
    audit({{"record", "refused"}, {"id", request_id}, {"peer", peer}, {"status", status}, {"why", printable(why, 500)}});
    if (status == 0) answered(0);
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

Receiver::Decided Receiver::firing(const alertmanager::Alert& a, const Route& route, const std::string& request_id,
                                   const std::string& peer) {
    const std::string rid = request_id + "/" + a.fingerprint;
    std::string why;
    const auto host = host_of(route, a, why);
    const std::string alertname = a.labels.count("alertname") ? a.labels.at("alertname") : "";
    Page p;
    p.host = host.value_or("unknown");
    p.service = route.service;
    p.route = route.name;
    p.fingerprint = a.fingerprint;
    if (!host) {
        // A route matched but cannot say where to heal: a human must.
        log::error("request " + rid + ": route " + route.name + " cannot heal: " + why);
        audit({{"record", "decision"}, {"id", rid}, {"peer", peer}, {"route", route.name}, {"fingerprint", a.fingerprint},
               {"outcome", "blocked"}, {"guard", "route"}, {"why", printable(why, 500)}});
        count("blocked", "route");
        p.guard = "route";
        p.sentence = "heal cannot act on alert " + alertname + " (route " + route.name + "): " + why;
        page(p, page_lasts_s);
        return {a.fingerprint + " blocked (route): " + why};
    }
    const std::string key = target_key(route);
    const std::string what = route.verb + " " + route.service + " on " + *host + " for alert " + alertname + " " + a.fingerprint;

    // The episode joins its target's problem; the store is asked before Prometheus, so a repeat
    // or a second alert of an open problem costs no query.
    std::optional<fleet::FleetStore> store;
    std::optional<fleet::OpenProblem> open;
    try {
        store.emplace(cfg_.state_dir);
        const auto ep = store->episode_fires(a.fingerprint, a.starts_at, *host, key, now_ms());
        for (const auto& ended : ep.ended) end_page(ended, route, rid);
        if (ep.closed_before) {
            log::info("request " + rid + ": alert " + alertname + " " + a.fingerprint + " since " + a.starts_at +
                      " fires after it was resolved (a late or repeated notification): acts on nothing");
            count("late", "");
            return {a.fingerprint + " already resolved: a late notification acts on nothing"};
        }
        open = store->open_problem(*host, key);
    } catch (const std::exception& e) {
        log::error("request " + rid + ": cannot decide " + what + ": the fleet store is unavailable: " + e.what());
        count("undecided", "store");
        return {a.fingerprint + " undecided: the fleet store is unavailable", true};
    }
    if (open) return repeat(*open, a);
    return decide(a, route, *host, key, alertname, what, *store, rid, peer);
}

Receiver::Decided Receiver::repeat(const fleet::OpenProblem& open, const alertmanager::Alert& a) {
    // Nothing acts; a page of this problem is posted again, so it lasts as long.
    if (!open.page.name.empty()) page(page_of(open), page_lasts_s);
    count("already", "");
    return {a.fingerprint + " already decided: " + open.decision};
}

Receiver::Decided Receiver::decide(const alertmanager::Alert& a, const Route& route, const std::string& host,
                                   const std::string& key, const std::string& alertname, const std::string& what,
                                   fleet::FleetStore& store, const std::string& rid, const std::string& peer) {
    // The fleet guard's two counts, then one atomic decision for the problem.
    bool prometheus_failed = false;
    const auto view = ask_prometheus(cfg_, route, prometheus_failed);
    const std::int64_t now = now_ms();
    ClientOptions copt;
    std::string client_error;
    try {
        copt = client_options(cfg_.client_config, true,
                              {.host = host, .server_name = route.server_name.empty() ? host : route.server_name});
    } catch (const std::exception& e) {
        client_error = e.what();
    }
    fleet::Claim claim;
    try {
        claim = store.claim({.host = host,
                             .service = key,
                             .blocked_by = view.blocked_by,
                             .decision = route.verb + " for alert " + alertname + " (request " + rid + ")",
                             .dry_run = cfg_.dry_run,
                             .last_chance = true,  // no later attempt is counted on: repeats never act
                             .now_ms = now,
                             .deadline_ms = now + to_ms(copt.timeout + 5)},
                            {cfg_.fleet_budget.limit, to_ms(cfg_.fleet_budget.window_s), cfg_.fleet_concurrency});
    } catch (const std::exception& e) {
        log::error("request " + rid + ": cannot decide " + what + ": the fleet store is unavailable: " + e.what());
        count("undecided", "store");
        return {a.fingerprint + " undecided: the fleet store is unavailable", true};
    }
    const std::string seen = view.seen.empty() ? "" : " (" + view.seen + ")";
    json::object rec{{"record", "decision"}, {"id", rid},        {"peer", peer},       {"route", route.name},
                     {"host", host},         {"service", route.service}, {"verb", route.verb},
                     {"alertname", alertname}, {"fingerprint", a.fingerprint}, {"fleet", view.seen}};
    Page p;
    p.host = host;
    p.service = route.service;
    p.route = route.name;
    p.fingerprint = a.fingerprint;

    if (claim.kind == fleet::Claim::Kind::already) {
        // Another call decided it meanwhile (an HA peer's delivery, a second alert).
        count("already", "");
        return {a.fingerprint + " already decided: " + claim.earlier};
    }
    if (claim.kind == fleet::Claim::Kind::dry_run) {
        rec["outcome"] = "dry_run";
        audit(rec);
        log::info("request " + rid + ": dry run: would " + what + seen);
        count("dry_run", "");
        return {a.fingerprint + " dry run: would " + what + seen};
    }
    if (claim.kind != fleet::Claim::Kind::heal) {
        const std::string guard = guard_of(claim, prometheus_failed);
        const std::string words =
            claim.kind == fleet::Claim::Kind::blocked ? view.blocked_by.value_or("")
            : claim.kind == fleet::Claim::Kind::budget
                ? "fleet budget spent: " + std::to_string(claim.used) + " heals in the last " +
                      format_duration(cfg_.fleet_budget.window_s) + " (fleet_budget " +
                      std::to_string(cfg_.fleet_budget.limit) + "/" + format_duration(cfg_.fleet_budget.window_s) + ")"
                : std::to_string(claim.used) + " heal(s) already in flight (fleet_concurrency " +
                      std::to_string(cfg_.fleet_concurrency) + ")";
        rec["outcome"] = "blocked";
        rec["guard"] = guard;
        rec["why"] = printable(words, 500);
        audit(rec);  // nothing acts either way; a lost record is logged by the audit log
        log::warning("request " + rid + ": blocked (" + guard + "): " + what + ": " + words);
        count("blocked", guard);
        p.guard = guard;
        p.sentence = "heal did not " + route.verb + " " + route.service + " on " + host + " (alert " + alertname +
                     "): fleet guard: " + words;
        keep_page(store, key, p, rid);
        return {a.fingerprint + " blocked (" + guard + "): " + words};
    }

    // Heal: audited first; no record, no heal (the problem is forgotten so a resend decides again).
    rec["outcome"] = "heal";
    if (!audit(rec)) {
        log::error("request " + rid + ": not healing, the audit log cannot take the decision: " + what);
        try {
            store.finish(claim.heal_id, now_ms(), "not_audited", "");
            store.close(host, key);
        } catch (const std::exception& e) {
            log::warning("request " + rid + ": " + e.what());
        }
        count("undecided", "audit");
        return {a.fingerprint + " undecided: the audit log is unavailable", true};
    }
    log::info("request " + rid + ": healing: " + what + " (listener " + host + ", certificate name " +
              (route.server_name.empty() ? host : route.server_name) + seen + ")");
    CallResult result;
    if (client_error.empty()) result = call_listener(copt, format_request(route.verb, route.service, false));
    else result.error = client_error;
    for (const auto& w : result.warnings) log::warning("request " + rid + ": " + w);
    const std::string outcome = !result.answered ? "no_answer" : std::string(to_string(result.reply.outcome));
    try {
        store.finish(claim.heal_id, now_ms(), outcome, result.reply.id);
    } catch (const std::exception& e) {
        log::warning("request " + rid + ": cannot record the end of the heal: " + e.what());
    }
    return healed_or_paged(result, outcome, route, alertname, what, store, key, p, rid);
}

Receiver::Decided Receiver::healed_or_paged(const CallResult& result, const std::string& outcome, const Route& route,
                                            const std::string& alertname, const std::string& what,
                                            fleet::FleetStore& store, const std::string& key, Page p,
                                            const std::string& rid) {
    const Reply& r = result.reply;
    const bool listener_dry = result.answered && r.outcome == Outcome::dry_run;  // dry_run = yes on the listener
    const bool healed = result.answered && (r.outcome == Outcome::ok || listener_dry) && r.verified != false;
    const bool held = result.answered && r.outcome == Outcome::refused && r.reason == Reason::paused;
    const std::string said = !result.answered ? "heal-listener could not be reached: " + result.error
                             : r.outcome == Outcome::ok && !r.verify_status.empty() && r.verified == false
                                 ? "the " + route.verb + " ran, but the service is still failing: " + r.verify_status
                                 : std::string(to_string(r.outcome)) +
                                       (r.reason == Reason::none ? "" : " (" + std::string(reason_string(r)) + ")") + ": " +
                                       r.message;
    json::object fin{{"record", "final"}, {"id", rid}, {"host", p.host}, {"service", route.service},
                     {"outcome", listener_dry ? "dry_run" : healed ? "healed" : held ? "held" : "failed"},
                     {"listener_outcome", outcome},
                     {"listener_request", r.id}, {"message", printable(said, 500)}};
    audit(fin);
    if (healed) {
        const std::string word = listener_dry ? "dry run at the listener" : "healed";
        log::info("request " + rid + ": " + word + ": " + what + ": " + said + " (listener request " + r.id + ")");
        count(listener_dry ? "dry_run" : "healed", "");
        return {p.fingerprint + " " + word + ": " + said + " (listener request " + r.id + ")"};
    }
    if (held) {
        // A human holds the service on its host (heal-ctl pause): not a failure, nobody is paged;
        // the problem stays decided until its alerts resolve.
        log::info("request " + rid + ": held: " + what + ": " + r.message + " (listener request " + r.id + ")");
        count("held", "paused");
        return {p.fingerprint + " held (paused): " + r.message};
    }
    const bool partition = result.answered && r.outcome == Outcome::refused && r.reason == Reason::healthy_here;
    p.failed = !partition;
    p.guard = partition ? "healthy_here" : "";
    p.request_id = r.id;
    p.sentence = partition ? "heal did not " + route.verb + " " + route.service + " on " + p.host +
                                 ": Prometheus and the host disagree. The service's own status on the host says it is "
                                 "healthy, while alert " + alertname + " says it is failing: a network partition, or a "
                                 "rule that is wrong? Nothing was run. heal-listener: " + r.message
                           : "heal could not fix " + route.service + " on " + p.host + " (alert " + alertname + "): " + said +
                                 (r.id.empty() ? "" : " (listener request " + r.id + ")");
    log::warning("request " + rid + ": not healed: " + what + ": " + said);
    count(partition ? "blocked" : "failed", partition ? "healthy_here" : "");
    keep_page(store, key, p, rid);
    return {p.fingerprint + (partition ? " blocked (healthy_here): " : " failed: ") + said};
}

void Receiver::keep_page(fleet::FleetStore& store, const std::string& key, const Page& p, const std::string& rid) {
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
        r = fleet::FleetStore(cfg_.state_dir)
                .episode_resolves(a.fingerprint, a.starts_at, host.value_or("unknown"), target_key(route), now_ms());
    } catch (const std::exception& e) {
        log::error("request " + rid + ": cannot close the problem: the fleet store is unavailable: " + e.what());
        count("undecided", "store");
        return {a.fingerprint + " undecided: the fleet store is unavailable", true};
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
        paged = fleet::FleetStore(cfg_.state_dir).paged_problems();
    } catch (const std::exception& e) {
        log::warning("cannot post the pages of open problems again: the fleet store is unavailable: " +
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
