#include "listener/classify.hpp"

#include "listener/process_tree.hpp"

namespace heal {

Classified classify(const ActionResult& a) {
    if (!a.exec_error.empty()) return {Outcome::failed, Reason::cannot_execute, a.exec_error};
    if (a.timed_out) {
        std::string m = "timed out after " + std::to_string(a.duration_ms) + " ms; the script's process group was killed";
        if (!a.killed_outside_group.empty())
            m += ", and " + std::to_string(a.killed_outside_group.size()) +
                 " process(es) it had moved out of that group (pid " + pid_list(a.killed_outside_group) + ")";
        if (!a.survivors.empty()) m += "; STILL RUNNING after SIGKILL: pid " + pid_list(a.survivors);
        return {Outcome::timed_out, Reason::timeout, m};
    }
    if (a.exit_code && *a.exit_code == 0) return {Outcome::ok, Reason::none, "done"};
    if (!a.verdict.empty()) return {Outcome::failed, Reason::exit_status, a.verdict};
    if (a.signal) return {Outcome::failed, Reason::killed, "script killed by signal " + std::to_string(*a.signal)};
    return {Outcome::failed, Reason::exit_status,
            "script exited with status " + std::to_string(a.exit_code.value_or(-1))};
}

}  // namespace heal
