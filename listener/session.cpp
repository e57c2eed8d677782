#include "session.hpp"

#include "admission.hpp"
#include "decide.hpp"
#include "diagnostics.hpp"
#include "guard.hpp"
#include "log.hpp"
#include "protocol.hpp"
#include "text.hpp"
#include "handshake_slot.hpp"
#include "process_tree.hpp"
#include "record.hpp"
#include "tls_connection.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace heal {

namespace beast = boost::beast;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}


struct ConnectionCount {
    ListenerState& st;
    std::string source;
    bool counted;
    ~ConnectionCount() {
        if (!counted) return;
        --st.connections;
        if (--st.per_source[source] == 0) st.per_source.erase(source);
        // The last connection of a burst gone: give its memory back. glibc keeps freed heap
        // for reuse; after 500 connections that is 30 MiB held for ever (and every fork copies
        // its page tables). Once per burst (16 or more connections at once): a trim walks the
        // heap, and trimming after every request cost 1.3 ms of CPU each once a burst had left
        // the heap large.
        if (st.connections == 0 && st.peak_connections >= 16) {
            st.peak_connections = 0;
            ::malloc_trim(0);
        }
    }
};

struct InFlight {
    ListenerState& st;
    explicit InFlight(ListenerState& s) : st(s) { ++st.actions_in_flight; }
    ~InFlight() { --st.actions_in_flight; }
};

void apply_result(Reply& r, const ActionResult& a, Record& rec) {
    r.exit_code = a.exit_code;
    r.signal = a.signal;
    // JSON carries text: bytes that are not UTF-8 (Latin-1, binary) become U+FFFD, within the cap.
    bool cut = false;
    r.output = valid_utf8(a.output, max_output_bytes, &cut);
    r.truncated = a.truncated || cut;
    r.duration_ms = a.duration_ms;
    rec.timed_out = a.timed_out;
    if (!a.exec_error.empty()) {
        r.outcome = Outcome::failed;
        r.reason = Reason::cannot_execute;
        r.message = a.exec_error;
    } else if (a.timed_out) {
        r.outcome = Outcome::timed_out;
        r.reason = Reason::timeout;
        r.message = "timed out after " + std::to_string(a.duration_ms) +
                    " ms; the script's process group was killed";
        if (!a.killed_outside_group.empty())
            r.message += ", and " + std::to_string(a.killed_outside_group.size()) +
                         " process(es) it had moved out of that group (pid " + pid_list(a.killed_outside_group) + ")";
        if (!a.survivors.empty())
            r.message += "; STILL RUNNING after SIGKILL: pid " + pid_list(a.survivors);
    } else if (a.exit_code && *a.exit_code == 0) {
        r.outcome = Outcome::ok;
        r.reason = Reason::none;
        r.message = "done";
    } else {
        r.outcome = Outcome::failed;
        if (a.signal) {
            r.reason = Reason::killed;
            r.message = "script killed by signal " + std::to_string(*a.signal);
        } else {
            r.reason = Reason::exit_status;
            r.message = "script exited with status " + std::to_string(a.exit_code.value_or(-1));
        }
    }
}

ActionSpec spec_for(const Runtime& rt, const Request& req, const std::string& id,
                    const std::string& peer) {
    const auto& svc = rt.cfg.services.at(req.service);
    const Command& cmd = svc.scripts.at(req.verb);
    std::string verb(to_string(req.verb));
    auto argv = cmd.argv;
    if (!cmd.command_line) argv.push_back(verb);  // a script: SCRIPT VERB
    return ActionSpec{std::move(argv), verb, req.service, id, peer, rt.cfg.timeout_for(svc)};
}

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
    ActionResult result = co_await run_action(spec_for(rt, req, rec.reply.id, rec.peer));
    flight->result = std::move(result);
    st.status_flights.erase(req.service);
    flight->done.cancel();
    apply_result(rec.reply, *flight->result, rec);
}

/// The first line of a status script's output, cleaned for a message ("" when silent).
std::string first_line(const std::string& output) {
    return printable(output.substr(0, output.find('\n')), 200);
}

