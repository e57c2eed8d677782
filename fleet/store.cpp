#include "fleet/store.hpp"

#include "fleet/pg_store.hpp"
#include "fleet/sqlite_store.hpp"

namespace heal::fleet {

std::unique_ptr<Store> open_store(const StoreSpec& spec) {
    if (!spec.conninfo_file.empty()) return std::make_unique<PgStore>(spec.conninfo_file);
    return std::make_unique<SqliteStore>(spec.state_dir, spec.file_name);
}

std::vector<std::pair<bool, std::string>> check_store(const StoreSpec& spec) {
    try {
        if (spec.conninfo_file.empty()) return {{true, SqliteStore(spec.state_dir, spec.file_name).where() + ": opens"}};
        PgStore store(spec.conninfo_file);
        auto lines = store.check();
        for (auto& line : lines) line.second = store.where() + ": " + line.second;
        return lines;
    } catch (const StoreError& e) {
        return {{false, e.what()}};
    }
}

}  // namespace heal::fleet
