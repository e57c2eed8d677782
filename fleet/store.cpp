#include "fleet/store.hpp"

#include "fleet/pg_store.hpp"
#include "fleet/sqlite_store.hpp"

namespace heal::fleet {

std::unique_ptr<Store> open_store(const StoreSpec& spec) {
    if (!spec.conninfo_file.empty()) return std::make_unique<PgStore>(spec.conninfo_file);
    return std::make_unique<SqliteStore>(spec.state_dir, spec.file_name);
}

}  // namespace heal::fleet
