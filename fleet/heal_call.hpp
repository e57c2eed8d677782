// The heal itself, the same for every decider: ask the target host's heal-listener for the verb
// (mutual TLS, common/client.hpp), and read its answer into one outcome (interpret, pure) with
// the words a human gets in a comment or a page.
#pragma once

#include "common/client.hpp"
#include "common/client_config.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace heal::fleet {

/// The client's options for one heal (the decider's client file, then the target host and the
/// certificate name the decider knows), or why there are none: a heal without them is no answer.
struct HealCall {
    ClientOptions options;
    std::string config_error;  ///< the client file could not be used
};
HealCall prepare_call(const std::string& client_config, const ClientOverrides& over);

/// Asks the listener for `verb` of `service` (never with --dry-run: the decider's dry run never
/// calls). Returns the error as no answer when the call could not be prepared.
CallResult call(const HealCall& call, const std::string& verb, const std::string& service);

/// What the listener's answer means for the decider.
struct HealOutcome {
    enum class Kind {
        healed,      ///< ok (verified healthy, or not verified)
        dry_run,     ///< dry_run = yes on the listener: nothing ran, nothing failed
        held,        ///< refused paused: a human holds it on the host (heal-ctl pause), not a failure
        partition,   ///< refused healthy_here: the host says healthy, the monitoring says failing
        not_fixed,   ///< failed, timed out, refused, or ran and still failing: a human must look
        no_answer,   ///< the listener could not be reached
    } kind = Kind::no_answer;
    std::string listener_outcome;  ///< "ok", "failed", "refused", ..., or "no_answer" (stored, audited)
    std::string said;              ///< why it is not healed: "the restart ran, but the service is still failing: ..."
    std::string done;              ///< for healed: "done" or "done, verified healthy after 1.2 s"
    std::string request_id;        ///< the listener's request id ("" without an answer)
    std::string message;           ///< the listener's own message
    std::string diagnostics;       ///< the listener's diagnostics id, or ""
};
HealOutcome interpret(const CallResult& result, const std::string& verb);

/// The page for a partition: the two views of one service disagree. `monitoring` says who sees
/// it failing ("the monitoring server", "Prometheus"), `failing` through what ("this check",
/// "alert WorkerDown").
std::string partition_sentence(const std::string& verb, const std::string& service, const std::string& host,
                               const std::string& monitoring, const std::string& failing, const std::string& message);

}  // namespace heal::fleet
