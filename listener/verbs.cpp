#include "listener/verbs.hpp"

#include "listener/classify.hpp"
#include "common/clock.hpp"
#include "listener/diagnostics.hpp"
#include "listener/guard.hpp"
#include "listener/store_thread.hpp"
#include "listener/watch_check.hpp"
#include "common/log.hpp"
#include "common/text.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

namespace heal {

namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

struct InFlight {
    ListenerState& st;
    explicit InFlight(ListenerState& s) : st(s) { ++st.actions_in_flight; }
    ~InFlight() { --st.actions_in_flight; }
};


/// The reply's fields from how the script ended (classify() says what it means).
void apply_result(Reply& r, const ActionResult& a, Record& rec) {
    r.exit_code = a.exit_code;
    r.signal = a.signal;
    // JSON carries text: bytes that are not UTF-8 (Latin-1, binary) become U+FFFD, within the cap.
    bool cut = false;
    r.output = valid_utf8(a.output, max_output_bytes, &cut);
    r.truncated = a.truncated || cut;
    r.duration_ms = a.duration_ms;
    rec.timed_out = a.timed_out;
    auto c = classify(a);
    r.outcome = c.outcome;
    r.reason = c.reason;
    r.message = std::move(c.message);
}

ActionSpec spec_for(const Runtime& rt, const Request& req, const std::string& id,
                    const std::string& peer) {
    const auto& svc = rt.cfg.services.at(req.service);
    const Command& cmd = svc.scripts.at(req.verb);
    std::string verb(to_string(req.verb));
    auto argv = cmd.argv;
    if (!cmd.command_line) argv.push_back(verb);  // a script: SCRIPT VERB
    return ActionSpec{std::move(argv), verb, req.service, id, peer, rt.cfg.timeout_for(svc), max_output_bytes, {}};
}

/// What `svc`'s http(s) watch_check keeps between probes: the TLS context always; a
/// connection only while the loop watches it (an asked-for status leaves none open).
std::shared_ptr<plugin::Kept> kept_for(const Runtime& rt, const ServiceConfig& svc) {
    if (svc.check->tcp) return {};
    auto& k = rt.kept[svc.name];
    if (!k) k = plugin::make_kept(svc.watch_s > 0 ? svc.check->rounds_per_connection() : 1);
    return k;
}

/// One status run of `req.service`: its watch_check in-process, or its status command, within
/// `timeout_s` (0: the service's timeout).
asio::awaitable<ActionResult> status_once(const Runtime& rt, const Request& req, const std::string& id,
                                          const std::string& peer, double timeout_s = 0) {
    const auto& svc = rt.cfg.services.at(req.service);
    const double timeout = timeout_s > 0 ? timeout_s : rt.cfg.timeout_for(svc);
    if (svc.check) co_return co_await run_check(*svc.check, timeout, kept_for(rt, svc));
    Request status = req;
    status.verb = Verb::status;
    auto spec = spec_for(rt, status, id, peer);
    spec.timeout = timeout;
    co_return co_await run_action(spec);
}

/// `verify = yes`: after a start or restart that succeeded, run status every verify_interval
/// until it exits 0 or verify_timeout passes; the reply says which, how soon and the last line.
/// Runs while the action still holds the service, so nothing else acts on it meanwhile.
asio::awaitable<void> verify_after(const Runtime& rt, const Request& req, Record& rec) {
    const auto& svc = rt.cfg.services.at(req.service);
    Reply& reply = rec.reply;
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now(), deadline = started + steady_duration(svc.verify_timeout_s);
    Request status = req;
    status.verb = Verb::status;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    std::string last;
    for (;;) {
        double left = std::chrono::duration<double>(deadline - Clock::now()).count();
        ActionResult r = co_await status_once(rt, status, reply.id, rec.peer,
                                              std::max(0.05, std::min(rt.cfg.timeout_for(svc), left)));
        last = r.timed_out ? "status timed out" : first_line(r.output);
        if (last.empty()) last = "status exited " + std::to_string(r.exit_code.value_or(-1));
        if (!r.timed_out && r.exit_code && *r.exit_code == 0) {
            reply.verified = true;
            // From the start of the action: the time the heal took to make the service healthy.
            reply.healthy_after_ms =
                reply.duration_ms +
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
            break;
        }
        if (Clock::now() + steady_duration(svc.verify_interval_s) >= deadline) {
            reply.verified = false;
            break;
        }
        pause.expires_after(steady_duration(svc.verify_interval_s));
        co_await pause.async_wait(as_tuple(use_awaitable));
    }
    reply.verify_status = last;
    const std::string done = req.verb == Verb::start ? "started" : "restarted";
    const std::string after = seconds_text(static_cast<double>(reply.healthy_after_ms.value_or(0)) / 1000.0);
    reply.message = *reply.verified
                        ? done + ", healthy after " + after
                        : done + ", still failing after " + format_duration(svc.verify_timeout_s) +
                              ": " + last;
}

/// `diagnose = ...`: before a restart or stop, with the action's environment, its own process
/// group and diagnose_timeout; the output goes to diagnostics/<request id>.log. Whatever becomes
/// of it (fails, hangs, cannot be kept), the heal goes on; the reply and the final record say.
asio::awaitable<void> diagnose_before(const Runtime& rt, const Request& req, Record& rec) {
    const auto& svc = rt.cfg.services.at(req.service);
    Reply& reply = rec.reply;
    auto spec = spec_for(rt, req, reply.id, rec.peer);
    spec.argv = svc.diagnose->argv;
    if (!svc.diagnose->command_line) spec.argv.push_back(spec.verb);
    spec.timeout = svc.diagnose_timeout_s;
    spec.max_output = max_diagnostics_bytes;
    ActionResult r = co_await run_action(spec);
    std::string how;
    if (!r.exec_error.empty())
        how = r.exec_error;
    else if (r.timed_out)
        how = "timed out after " + format_duration(svc.diagnose_timeout_s) + "; killed";
    else if (r.signal)
        how = "killed by signal " + std::to_string(*r.signal);
    else
        how = "exit " + std::to_string(r.exit_code.value_or(-1)) + " in " +
              std::to_string(r.duration_ms) + " ms";
    std::string text = "# heal diagnose before " + spec.verb + " " + req.service + ", request " +
                       reply.id + ", " + utc_iso(now_ms()) + "\n# command: " +
                       svc.diagnose->text() + "\n" + r.output;
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "# diagnose: " + how + (r.truncated ? "; output cut at 1 MiB" : "") + "\n";
    const std::string dir = diagnostics_dir(rt.cfg.state_dir);
    if (auto err = write_diagnostics(dir, reply.id, text); !err.empty()) {
        log::error("diagnostics of " + reply.id + " not kept: " + err);
        how += "; not kept: " + err;
        reply.diagnostics.clear();
    }
    reply.diagnose_status = how;
    prune_diagnostics(dir, rt.cfg.diagnostics_keep_s, rt.cfg.diagnostics_max_size);
}

}  // namespace

