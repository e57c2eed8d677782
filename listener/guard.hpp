// The I/O half of the guardrails: open the state store, take the kernel locks, close actions
// whose process died, and hand decide() a GuardState. Nothing here decides anything.
#pragma once

#include "listener/decide.hpp"
#include "listener/locks.hpp"
#include "common/log.hpp"
#include "listener/state.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <optional>
#include <string>

namespace heal {

/// The one way the listener meets an expected failure of its state store (full disk, a damaged
/// or locked file): runs `f`; on StoreError logs "TAG state store: cannot WHAT: why" and returns
/// why. "" when `f` succeeded.
template <class F>
std::string with_store(const std::string& tag, const std::string& what, F&& f) {
    try {
        f();
        return {};
    } catch (const StoreError& e) {
        log::error((tag.empty() ? "" : tag + " ") + "state store: cannot " + what + ": " + e.what());
        return e.what();
    }
}

/// The kernel locks a state-changing action holds until its script is reaped.
struct Claim {
    std::optional<KernelLock> service;
    std::optional<KernelLock> slot;
};

/// Opens the store when it is not open; logs when availability changes. False: unavailable,
/// `st.store_error` says why.
bool ensure_store(ListenerState& st, const ListenerConfig& cfg);

/// Whether gather() has anything to read for `v` (status and info need nothing of it).
bool gathers(Verb v);

/// For state-changing verbs: the store, the service lock (into `claim`), lost actions of the
/// service closed, its history, and a slot (into `claim`). Other verbs: reset needs the store;
/// status and info need nothing.
GuardState gather(ListenerState& st, const ListenerConfig& cfg, const Request& req, Claim& claim,
                  std::int64_t now_ms);

/// At start: every action started and never ended whose service lock is free (the process that
/// ran it is gone) is closed as `lost` in the store and the audit log; a script of it that
/// still runs is killed with its process group. Returns how many were closed.
unsigned recover_lost(ListenerState& st, const ListenerConfig& cfg);

/// The info verb's answer for `who`: every service, or only `only`. Reads the state store
/// alone (no lock is taken, nothing is recovered), in a number of queries that does not grow
/// with the number of services. Without the store, every service's "state" says unavailable
/// and nothing about it is claimed.
/// `watches`: each watched service's loop as watch_infos() saw it on the io thread (the store
/// thread runs this and must not read the loops themselves).
boost::json::object service_info(ListenerState& st, const ListenerConfig& cfg, const Identity& who,
                                 std::int64_t now_ms, const std::string& only,
                                 const std::map<std::string, boost::json::value>& watches);

/// Every service's watch loop (or only `only`'s) as info shows it ("watch"): read on the io
/// thread, which owns them.
std::map<std::string, boost::json::value> watch_infos(ListenerState& st, const ListenerConfig& cfg,
                                                      const std::string& only = "");

}  // namespace heal
