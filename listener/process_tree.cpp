#include "listener/process_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

namespace heal {

namespace {

struct Proc {
    pid_t ppid = 0, pgid = 0;
    bool zombie = false;
};

/// A small /proc file, whole (environ may hold NULs), at most `max` bytes.
std::string read_small(const std::string& path, std::size_t max) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string out;
    char buf[4096];
    ssize_t n;
    while (out.size() < max && (n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
}

bool parse_stat(const std::string& text, Proc& p) {
    // "pid (comm) state ppid pgrp ...": comm may hold blanks and parentheses.
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 4 >= text.size()) return false;
    const char* s = text.c_str() + close + 2;
    p.zombie = *s == 'Z' || *s == 'X';
    char* end = nullptr;
    p.ppid = static_cast<pid_t>(std::strtol(s + 2, &end, 10));
    p.pgid = static_cast<pid_t>(std::strtol(end, nullptr, 10));
    return true;
}

std::map<pid_t, Proc> all_processes() {
    std::map<pid_t, Proc> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end != '\0') continue;
        Proc p;
        if (parse_stat(read_small("/proc/" + std::string(e->d_name) + "/stat", 1024), p))
            out[static_cast<pid_t>(pid)] = p;
    }
    ::closedir(d);
    return out;
}

bool carries(pid_t pid, const std::string& marker) {
    const std::string env = read_small("/proc/" + std::to_string(pid) + "/environ", 256 * 1024);
    for (std::size_t at = 0; at < env.size();) {
        auto end = env.find('\0', at);
        if (end == std::string::npos) end = env.size();
        if (env.compare(at, end - at, marker) == 0) return true;
        at = end + 1;
    }
    return false;
}

}  // namespace

namespace {

/// The action's live processes with what /proc said of each (one read of /proc).
std::map<pid_t, Proc> find_action(pid_t script, const std::string& request_id) {
    const auto procs = all_processes();
    const pid_t self = ::getpid();
    const std::string marker = "HEAL_REQUEST_ID=" + request_id;
    std::set<pid_t> found;
    if (procs.count(script)) found.insert(script);
    for (const auto& [pid, p] : procs)
        if (pid != self && !request_id.empty() && carries(pid, marker)) found.insert(pid);
    // Descendants of anything found, to a fixed point (a parent may be listed after its child).
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& [pid, p] : procs)
            if (pid != self && !found.count(pid) && found.count(p.ppid)) {
                found.insert(pid);
                grew = true;
            }
    }
    std::map<pid_t, Proc> out;
    for (pid_t pid : found)
        if (!procs.at(pid).zombie) out.emplace(pid, procs.at(pid));
    return out;
}

}  // namespace

std::vector<pid_t> action_processes(pid_t script, const std::string& request_id) {
    std::vector<pid_t> out;
    for (const auto& [pid, p] : find_action(script, request_id)) out.push_back(pid);
    return out;
}

KillReport kill_action(pid_t script, const std::string& request_id) {
    // Found before the kill: once the script dies, its children lose their parent link.
    const auto procs = find_action(script, request_id);
    KillReport r;
    for (const auto& [pid, p] : procs)
        if (pid != script && p.pgid != script) r.outside_group.push_back(pid);
    ::kill(-script, SIGKILL);  // the whole group: the script and what it started
    for (const auto& [pid, p] : procs) ::kill(pid, SIGKILL);
    return r;
}

std::string pid_list(const std::vector<pid_t>& pids) {
    std::string out;
    for (std::size_t i = 0; i < pids.size() && i < 10; ++i) out += (i ? ", " : "") + std::to_string(pids[i]);
    if (pids.size() > 10) out += " and " + std::to_string(pids.size() - 10) + " more";
    return out;
}

}  // namespace heal