/// status: read-only, never refused as busy; concurrent requests for one service share the run
/// already in flight in this process and all get its result.
asio::awaitable<void> run_status(ListenerState& st, const Runtime& rt, const Request& req,
                                 Record& rec) {
    auto ex = co_await asio::this_coro::executor;
    auto& slot = st.status_flights[req.service];
    if (slot) {
        auto flight = slot;  // keep it alive while we wait
        rec.reply.shared_with = flight->id;
        if (!flight->result) co_await flight->done.async_wait(as_tuple(use_awaitable));
        if (flight->result)
            apply_result(rec.reply, *flight->result, rec);
        else  // only when the listener is torn down mid-run
            refuse(rec.reply, Reason::shutting_down, "the shared status run ended without a result");
        co_return;
    }
    auto flight = std::make_shared<StatusFlight>(ex);
    flight->id = rec.reply.id;
    flight->done.expires_at(asio::steady_timer::time_point::max());
    slot = flight;
    ActionResult result = co_await status_once(rt, req, rec.reply.id, rec.peer);
    flight->result = std::move(result);
    st.status_flights.erase(req.service);
    flight->done.cancel();
    apply_result(rec.reply, *flight->result, rec);
}

/// `heal-ctl diagnostics ID`, once decide() allowed it: what diagnose kept for that request.
void serve_diagnostics(const Runtime& rt, const Request& req, const GuardState& gs, Reply& reply) {
    const std::string& id = req.service;
    reply.diagnostics = id;
    reply.service = gs.action_service.value_or("");
    const std::string what = gs.action_verb + " " + reply.service;
    auto text = read_diagnostics(diagnostics_dir(rt.cfg.state_dir), id, max_diagnostics_bytes + 4096);
    if (!text)
        return refuse(reply, Reason::not_found,
                      "no diagnostics kept for " + id + " (" + what + "): no diagnose command, or pruned");
    bool cut = false;
    reply.output = valid_utf8(*text, max_diagnostics_bytes + 4096, &cut);
    reply.truncated = cut;
    reply.outcome = Outcome::ok;
    reply.message = "diagnostics of " + id + " (" + what + ", " + std::to_string(text->size()) + " bytes)";
}

