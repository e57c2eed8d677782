#include "common/run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>

namespace heal {

RunOutcome run_with_deadline(boost::asio::awaitable<void> task,
                             std::chrono::steady_clock::time_point deadline) {
    RunOutcome out;
    boost::asio::io_context ioc(1);
    boost::asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e) {
        out.finished = true;
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            out.exception = ex.what();
        }
    });
    ioc.run_until(deadline);
    return out;
}

}  // namespace heal
