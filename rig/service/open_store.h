// Which job store racerigd uses: `--store` names PostgreSQL (a
// postgresql:// or postgres:// URI, shared by many hosts); without it, the
// embedded SQLite database in the state directory (this host's alone).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "rig/service/store.h"

namespace racerig::service {

struct OpenedStore {
  std::unique_ptr<Store> store;
  bool shared = false;      // PostgreSQL: other processes use it (never recover() at start)
  std::string description;  // for the start-up line: the file, or the server without credentials
};

// Opens `spec`'s store: empty is SQLite at `sqlite_path`; a postgresql://
// or postgres:// URI is PostgreSQL. kInput naming `spec`'s scheme for
// anything else (it is never echoed whole: it may carry a password); the
// store's own errors otherwise.
Result<OpenedStore> open_store(const std::string& spec, const std::filesystem::path& sqlite_path);

}  // namespace racerig::service
