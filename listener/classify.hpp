// What a script's run means for the reply, as one pure function beside decide(): how it ended
// (could not start, timed out, exit 0, failed, killed) becomes an outcome, a reason and words.
#pragma once

#include "listener/action_runner.hpp"
#include "common/protocol.hpp"

#include <string>

namespace heal {

struct Classified {
    Outcome outcome = Outcome::failed;
    Reason reason = Reason::none;
    std::string message;
};

Classified classify(const ActionResult& a);

}  // namespace heal