/// `heal-ctl history`, once decide() allowed it: the newest actions and refusals from the store,
/// of the services this client may see (may_see_history).
void serve_history(ListenerState& st, const Identity& who, const Request& req, Reply& reply,
                   const std::string& tag) {
    const auto now = now_ms();
    const std::int64_t since = req.since_s ? now - static_cast<std::int64_t>(req.since_s) * 1000 : 0;
    const bool filtered = req.service.empty() && who.rule && !who.admin();
    std::vector<HistoryEntry> rows;
    const auto error = with_store(tag, "read the history", [&] {
        rows = st.store->history(req.service, since, filtered ? max_history : req.limit);
    });
    if (!error.empty()) return refuse(reply, Reason::state_unavailable, "state store unavailable: " + error);
    json::array out;
    for (const auto& e : rows) {
        if (!may_see_history(who, e.service)) continue;
        if (out.size() >= req.limit) break;
        json::object o;
        o["ts"] = utc_iso(e.at_ms);
        o["id"] = e.id;
        o["client"] = e.client;
        o["verb"] = e.verb;
        o["service"] = e.service;
        o["outcome"] = e.outcome;
        o["reason"] = e.reason;
        o["duration_ms"] = e.duration_ms ? json::value(*e.duration_ms) : json::value(nullptr);
        o["verified"] = e.verified ? json::value(*e.verified) : json::value(nullptr);
        o["forced"] = e.forced;
        o["diagnostics"] = e.diagnostics;
        out.push_back(std::move(o));
    }
    reply.outcome = Outcome::ok;
    reply.message = std::to_string(out.size()) + " entr" + (out.size() == 1 ? "y" : "ies") +
                    (req.service.empty() ? "" : " for " + req.service);
    reply.history = std::move(out);
}

/// start, stop, restart once decide() said run: the audit gate, the script, the final record.
asio::awaitable<void> run_guarded(ListenerState& st, const Runtime& rt, const Request& req,
                                  Record& rec, const std::string& tag) {
    Reply& reply = rec.reply;
    InFlight in_flight(st);
    Script script(spec_for(rt, req, reply.id, rec.peer));
    const bool diagnose = rt.cfg.services.at(req.service).diagnose &&
                          (req.verb == Verb::restart || req.verb == Verb::stop);
    if (diagnose && script.error().empty()) reply.diagnostics = reply.id;  // in the start record
    if (script.error().empty()) {
        // The gate: the start is committed to the store and the audit log before the script
        // may execve; if either fails, the held child is killed unseen and nothing ran.
        // Each on its own thread: waiting there for another process's lock holds nothing else up.
        const std::string error = co_await on_store(st, [&] {
            return with_store(tag, "record the start of " + reply.id, [&] {
                st.store->begin(ActionStart{reply.id, req.service, rec.client, rec.cert.subject, req.verb, req.force,
                                            now_ms(), script.pid(), script.start_time()});
            });
        });
        if (!error.empty()) {
            refuse(reply, Reason::state_unavailable,
                   "cannot record the start in the state store (" + error + "); nothing was run");
            co_return;  // ~Script kills the held child: nothing ran
        }
        rec.pid = script.pid();
        const std::string unwritten = co_await on_audit(st, [&] {
            return audit_now(st, rec.to_json(true)) ? std::string() : st.audit ? st.audit->path() : "(none)";
        });
        if (!unwritten.empty()) {
            refuse(reply, Reason::audit_unavailable, "cannot write the audit log '" + unwritten + "'; nothing was run");
            rec.pid.reset();
            co_await on_store(st, [&] { with_store(tag, "drop the start of " + reply.id, [&] { st.store->forget(reply.id); }); });
            co_return;
        }
    }
    log::info(tag + " " + reply.id + " " + std::string(to_string(req.verb)) + " " + req.service +
              " by " + (rec.client.empty() ? rec.cert.subject : "client " + rec.client) +
              (req.force ? " (forced)" : ""));
    if (diagnose && script.error().empty()) co_await diagnose_before(rt, req, rec);
    ActionResult result = co_await script.run();
    apply_result(reply, result, rec);
    if (!script.error().empty()) co_return;  // never started: no start record, nothing to end
    if (reply.outcome == Outcome::ok && rt.cfg.services.at(req.service).verify &&
        (req.verb == Verb::start || req.verb == Verb::restart))
        co_await verify_after(rt, req, rec);
    co_await on_store(st, [&] {
        with_store(tag, "record the end of " + reply.id, [&] {
            st.store->end(reply.id, now_ms(), reply.outcome, reply.reason, reply.verified, !reply.diagnostics.empty());
        });
    });
}

