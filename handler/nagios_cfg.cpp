#include "handler/nagios_cfg.hpp"

#include "common/small_file.hpp"
#include "handler/status_file.hpp"
#include "common/text.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

namespace heal::nagios {

namespace {

constexpr std::size_t max_line = 64 * 1024;
constexpr std::size_t max_bytes = 4 * 1024 * 1024;

std::string_view trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

}  // namespace

Paths read_nagios_cfg(std::istream& in, const std::string& name, const Paths& defaults) {
    Paths p = defaults;
    std::string line;
    std::size_t number = 0, bytes = 0;
    const auto fail = [&](const std::string& what) {
        throw StatusError(name + ":" + std::to_string(number) + ": " + what);
    };
    while (true) {
        line.clear();
        // Bounded reads: a line with no newline must not take the memory.
        char c;
        bool any = false;
        while (in.get(c)) {
            any = true;
            if (c == '\n') break;
            if (line.size() == max_line) {
                ++number;
                fail("a line longer than " + std::to_string(max_line) + " bytes");
            }
            line.push_back(c);
        }
        if (!any) break;
        ++number;
        bytes += line.size() + 1;
        if (bytes > max_bytes) fail("the file is larger than " + std::to_string(max_bytes) + " bytes");
        if (line.find('\0') != std::string::npos) fail("a NUL byte: not a Nagios configuration file");
        const std::string_view l = trim(line);
        if (l.empty() || l.front() == '#' || l.front() == ';') continue;
        const auto eq = l.find('=');
        if (eq == std::string_view::npos)
            fail("expected key=value, got '" + printable(std::string(l), 60) + "'");
        const std::string_view key = trim(l.substr(0, eq)), value = trim(l.substr(eq + 1));
        std::string* target = key == "status_file"         ? &p.status_file
                              : key == "object_cache_file" ? &p.objects_file
                              : key == "command_file"      ? &p.command_file
                                                           : nullptr;
        if (target == nullptr) continue;
        if (value.empty() || value.front() != '/')
            fail(std::string(key) + " must be an absolute path, got '" + printable(std::string(value), 60) + "'");
        *target = value;
    }
    if (in.bad()) throw StatusError(name + ": read error");
    return p;
}

Located locate(const std::string& cfg, bool given) {
    Located r;
    struct stat st {};
    if (!given && ::lstat(cfg.c_str(), &st) != 0 && errno == ENOENT) {
        r.source = "Debian's nagios4 defaults (" + cfg + " does not exist)";
        return r;
    }
    // A FIFO or a huge file named here must not hang or swamp the handler: one small regular file.
    std::string text;
    if (auto err = read_small_file(cfg, max_bytes, text); !err.empty()) {
        r.error = "cannot read Nagios' configuration '" + cfg + "': " + err;
        return r;
    }
    try {
        std::istringstream in(text);
        r.paths = read_nagios_cfg(in, cfg);
        r.source = cfg;
    } catch (const StatusError& e) {
        r.error = e.what();
    }
    return r;
}

}  // namespace heal::nagios
