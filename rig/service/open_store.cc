// Which job store racerigd uses (see open_store.h).
#include "rig/service/open_store.h"

#include "rig/service/postgres_store.h"
#include "rig/service/sqlite_store.h"

namespace racerig::service {

Result<OpenedStore> open_store(const std::string& spec, const std::filesystem::path& sqlite_path) {
  OpenedStore out;
  if (spec.empty()) {
    RACERIG_ASSIGN(auto store, SqliteStore::open(sqlite_path));
    out.store = std::move(store);
    out.description = "SQLite " + sqlite_path.string();
    return out;
  }
  if (spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0) {
    RACERIG_ASSIGN(auto store, PostgresStore::open(spec));
    out.description = "PostgreSQL " + store->label();
    out.store = std::move(store);
    out.shared = true;
    return out;
  }
  const auto colon = spec.find(':');
  return make_error(ErrorKind::kInput, "--store: \"" + (colon == std::string::npos ? std::string("?") : spec.substr(0, colon)) +
                                           ":\" is not a store this racerigd knows; give a postgresql:// URI, or "
                                           "no --store for SQLite in --state");
}

}  // namespace racerig::service
