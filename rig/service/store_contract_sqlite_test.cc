// The store contract (store_contract.h) against SqliteStore: a database file
// in a fresh temporary directory per test; another connection is another
// SqliteStore on the same file.
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "rig/service/sqlite_store.h"
#include "rig/service/store_contract.h"

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

class SqliteBackend {
 public:
  static constexpr bool kShared = false;
  SqliteBackend() {
    static std::atomic<int> n{0};
    dir_ = fs::temp_directory_path() / ("racerig-store-contract-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(n++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~SqliteBackend() { fs::remove_all(dir_); }
  Result<std::unique_ptr<Store>> fresh() { return again(); }
  Result<std::unique_ptr<Store>> again() {
    RACERIG_ASSIGN(auto s, SqliteStore::open(dir_ / "racerigd.db"));
    return std::unique_ptr<Store>(std::move(s));
  }

 private:
  fs::path dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreContract, SqliteBackend);

}  // namespace
}  // namespace racerig::service
