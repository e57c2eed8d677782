#include "common/ini_file.hpp"

#include "common/small_file.hpp"

#include <ini.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace heal {

namespace {

struct State {
    const IniHandler* handler;
    std::string error;
    std::set<std::pair<std::string, std::string>> seen;
};

// inih reports the failing line when a handler returns 0, which is how we get line numbers
// for semantic errors too.
int on_key(void* user, const char* section, const char* name, const char* value) {
    auto* st = static_cast<State*>(user);
    if (!st->error.empty()) return 0;
    if (!st->seen.emplace(section, name).second) {
        st->error = std::string("duplicate key '") + name + "' in [" + section + "]";
        return 0;
    }
    st->error = (*st->handler)(section, name, value);
    return st->error.empty() ? 1 : 0;
}

/// What inih cannot say: a line longer than its buffer (it would cut the value and read the
/// rest as another line), a section given twice, a section with no keys.
void prescan(const std::string& path, const std::string& text) {
    std::map<std::string, int> first_line;
    std::string section;
    int section_line = 0, keys = 0, n = 0;
    auto close_section = [&] {
        if (section_line && keys == 0)
            throw ConfigError(path + ":" + std::to_string(section_line) + ": section [" + section +
                              "] is empty (give it keys or remove it)");
    };
    std::size_t at = 0;
    while (at < text.size()) {
        auto eol = text.find('\n', at);
        std::string_view line(text.data() + at, (eol == std::string::npos ? text.size() : eol) - at);
        at = eol == std::string::npos ? text.size() : eol + 1;
        ++n;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > max_ini_line)
            throw ConfigError(path + ":" + std::to_string(n) + ": line too long (" +
                              std::to_string(line.size()) + " bytes; at most " +
                              std::to_string(max_ini_line) + ")");
        auto t = line.substr(std::min(line.find_first_not_of(" \t"), line.size()));
        if (t.empty() || t[0] == ';' || t[0] == '#') continue;
        if (t[0] != '[') {
            ++keys;
            continue;
        }
        auto close = t.find(']');
        if (close == std::string_view::npos) continue;  // inih reports the syntax error
        close_section();
        auto name = t.substr(1, close - 1);
        name = name.substr(std::min(name.find_first_not_of(" \t"), name.size()));
        name = name.substr(0, name.find_last_not_of(" \t") + 1);
        section = std::string(name);
        section_line = n;
        keys = 0;
        if (auto [it, fresh] = first_line.emplace(section, n); !fresh)
            throw ConfigError(path + ":" + std::to_string(n) + ": duplicate section [" + section +
                              "] (first at line " + std::to_string(it->second) + ")");
    }
    close_section();
}

}  // namespace

void parse_ini_file(const std::string& path, const IniHandler& handler) {
    std::string text;  // a regular file (a FIFO never hangs the start), within max_ini_bytes
    if (auto err = read_small_file(path, max_ini_bytes, text); !err.empty())
        throw ConfigError(path + ": cannot open: " + err);
    if (text.find('\0') != std::string::npos) throw ConfigError(path + ": contains a NUL byte");
    prescan(path, text);
    State st{&handler, {}, {}};
    int line = ini_parse_string(text.c_str(), on_key, &st);
    if (line == 0) return;
    if (line < 0) throw ConfigError(path + ": cannot read file");
    if (st.error.empty()) st.error = "syntax error (expected [section], key = value or ; comment)";
    throw ConfigError(path + ":" + std::to_string(line) + ": " + st.error);
}

}  // namespace heal
