// Everything an action started, found when its timeout strikes: the script's process group
// is not enough, because a script can move a child to another group or session (setsid) or
// let it detach (a double fork). Found by two marks that survive both: descent from the script
// (the parent links in /proc) and the request id in the process's environment (every script
// gets HEAL_REQUEST_ID, and its children inherit it unless they clear their environment).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace heal {

/// Live processes (zombies left out) that are `script`, descend from it, or carry
/// HEAL_REQUEST_ID=`request_id` in their environment. Reads /proc; never the caller itself.
std::vector<pid_t> action_processes(pid_t script, const std::string& request_id);

/// What a timeout kill did beyond the script's process group.
struct KillReport {
    std::vector<pid_t> outside_group;  ///< found outside the group, and killed
};

/// SIGKILL to the script's process group and to every other process of the action.
KillReport kill_action(pid_t script, const std::string& request_id);

/// "1234, 1240" (at most 10, then "and N more").
std::string pid_list(const std::vector<pid_t>& pids);

}  // namespace heal
