// Run directories and their owners (see run_dir.h).
#include "rig/machine/run_dir.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "rig/base/file.h"
#include "rig/process/identity.h"
#include "rig/process/stale.h"

namespace racerig::machine {

namespace fs = std::filesystem;

namespace {

// Pids of processes whose command line mentions `needle`.
std::vector<pid_t> processes_naming(const std::string& needle) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(e.path() / "cmdline").value_or("");
    if (cmdline.find(needle) != std::string::npos) out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

void kill_and_wait(pid_t pid) {
  ::kill(pid, SIGKILL);
  for (int i = 0; i < 50 && process::pid_alive(pid); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

fs::path default_run_parent() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

Result<fs::path> make_run_dir(const fs::path& parent_arg) {
  const fs::path parent = parent_arg.empty() ? default_run_parent() : parent_arg;
  std::string templ = (parent / "racerig-run-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) return errno_error("creating a run directory in " + parent.string());
  return fs::path(templ);
}

void record_owner(const fs::path& run_dir) {
  (void)write_file(run_dir / "owner", process::format_stamp(process::self_stamp()) + "\n");
}

void record_qemu(const fs::path& run_dir, pid_t pid) {
  auto stamp = process::stamp_of(pid);
  if (stamp) (void)write_file(run_dir / "qemu.pid", process::format_stamp(*stamp) + "\n");
}

std::vector<fs::path> remove_stale_run_dirs(const fs::path& parent_arg) {
  const fs::path parent = parent_arg.empty() ? default_run_parent() : parent_arg;
  std::vector<fs::path> removed;
  auto who = process::worker_identity();
  const uid_t worker = who.ok() ? process::worker_uid(*who) : ::geteuid();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("racerig-run-", 0) != 0 || !e.is_directory(ec) || e.is_symlink(ec)) continue;
    struct stat st {};
    // Ours: made by us, or given to the worker user QEMU runs as.
    if (::lstat(e.path().c_str(), &st) != 0 || (st.st_uid != ::geteuid() && st.st_uid != worker)) continue;
    const fs::path dir = e.path();
    auto owner = process::parse_stamp(read_file(dir / "owner").value_or(""));
    if (owner) {
      if (process::is_alive(*owner)) continue;
    } else {
      // No owner record: only when nothing uses it and it is old.
      if (!processes_naming(dir.string() + "/").empty()) continue;
      const auto age = std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime);
      if (age < std::chrono::hours(1)) continue;
    }
    if (auto qemu = process::parse_stamp(read_file(dir / "qemu.pid").value_or("")); qemu && process::is_alive(*qemu))
      kill_and_wait(qemu->pid);
    for (pid_t pid : processes_naming(dir.string() + "/")) kill_and_wait(pid);
    fs::remove_all(dir, ec);
    if (!ec) removed.push_back(dir);
  }
  return removed;
}

}  // namespace racerig::machine
