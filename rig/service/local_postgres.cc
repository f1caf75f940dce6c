// A PostgreSQL server of the caller's own (see local_postgres.h).
#include "rig/service/local_postgres.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "rig/process/process.h"
#include "rig/process/stale.h"

namespace racerig::service {

namespace fs = std::filesystem;

namespace {

constexpr auto kStepDeadline = std::chrono::seconds(90);
// In a cluster's directory: the process that made it ("PID START",
// process::format_stamp), so a reused pid is not taken for it.
constexpr const char* kOwnerFile = "owner";

// Runs `argv` as `who` (nullopt: ourselves) in `cwd`; kIo quoting the output on failure.
Result<std::string> run_step(const std::vector<std::string>& argv, const std::optional<process::Identity>& who,
                             const fs::path& cwd) {
  process::Spec spec;
  spec.argv = argv;
  spec.cwd = cwd;
  spec.identity = who;
  process::Limits limits;
  limits.deadline = Deadline::after(kStepDeadline);
  limits.cancellable = false;
  return process::run_checked(spec, limits);
}

}  // namespace

fs::path LocalPostgres::bin_dir() {
  if (const char* env = std::getenv("RACERIG_PG_BIN"); env != nullptr && *env != '\0') return env;
  return "/usr/lib/postgresql/15/bin";
}

Result<std::unique_ptr<LocalPostgres>> LocalPostgres::start(const std::string& tcp_address) {
  if (!fs::exists(bin_dir() / "initdb"))
    return make_error(ErrorKind::kIo, (bin_dir() / "initdb").string() +
                                          " is missing: install postgresql-15 (./dev setup lists it) or set "
                                          "RACERIG_PG_BIN");
  (void)remove_stale(fs::temp_directory_path());
  std::unique_ptr<LocalPostgres> pg(new LocalPostgres());
  std::string tmpl = (fs::temp_directory_path() / "racerig-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return errno_error("mkdtemp " + tmpl);
  pg->dir_ = tmpl;
  {
    std::ofstream owner(pg->dir_ / kOwnerFile);
    owner << process::format_stamp(process::self_stamp()) << "\n";
    if (!owner.flush()) return make_error(ErrorKind::kIo, (pg->dir_ / kOwnerFile).string() + ": cannot write");
  }
  // The server refuses to run as root: as root, it runs as an unprivileged user.
  if (::geteuid() == 0) {
    auto who = process::lookup_user(process::kSandboxUser);
    if (!who.ok()) who = process::lookup_user("nobody");
    if (!who.ok()) return make_error(ErrorKind::kIo, "no unprivileged user (racerig, nobody) to run PostgreSQL as");
    pg->who_ = *who;
    pg->user_ = who->name;
    if (::chown(pg->dir_.c_str(), who->uid, who->gid) != 0) return errno_error("chown " + pg->dir_.string());
  } else {
    const passwd* me = ::getpwuid(::geteuid());
    if (me == nullptr) return make_error(ErrorKind::kIo, "who am I? uid " + std::to_string(::geteuid()));
    pg->user_ = me->pw_name;
  }
  // A port of its own: it only names the socket in our directory (no TCP).
  pg->port_ = 20000 + static_cast<int>(::getpid() % 20000);
  auto init = run_step({(bin_dir() / "initdb").string(), "-D", (pg->dir_ / "data").string(), "-U", pg->user_,
                        "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"},
                       pg->who_, pg->dir_);
  if (!init.ok()) return init.error().wrap("initdb in " + pg->dir_.string());
  pg->tcp_address_ = tcp_address;
  if (!tcp_address.empty()) {
    const std::string net = tcp_address.substr(0, tcp_address.rfind('.')) + ".0/24";
    std::ofstream hba(pg->dir_ / "data" / "pg_hba.conf", std::ios::app);
    hba << "host all all " << net << " trust\n";
    if (!hba.flush()) return make_error(ErrorKind::kIo, (pg->dir_ / "data" / "pg_hba.conf").string() + ": cannot append");
  }
  RACERIG_TRY(pg->pg_ctl_start());
  return pg;
}

Status LocalPostgres::pg_ctl_start() {
  const std::string options = "-k " + dir_.string() + " -p " + std::to_string(port_) +
                              " -c listen_addresses='" + tcp_address_ + "' -c fsync=off -c max_connections=200";
  auto started = run_step({(bin_dir() / "pg_ctl").string(), "start", "-D", (dir_ / "data").string(), "-l",
                           (dir_ / "server.log").string(), "-w", "-t", "60", "-o", options},
                          who_, dir_);
  if (!started.ok()) return started.error().wrap("pg_ctl start in " + dir_.string());
  running_ = true;
  return Status::Ok();
}

LocalPostgres::~LocalPostgres() {
  if (running_) (void)resume();  // a frozen server would not stop
  (void)stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::vector<fs::path> LocalPostgres::remove_stale(const fs::path& tmp) {
  std::vector<fs::path> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    const fs::path dir = entry.path();
    if (dir.filename().string().rfind("racerig-pg-", 0) != 0) continue;
    std::ifstream owner_file(dir / kOwnerFile);
    std::stringstream owner_text;
    owner_text << owner_file.rdbuf();
    const auto owner = process::parse_stamp(owner_text.str());
    if (!owner || process::is_alive(*owner)) continue;
    const fs::path data = dir / "data";
    struct stat st {};
    if (::stat(data.c_str(), &st) == 0 && fs::exists(data / "postmaster.pid")) {
      // Stopped as the data directory's owner (the server refuses root);
      // another user's cluster is not ours to stop unless we are root.
      std::optional<process::Identity> who;
      if (::geteuid() == 0 && st.st_uid != 0) {
        const passwd* pw = ::getpwuid(st.st_uid);
        if (pw == nullptr) continue;
        auto found = process::lookup_user(pw->pw_name);
        if (!found.ok()) continue;
        who = *found;
      } else if (::geteuid() != st.st_uid) {
        continue;
      }
      auto stopped = run_step({(bin_dir() / "pg_ctl").string(), "stop", "-D", data.string(), "-m", "immediate", "-w",
                               "-t", "30"},
                              who, dir);
      // A server that is gone already leaves pg_ctl complaining: the
      // directory goes all the same, unless its postmaster still runs.
      if (!stopped.ok()) {
        std::ifstream pidfile(data / "postmaster.pid");
        pid_t postmaster = 0;
        if (pidfile >> postmaster && process::pid_alive(postmaster)) continue;
      }
    }
    fs::remove_all(dir, ec);
    if (!ec) removed.push_back(dir);
  }
  return removed;
}

std::string LocalPostgres::dsn(const std::string& db) const {
  return "postgresql://" + user_ + ":" + kPassword + "@/" + db + "?host=" + dir_.string() +
         "&port=" + std::to_string(port_);
}

std::string LocalPostgres::tcp_dsn(const std::string& db) const {
  if (tcp_address_.empty()) return "";
  return "postgresql://" + user_ + ":" + kPassword + "@" + tcp_address_ + ":" + std::to_string(port_) + "/" + db;
}

Result<std::string> LocalPostgres::psql(const std::string& sql, const std::string& db) const {
  return run_step({(bin_dir() / "psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir_.string(), "-p",
                   std::to_string(port_), "-U", user_, "-d", db, "-At", "-c", sql},
                  who_, dir_);
}

Result<std::string> LocalPostgres::version() const {
  RACERIG_ASSIGN(std::string out, psql("SHOW server_version"));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (out.empty())
    return make_error(ErrorKind::kProtocol, "psql on " + dir_.string() + ": SHOW server_version said nothing");
  return out;
}

Status LocalPostgres::create_database(const std::string& name) const {
  auto r = psql("CREATE DATABASE \"" + name + "\"");
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Status LocalPostgres::stop() {
  if (!running_) return Status::Ok();
  running_ = false;
  auto stopped = run_step({(bin_dir() / "pg_ctl").string(), "stop", "-D", (dir_ / "data").string(), "-m",
                           "immediate", "-w", "-t", "30"},
                          who_, dir_);
  if (!stopped.ok()) return stopped.error().wrap("pg_ctl stop in " + dir_.string());
  return Status::Ok();
}

Status LocalPostgres::signal_server(int sig) {
  std::ifstream pidfile(dir_ / "data" / "postmaster.pid");
  pid_t postmaster = 0;
  if (!(pidfile >> postmaster) || postmaster <= 0)
    return make_error(ErrorKind::kIo, (dir_ / "data" / "postmaster.pid").string() + ": no postmaster pid");
  std::vector<pid_t> pids = {postmaster};
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::stringstream text;
    text << stat.rdbuf();
    const std::string line = text.str();
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (fields >> state >> ppid && ppid == postmaster) pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  for (pid_t pid : pids)
    if (::kill(pid, sig) != 0 && errno != ESRCH) return errno_error("kill " + std::to_string(pid));
  return Status::Ok();
}

Status LocalPostgres::pause() { return signal_server(SIGSTOP); }

Status LocalPostgres::resume() { return signal_server(SIGCONT); }

Status LocalPostgres::restart() {
  if (running_) return Status::Ok();
  return pg_ctl_start();
}

}  // namespace racerig::service
