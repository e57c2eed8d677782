// The verbs, once decide() has allowed them: what each does with the store, the scripts and
// the reply. The session (session.hpp) reads the request, gathers, decides and audits; these
// only act.
#pragma once

#include "listener/decide.hpp"
#include "listener/record.hpp"
#include "listener/state.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace heal {

/// status: read-only, never refused as busy; concurrent requests for one service share the run
/// already in flight in this process and all get its result.
boost::asio::awaitable<void> run_status(ListenerState& st, const Runtime& rt, const Request& req, Record& rec);

/// start, stop, restart: the audit gate, diagnose, the script, verify, the end in the store.
boost::asio::awaitable<void> run_guarded(ListenerState& st, const Runtime& rt, const Request& req, Record& rec,
                                         const std::string& tag);

/// What diagnose kept for the request id in req.service.
void serve_diagnostics(const Runtime& rt, const Request& req, const GuardState& gs, Reply& reply);

/// The newest actions and refusals this client may see.
void serve_history(ListenerState& st, const Identity& who, const Request& req, Reply& reply,
                   const std::string& tag);

/// pause / resume (admins): a hold on the service (or every service) until its end, or its end now.
void serve_pause(ListenerState& st, const ListenerConfig& cfg, const Request& req, Record& rec, const std::string& tag);

/// Lifts the quarantine and starts a fresh budget window.
void serve_reset(ListenerState& st, const Request& req, const GuardState& gs, Record& rec, const std::string& tag);

}  // namespace heal
