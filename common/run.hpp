// Running one client exchange to completion or to a deadline (heal-ctl and the checks).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace heal {

struct RunOutcome {
    bool finished = false;  ///< false: the deadline passed first
    std::string exception;  ///< what escaped the coroutine, if anything
};

/// Runs `task` on its own single-threaded io_context until it finishes or `deadline` passes.
/// Everything the task started is destroyed before this returns. The deadline also bounds name
/// resolution, which has no timeout of its own.
RunOutcome run_with_deadline(boost::asio::awaitable<void> task,
                             std::chrono::steady_clock::time_point deadline);

}  // namespace heal
