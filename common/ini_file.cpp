#include "ini_file.hpp"

#include <ini.h>

#include <cerrno>
#include <cstring>
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

}  // namespace

void parse_ini_file(const std::string& path, const IniHandler& handler) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (!f) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
    State st{&handler, {}, {}};
    int line = ini_parse_file(f, on_key, &st);
    std::fclose(f);
    if (line == 0) return;
    if (line < 0) throw ConfigError(path + ": cannot read file");
    if (st.error.empty()) st.error = "syntax error (expected [section], key = value or ; comment)";
    throw ConfigError(path + ":" + std::to_string(line) + ": " + st.error);
}

}  // namespace heal