/// reset, once decide() allowed it (admins): lifts the quarantine, starts a fresh budget window.
void serve_reset(ListenerState& st, const Request& req, const GuardState& gs, Record& rec, const std::string& tag) {
    const auto error = with_store(tag, "reset " + req.service, [&] { st.store->reset(req.service, now_ms()); });
    if (!error.empty()) return refuse(rec.reply, Reason::state_unavailable, "state store unavailable: " + error);
    rec.reply.outcome = Outcome::ok;
    rec.reply.message = req.service + (gs.quarantine ? ": quarantine lifted" : ": was not quarantined") +
                        "; a fresh budget window starts now";
    log::warning(tag + " " + rec.reply.id + " reset " + req.service + " by client " + rec.client);
}

/// pause or resume, once decide() allowed it (admins): a hold in the store, for every process
/// and across restarts, until its end or a resume.
void serve_pause(ListenerState& st, const ListenerConfig& cfg, const Request& req, Record& rec, const std::string& tag) {
    const bool pause = req.verb == Verb::pause;
    const std::string target = req.service.empty() ? "every service on this host" : req.service;
    const std::string resume_arg = req.service.empty() ? "--all" : req.service;
    const auto now = now_ms();
    Hold h{req.service, now, now + to_ms(static_cast<double>(req.for_s)), "client " + rec.client, req.reason};
    std::optional<Hold> was;
    const auto error = with_store(tag, std::string(to_string(req.verb)) + " " + target, [&] {
        was = pause ? st.store->hold(h) : st.store->release(req.service);
    });
    if (!error.empty()) return refuse(rec.reply, Reason::state_unavailable, "state store unavailable: " + error);
    if (was && was->until_ms <= now) was.reset();  // it had ended by itself
    rec.reply.outcome = Outcome::ok;
    rec.hold = pause ? std::optional<Hold>(h) : was;
    const bool watch_only = !req.service.empty() && cfg.services.at(req.service).watch_paused;
    if (pause)
        rec.reply.message = target + " is " + hold_text(h) + ": only admins' heals run (the watch loop, the event handler's "
                            "and the receiver's are refused 'paused'); it ends by itself, or with 'heal-ctl resume " +
                            resume_arg + "'" + (was ? "; it replaces the hold by " + was->by + " until " +
                                                          utc_iso(was->until_ms) : "");
    else
        rec.reply.message = target + (was ? ": resumed, heals run again (it was " + hold_text(*was) + ")"
                                          : ": was not paused") +
                            (watch_only ? "; watch_paused = yes in heal.ini still holds its watch loop" : "");
    log::warning(tag + " " + rec.reply.id + " " + std::string(to_string(req.verb)) + " " + target + " by client " +
                 rec.client + (pause ? " until " + utc_iso(h.until_ms) + (h.reason.empty() ? "" : ": " + printable(h.reason)) : ""));
}

}  // namespace heal
