// Listing and pruning the cache (see store.h).
#include "rig/kbuild/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"
#include "rig/process/stale.h"

namespace racerig::kbuild {

namespace fs = std::filesystem;
using SysClock = std::chrono::system_clock;

namespace {

SysClock::time_point mtime_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return SysClock::time_point{};
  return SysClock::from_time_t(st.st_mtim.tv_sec);
}

uintmax_t disk_usage(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  uintmax_t total = static_cast<uintmax_t>(st.st_blocks) * 512;
  if (!S_ISDIR(st.st_mode)) return total;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uintmax_t>(st.st_blocks) * 512;
  }
  return total;
}

std::string meta_value(const fs::path& meta, const std::string& field) {
  std::istringstream in(read_file(meta).value_or(""));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + "=", 0) == 0) return line.substr(field.size() + 1);
  return "";
}

// The racerig pid in a domain's name (racerig-PID-N-RAND), or 0.
pid_t domain_owner(const std::string& name) {
  const char* first = name.data() + std::min<size_t>(8, name.size());
  const char* last = name.data() + name.size();
  long pid = 0;
  auto [end, ec] = std::from_chars(first, last, pid);
  if (ec != std::errc() || end == last || *end != '-' || pid <= 0 || pid > 0x7fffffff) return 0;
  return static_cast<pid_t>(pid);
}

}  // namespace

Result<std::vector<CacheEntry>> list_entries(const Cache& cache) {
  std::set<std::string> shipped;
  RACERIG_ASSIGN(auto variants, cache.variants());
  for (const auto& v : variants)
    if (auto k = cache.key(v); k.ok()) shipped.insert(*k);
  // Every base's current trusted tree (a base whose package is missing has none).
  std::set<std::string> trees;
  RACERIG_ASSIGN(auto bases, cache.bases());
  for (const auto& b : bases)
    if (auto source = cache.source_of(b); source.ok()) trees.insert(Cache::tree_key(*source));
  std::vector<CacheEntry> out;
  const fs::path root = cache.root();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / "kernels", ec)) {
    if (!e.is_directory(ec) || e.path().filename().string().find(".tmp") != std::string::npos) continue;
    CacheEntry c{"kernel", meta_value(e.path() / "meta", "variant"), e.path()};
    if (c.name.empty()) c.name = "(unfinished) " + e.path().filename().string();
    c.bytes = disk_usage(e.path());
    c.last_used = std::max(mtime_of(e.path() / "used"), mtime_of(e.path()));
    c.kept = shipped.count(e.path().filename().string()) != 0;
    out.push_back(std::move(c));
  }
  for (const auto& e : fs::directory_iterator(root / "trees", ec)) {
    if (!e.is_directory(ec)) continue;
    const std::string key = e.path().filename().string();
    CacheEntry c{"tree", key, e.path()};
    c.bytes = disk_usage(e.path());
    c.last_used = std::max(mtime_of(root / "trees" / (key + ".lock")), mtime_of(e.path()));
    c.kept = trees.count(key) != 0;
    out.push_back(std::move(c));
  }
  for (const auto& e : fs::directory_iterator(root / "candidates", ec)) {
    CacheEntry c{"candidate", e.path().filename().string(), e.path()};
    c.bytes = disk_usage(e.path());
    c.last_used = mtime_of(e.path());
    c.kept = true;
    out.push_back(std::move(c));
  }
  for (const auto& e : fs::directory_iterator(root / "logs", ec)) {
    // Kept run dirs are listed one by one, below.
    if (e.path().filename() == "runs" && e.is_directory(ec) && !e.is_symlink(ec)) continue;
    CacheEntry c{"log", e.path().filename().string(), e.path()};
    c.bytes = disk_usage(e.path());
    c.last_used = mtime_of(e.path());
    out.push_back(std::move(c));
  }
  // The kept logs of INFRA_ERROR and STALLED runs (run/kept_logs.h).
  for (const auto& e : fs::directory_iterator(root / "logs" / "runs", ec)) {
    CacheEntry c{"run log", e.path().filename().string(), e.path()};
    c.bytes = disk_usage(e.path());
    c.last_used = mtime_of(e.path());
    out.push_back(std::move(c));
  }
  // libvirt's logs of racerig's domains in the default embedded root
  // (<cache>/libvirt, rig/libvirt): one file per domain, never removed by
  // libvirt itself.
  for (const auto& e : fs::directory_iterator(root / "libvirt" / "log" / "qemu", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("racerig-", 0) != 0 || !e.is_regular_file(ec)) continue;
    CacheEntry c{"domain log", name, e.path()};
    c.bytes = disk_usage(e.path());
    c.last_used = mtime_of(e.path());
    out.push_back(std::move(c));
  }
  for (const auto& e : fs::directory_iterator(root / "work" / "pmem-templates", ec)) {
    CacheEntry c{"template", e.path().filename().string(), e.path()};
    c.bytes = disk_usage(e.path());
    struct stat st {};
    c.last_used = ::lstat(e.path().c_str(), &st) == 0
                      ? SysClock::from_time_t(std::max(st.st_atim.tv_sec, st.st_mtim.tv_sec))
                      : SysClock::time_point{};
    out.push_back(std::move(c));
  }
  return out;
}

Result<PruneResult> prune(const Cache& cache, std::chrono::hours keep, bool dry_run) {
  RACERIG_ASSIGN(auto entries, list_entries(cache));
  PruneResult result;
  const auto cutoff = SysClock::now() - keep;
  for (auto& e : entries) {
    if (e.kept || e.kind == "candidate" || e.last_used >= cutoff) continue;
    if (e.kind == "domain log") {
      // racerig-PID-N-RAND.log: not while that racerig may still run it.
      if (pid_t pid = domain_owner(e.name); pid > 0 && process::pid_alive(pid)) {
        result.skipped.push_back(e.path.string() + ": racerig pid " + std::to_string(pid) + " is running");
        continue;
      }
    }
    ScopedFd lock;
    if (e.kind == "tree") {
      // Only a tree no racerig is using.
      const fs::path lock_path = e.path.parent_path() / (e.name + ".lock");
      lock.reset(::open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
      if (lock.valid() && ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        result.skipped.push_back(e.path.string() + ": a racerig is building in it");
        continue;
      }
    }
    if (!dry_run) {
      std::error_code ec;
      fs::remove_all(e.path, ec);
      if (ec) {
        result.skipped.push_back(e.path.string() + ": " + ec.message());
        continue;
      }
      if (e.kind == "tree") fs::remove(e.path.parent_path() / (e.name + ".lock"), ec);
    }
    result.bytes += e.bytes;
    result.removed.push_back(e);
  }
  return result;
}

}  // namespace racerig::kbuild