/// `verify = yes`: after a start or restart that succeeded, run status every verify_interval
/// until it exits 0 or verify_timeout passes; the reply says which, how soon and the last line.
/// Runs while the action still holds the service, so nothing else acts on it meanwhile.
asio::awaitable<void> verify_after(const Runtime& rt, const Request& req, Record& rec) {
    const auto& svc = rt.cfg.services.at(req.service);
    Reply& reply = rec.reply;
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now(), deadline = started + seconds(svc.verify_timeout_s);
    Request status = req;
    status.verb = Verb::status;
    asio::steady_timer pause(co_await asio::this_coro::executor);
    std::string last;
    for (;;) {
        auto spec = spec_for(rt, status, reply.id, rec.peer);
        double left = std::chrono::duration<double>(deadline - Clock::now()).count();
        spec.timeout = std::max(0.05, std::min(spec.timeout, left));
        ActionResult r = co_await run_action(spec);
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
        if (Clock::now() + seconds(svc.verify_interval_s) >= deadline) {
            reply.verified = false;
            break;
        }
        pause.expires_after(seconds(svc.verify_interval_s));
        co_await pause.async_wait(as_tuple(use_awaitable));
    }
    reply.verify_status = last;
    const std::string done = req.verb == Verb::start ? "started" : "restarted";
    char after[32];
    const double healthy_s = static_cast<double>(reply.healthy_after_ms.value_or(0)) / 1000.0;
    std::snprintf(after, sizeof after, healthy_s < 10 ? "%.2f s" : "%.1f s", healthy_s);
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

/// `heal-ctl diagnostics ID`: what diagnose kept for that request. Allowed to whoever may start,
/// stop or restart that service, and to admins (anyone, without [client] sections).
void serve_diagnostics(ListenerState& st, const Runtime& rt, const Identity& who,
                       const std::string& id, Reply& reply) {
    reply.diagnostics = id;
    if (auto why = unmatched_certificate(who); !why.empty())
        return refuse(reply, Reason::not_authorized, why);
    if (!is_request_id(id))
        return refuse(reply, Reason::not_found, "'" + id + "' is not a request id");
    if (!st.store)
        return refuse(reply, Reason::state_unavailable,
                      "state store unavailable (" + st.store_error + ")");
    std::optional<ActionStart> action;
    try {
        action = st.store->action(id);
    } catch (const StoreError& e) {
        return refuse(reply, Reason::state_unavailable, std::string("state store: ") + e.what());
    }
    if (!action) return refuse(reply, Reason::not_found, "no action with id " + id + " on this host");
    reply.service = action->service;
    if (who.rule && !who.admin() && !who.rule->grants(Verb::start, action->service) &&
        !who.rule->grants(Verb::stop, action->service) &&
        !who.rule->grants(Verb::restart, action->service))
        return refuse(reply, Reason::not_authorized,
                      "client '" + who.rule->name + "' may not read the diagnostics of " +
                          action->service + " (it needs start, stop or restart on it, or admin)");
    auto text = read_diagnostics(diagnostics_dir(rt.cfg.state_dir), id, max_diagnostics_bytes + 4096);
    if (!text)
        return refuse(reply, Reason::not_found,
                      "no diagnostics kept for " + id + " (" + std::string(to_string(action->verb)) +
                          " " + action->service + "): no diagnose command, or pruned");
    bool cut = false;
    reply.output = valid_utf8(*text, max_diagnostics_bytes + 4096, &cut);
    reply.truncated = cut;
    reply.diagnostics = id;
    reply.outcome = Outcome::ok;
    reply.message = "diagnostics of " + id + " (" + std::string(to_string(action->verb)) + " " +
                    action->service + ", " + std::to_string(text->size()) + " bytes)";
}

/// `heal-ctl history`: the newest actions and refusals from the store, for whoever may run status
/// on those services (all of them for admins and without [client] sections).
void serve_history(ListenerState& st, const Identity& who, const Request& req, Reply& reply) {
    if (auto why = unmatched_certificate(who); !why.empty())
        return refuse(reply, Reason::not_authorized, why);
    auto may_see = [&](const std::string& service) {
        return !who.rule || who.admin() || who.rule->grants(Verb::status, service);
    };
    if (!req.service.empty() && !may_see(req.service))
        return refuse(reply, Reason::not_authorized,
                      "client '" + who.rule->name + "' may not see the history of " + req.service +
                          " (it needs status on it, or admin)");
    if (!st.store)
        return refuse(reply, Reason::state_unavailable,
                      "state store unavailable (" + st.store_error + ")");
    const auto now = now_ms();
    const std::int64_t since = req.since_s ? now - static_cast<std::int64_t>(req.since_s) * 1000 : 0;
    const bool filtered = req.service.empty() && who.rule && !who.admin();
    std::vector<HistoryEntry> rows;
    try {
        rows = st.store->history(req.service, since, filtered ? max_history : req.limit);
    } catch (const StoreError& e) {
        return refuse(reply, Reason::state_unavailable, std::string("state store: ") + e.what());
    }
    json::array out;
    for (const auto& e : rows) {
        if (!may_see(e.service)) continue;
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
        bool stored = false, audited = false;
        try {
            st.store->begin(ActionStart{reply.id, req.service, rec.client, rec.cert.subject,
                                        req.verb, req.force, now_ms(), script.pid(),
                                        script.start_time()});
            stored = true;
        } catch (const StoreError& e) {
            refuse(reply, Reason::state_unavailable,
                   std::string("cannot record the start in the state store (") + e.what() +
                       "); nothing was run");
        }
        if (stored) {
            rec.pid = script.pid();
            audited = audit(st, rec, true);
            if (!audited) {
                refuse(reply, Reason::audit_unavailable,
                       "cannot write the audit log '" + st.audit->path() + "'; nothing was run");
                rec.pid.reset();
                try {
                    st.store->forget(reply.id);
                } catch (const StoreError& e) {
                    log::error("state store: cannot drop the start of " + reply.id + ": " + e.what());
                }
            }
        }
        if (!audited) co_return;  // ~Script kills the held child: nothing ran
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
    try {
        st.store->end(reply.id, now_ms(), reply.outcome, reply.reason, reply.verified,
                      !reply.diagnostics.empty());
    } catch (const StoreError& e) {
        log::error("state store: cannot record the end of " + reply.id + ": " + e.what());
    }
}

}  // namespace

RuntimePtr make_runtime(const std::string& config_path) {
    auto rt = std::make_shared<Runtime>();
    rt->cfg = load_listener_config(config_path);
    rt->tls = make_server_context(rt->cfg.cert, rt->cfg.key, rt->cfg.client_ca);
    if (!rt->cfg.crl.empty())  // read again on every SIGHUP, with the rest of the configuration
        for (const auto& w : add_crls(*rt->tls, rt->cfg.crl, rt->cfg.crl_refuse_stale)) log::warning(w);
    return rt;
}

asio::awaitable<void> serve_connection(ListenerState& st, RuntimePtr rt, tcp::socket socket,
                                       tcp::endpoint peer, std::uint64_t conn, bool counted) {
    ConnectionCount count{st, source_key(peer), counted};
    const auto io_timeout = seconds(rt->cfg.io_timeout);
    const std::string tag = conn_tag(conn, peer);

    TlsConnection tls(std::move(socket), *rt->tls);
    auto deadline = [&io_timeout] { return std::chrono::steady_clock::now() + io_timeout; };

    Record rec;
    rec.conn = conn;
    rec.peer = endpoint_text(peer);
    Reply& reply = rec.reply;
    reply.id = new_uuid();

    const auto handshake_deadline = deadline();
    boost::system::error_code ec;
    {
        HandshakeSlot slot(st, source_key(peer), counted);
        if (!co_await slot.acquire(handshake_deadline))
            ec = asio::error::timed_out;
        else
            ec = co_await tls.handshake(handshake_deadline);
    }
    if (ec) {
        std::string why = ec == asio::error::timed_out ? "timed out" : ec.message();
        // OpenSSL's reason for refusing the client's certificate (expired, not yet valid,
        // revoked, unknown CA, wrong purpose), for the log, the audit and whoever reads them.
        if (long v = SSL_get_verify_result(tls.native_handle()); v != X509_V_OK && ec != asio::error::timed_out) {
            rec.verify_error = X509_verify_cert_error_string(v);
            why += ": the client's certificate: " + rec.verify_error;
        }
        refuse(reply, Reason::tls_handshake_failed, "TLS handshake failed: " + why);
        // Only what the peer sent counts toward the cap; closing or stalling does not.
        const bool strike = ec.category() == asio::error::get_ssl_category();
        if (first_in_window(st, source_key(peer), Reason::tls_handshake_failed, strike)) {
            log::warning(tag + " handshake: " + why);
            audit(st, rec);
        }
        if (ec != asio::error::timed_out)  // the alert must reach the client, not a reset
            co_await tls.linger(std::min(deadline(), std::chrono::steady_clock::now() + std::chrono::seconds(1)));
        co_return;  // no TLS, no way to say more
    }
    rec.cert = peer_certificate(tls.native_handle());

    // A read that runs out of time still gets its request_timeout reply.
    std::string buf;
    std::size_t n = 0;
    // One byte of room for a CR before the newline: 255 bytes + CRLF is a valid request.
    std::tie(ec, n) = co_await tls.read_line(buf, max_request_bytes + 1, deadline());
    const bool read_timed_out = ec == asio::error::timed_out;
    bool can_reply = true;
    std::optional<Request> req;
    if (read_timed_out) {
        refuse(reply, Reason::request_timeout, "no complete request line within the io_timeout");
    } else if (ec == asio::error::not_found) {
        refuse(reply, Reason::request_too_long,
               "request longer than " + std::to_string(max_request_bytes - 1) + " bytes");
    } else if (ec) {
        can_reply = false;
        refuse(reply, Reason::malformed_request,
               "connection closed before a complete request line (" + ec.message() + ")");
    } else if (n < buf.size()) {
        // One request per connection: a second one sent along is refused with the first, so
        // nothing is silently dropped and nothing runs on a confused client's behalf.
        refuse(reply, Reason::malformed_request,
               "more than one request on the connection (one request per connection); nothing "
               "was run");
        rec.request = printable(buf, max_request_bytes);
    } else {
        Refusal why;
        req = parse_request(std::string_view(buf).substr(0, n - 1), why);
        if (!req) {
            refuse(reply, why.reason, why.message);
            rec.request = printable(std::string_view(buf).substr(0, n - 1), max_request_bytes);
        }
    }

    Identity who;
    if (req) {
        reply.verb = to_string(req->verb);
        reply.service = req->service;
        reply.forced = req->force;
        who = identify(rt->cfg, rec.cert.subject, rec.cert.cn, rec.cert.sha256);
        rec.client = who.name();
        if (req->verb == Verb::diagnostics || req->verb == Verb::history) {  // lookups only
            if (req->verb == Verb::diagnostics)
                serve_diagnostics(st, *rt, who, req->service, reply);
            else
                serve_history(st, who, *req, reply);
            req.reset();
        }
    }
    if (req) {
        auto now = now_ms();
        Claim claim;  // the service lock and a slot, held until the script is reaped
        GuardState gs;
        Verdict v{Decision::refuse, Reason::shutting_down, "the listener is shutting down",
                  std::nullopt};
        if (!(st.stopping && is_state_changing(req->verb))) {
            gs = gather(st, rt->cfg, *req, claim, now);
            v = decide(*req, who, rt->cfg, gs, now);
        }
        if (v.decision == Decision::refuse) {
            refuse(reply, v.reason, v.message);
            if (st.store && (is_state_changing(req->verb) || req->verb == Verb::reset)) {
                try {  // for history: refused heals matter as much as the ones that ran
                    st.store->refused(reply.id, now, req->service, req->verb, rec.client, v.reason);
                } catch (const StoreError& e) {
                    log::error("state store: cannot record the refusal " + reply.id + ": " + e.what());
                }
            }
            if (v.reason == Reason::busy) reply.running_id = gs.running_id;
            if (v.quarantine_now) {
                try {
                    st.store->quarantine(req->service, *v.quarantine_now);
                    log::warning(tag + " " + req->service + " quarantined: " + v.quarantine_now->why);
                } catch (const StoreError& e) {
                    log::error("state store: cannot quarantine " + req->service + ": " + e.what());
                }
            }
        } else if (v.decision == Decision::dry_run) {
            reply.outcome = Outcome::dry_run;
            reply.message = v.message;
        } else if (req->verb == Verb::info) {
            reply.outcome = Outcome::ok;
            reply.message = "info";
            reply.info = service_info(st, rt->cfg, who, now, req->service);
        } else if (req->verb == Verb::reset) {
            try {
                bool was = gs.quarantine.has_value();
                st.store->reset(req->service, now);
                reply.outcome = Outcome::ok;
                reply.message = req->service + (was ? ": quarantine lifted" : ": was not quarantined") +
                                "; a fresh budget window starts now";
                log::warning(tag + " " + reply.id + " reset " + req->service + " by client " +
                             rec.client);
            } catch (const StoreError& e) {
                refuse(reply, Reason::state_unavailable,
                       std::string("state store unavailable: ") + e.what());
            }
        } else if (req->verb == Verb::status) {
            co_await run_status(st, *rt, *req, rec);
        } else {
            co_await run_guarded(st, *rt, *req, rec, tag);
        }
    }
    if (reply.outcome == Outcome::refused)
        log::warning(tag + " " + reply.id + " refused: " + reply.message);
    else if (!(req && req->verb == Verb::status && !reply.shared_with.empty()))
        log::info(tag + " " + reply.id + " " + std::string(to_string(reply.outcome)) + ": " +
                  reply.message);

    audit(st, rec);  // before the reply: what was done is on record even if the reply is lost
    if (!can_reply) co_return;

    std::string line = to_json_line(reply);
    ec = co_await tls.write(line, deadline());
    if (ec) {
        log::warning(tag + " " + reply.id + " reply not delivered: " + ec.message());
        co_return;
    }
    co_await tls.shutdown(deadline());
    // A client that closes without its own close_notify is common and harmless here.
}

}  // namespace heal
