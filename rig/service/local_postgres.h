// A PostgreSQL server of the caller's own, for the tests that need one and
// for `racerig bench`'s service row: Debian's postgresql-15 binaries make a
// cluster (initdb, trust authentication) in a fresh temporary directory and
// start it (pg_ctl) as the unprivileged `racerig` user (`nobody` without
// it; ourselves when not root), listening on a UNIX socket in that
// directory only, on a port of its own. Destroying it stops the server and
// removes the directory, also after a failed test or an interrupted bench.
// Every command has a deadline. Never a production database: anyone who
// can reach its socket is trusted.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rig/base/result.h"
#include "rig/process/identity.h"

namespace racerig::service {

class LocalPostgres {
 public:
  // The binaries' directory: $RACERIG_PG_BIN, else Debian's for 15.
  static std::filesystem::path bin_dir();
  // Makes and starts the cluster (after remove_stale() in the temporary
  // directory). kIo naming the step (and quoting its output) when a binary
  // is missing or a step fails. With `tcp_address`
  // (an address of this host), it also listens on TCP there, trusting
  // every client of that address's /24 (a test's own network only).
  static Result<std::unique_ptr<LocalPostgres>> start(const std::string& tcp_address = "");
  ~LocalPostgres();  // stop(), then removes the directory
  // What a process killed with SIGKILL left in `tmp` (a racerig-pg-*
  // directory whose `owner` file names a process, by pid and start time,
  // that no longer runs): its server stopped (pg_ctl stop -m immediate, as
  // the data directory's owner) and the directory removed. Clusters of
  // live processes, and directories without a readable `owner`, are left
  // alone. The directories it removed.
  static std::vector<std::filesystem::path> remove_stale(const std::filesystem::path& tmp);
  LocalPostgres(const LocalPostgres&) = delete;
  LocalPostgres& operator=(const LocalPostgres&) = delete;

  // A DSN for database `db` (as the cluster's superuser, with a password
  // that trust authentication ignores: messages must never show it).
  std::string dsn(const std::string& db = "postgres") const;
  // The same over TCP to start()'s tcp_address (empty without one).
  std::string tcp_dsn(const std::string& db = "postgres") const;
  static constexpr const char* kPassword = "not-a-real-secret-7f3a";
  // The directory of the server's UNIX socket (what messages name as its host).
  const std::filesystem::path& socket_dir() const { return dir_; }
  // Runs `sql` with psql on database `db`; its output. kIo quoting psql's.
  Result<std::string> psql(const std::string& sql, const std::string& db = "postgres") const;
  // The server's version ("15.14 (Debian 15.14-0+deb12u1)"), asked with psql.
  Result<std::string> version() const;
  // A new empty database named `name`.
  Status create_database(const std::string& name) const;
  // Stops the server now (immediate shutdown: clients see it go away).
  Status stop();
  // Starts it again after stop().
  Status restart();
  // Freezes the server (SIGSTOP to the postmaster and its children): its
  // sockets stay open, nothing answers. resume() thaws it (SIGCONT).
  Status pause();
  Status resume();

 private:
  LocalPostgres() = default;
  Status pg_ctl_start();
  // Sends `sig` to the postmaster and its children.
  Status signal_server(int sig);
  std::filesystem::path dir_;
  std::optional<process::Identity> who_;
  std::string user_;
  int port_ = 0;
  std::string tcp_address_;
  bool running_ = false;
};

}  // namespace racerig::service
