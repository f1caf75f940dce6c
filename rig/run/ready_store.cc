// The persistent ready-state snapshot cache (see ready_store.h).
#include "rig/run/ready_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "rig/base/file.h"
#include "rig/base/sha256.h"

namespace racerig::run {

namespace fs = std::filesystem;

namespace {

// Files hashed in full on every check; the memory images are too large for
// that and are checked by what stat says (see find()).
bool small_file(const std::string& name) { return name == kDeviceStateFile || name == kInitrdFile; }

int64_t ns_of(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// One file as it is now; sha256 for small files (or all with `hash_all`).
Result<pb::SnapshotFile> describe(const fs::path& dir, const std::string& name, bool hash_all) {
  const fs::path p = dir / name;
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return errno_error("stat " + p.string());
  if (!S_ISREG(st.st_mode)) return make_error(ErrorKind::kIo, p.string() + " is not a regular file");
  pb::SnapshotFile f;
  f.set_name(name);
  f.set_size(static_cast<uint64_t>(st.st_size));
  f.set_mtime_ns(ns_of(st.st_mtim));
  f.set_ctime_ns(ns_of(st.st_ctim));
  f.set_inode(st.st_ino);
  f.set_allocated_blocks(static_cast<uint64_t>(st.st_blocks));
  if (hash_all || small_file(name)) {
    RACERIG_ASSIGN(std::string h, sha256_file_hex(p));
    f.set_sha256(h);
  }
  return f;
}

Status sync_path(const fs::path& p, bool directory) {
  ScopedFd fd(::open(p.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + p.string());
  if (::fsync(fd.get()) != 0) return errno_error("fsync " + p.string());
  return Status::Ok();
}

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

// The files of a snapshot: the memory, device state and initrd, and the
// virtio-blk disk when it has one.
std::vector<const char*> snapshot_files(bool disk) {
  std::vector<const char*> out = {kRamFile, kPmemFile, kDeviceStateFile, kInitrdFile};
  if (disk) out.push_back(kDiskFile);
  return out;
}

// Why `meta` does not describe a usable snapshot in `dir`, or "".
std::string check(const fs::path& dir, const pb::ReadySnapshot& meta, const std::string& key,
                  const std::string& key_text, bool deep) {
  if (meta.format() != kSnapshotFormat)
    return "format " + std::to_string(meta.format()) + ", expected " + std::to_string(kSnapshotFormat);
  if (meta.key() != key) return "meta.pb names key " + meta.key() + ", the directory is " + key;
  if (meta.key_text() != key_text) return "meta.pb's inputs differ from this run's (a hash collision or a stale file)";
  for (const char* name : snapshot_files(key_text.find("\nvirtio-blk disk: none\n") == std::string::npos)) {
    const pb::SnapshotFile* want = nullptr;
    for (const auto& f : meta.files())
      if (f.name() == name) want = &f;
    if (want == nullptr) return std::string("meta.pb does not list ") + name;
    auto now = describe(dir, name, deep && !want->sha256().empty());
    if (!now.ok()) return now.error().message;
    if (now->size() != want->size())
      return std::string(name) + " has " + std::to_string(now->size()) + " bytes, published with " +
             std::to_string(want->size());
    if (now->inode() != want->inode() || now->mtime_ns() != want->mtime_ns() || now->ctime_ns() != want->ctime_ns() ||
        now->allocated_blocks() != want->allocated_blocks())
      return std::string(name) + " was changed after it was published (inode, times or allocation differ)";
    if (!want->sha256().empty() && !now->sha256().empty() && now->sha256() != want->sha256())
      return std::string(name) + "'s content differs from what was published (sha256 " + now->sha256().substr(0, 12) +
             ", published " + want->sha256().substr(0, 12) + ")";
  }
  return "";
}

// Sets the mtime of <dir>/used to now, making the file if needed. None of the
// files check() fingerprints is touched. A stamp that cannot be written
// (a read-only cache) only makes the snapshot look older to prune.
void stamp_used(const fs::path& dir) {
  const fs::path p = dir / kUsedFile;
  ScopedFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.valid()) (void)::futimens(fd.get(), nullptr);
}

std::chrono::system_clock::time_point mtime_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return {};
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns_of(st.st_mtim))));
}

}  // namespace

std::string snapshot_key_text(const SnapshotInputs& in) {
  static const char* hex = "0123456789abcdef";
  std::string plan_hex;
  for (unsigned char c : in.guest_plan) {
    plan_hex += hex[c >> 4];
    plan_hex += hex[c & 15];
  }
  std::ostringstream o;
  o << "racerig ready-state snapshot v" << kSnapshotFormat << "\n"
    << "kernel build id: " << in.kernel_build_id << "\n"
    << "base initramfs: " << in.base_initramfs << "\n"
    << "guest plan: " << plan_hex << "\n"
    << "programs: " << (in.programs.empty() ? "none" : in.programs) << "\n"
    << "NVDIMM template: " << (in.pmem_template.empty() ? "none" : in.pmem_template) << "\n"
    << "kernel command line: " << in.append << "\n"
    << "qemu: " << in.qemu_version << "\n"
    << "qemu binary: " << in.qemu_binary << "\n"
    << "accelerator: " << (in.kvm ? "kvm" : "tcg") << "\n"
    << "vcpus: " << in.cpus << "\n"
    << "memory MiB: " << in.memory_mb << "\n"
    << "NVDIMM MiB: " << in.pmem_mb << "\n"
    << "virtio-blk disk: " << (in.disk_mb > 0 ? std::to_string(in.disk_mb) + " MiB" : std::string("none")) << "\n";
  return o.str();
}

std::string snapshot_key(const std::string& key_text) { return sha256_hex(key_text).substr(0, 24); }

Result<std::optional<ReadySnapshotStore::Entry>> ReadySnapshotStore::find(const std::string& key,
                                                                          const std::string& key_text,
                                                                          std::string* why, bool deep) const {
  const fs::path dir = root_ / key;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::optional<Entry>();
  Entry e{dir, {}};
  std::string problem;
  {
    auto bytes = read_file(dir / kMetaFile);
    if (!bytes.ok()) {
      problem = "meta.pb is missing";
    } else if (!e.meta.ParseFromString(*bytes)) {
      problem = "meta.pb does not parse";
    }
  }
  if (problem.empty()) problem = check(dir, e.meta, key, key_text, deep);
  if (problem.empty()) {
    stamp_used(dir);
    return std::optional<Entry>(std::move(e));
  }
  if (why != nullptr) *why = "ready-state snapshot " + dir.string() + ": " + problem;
  RACERIG_TRY(remove(key));
  return std::optional<Entry>();
}

Result<ScopedFd> ReadySnapshotStore::lock(const std::string& key, Deadline deadline) const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + root_.string() + ": " + ec.message());
  const fs::path path = root_ / (key + ".lock");
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("opening lock " + path.string());
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return errno_error("locking " + path.string());
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout, "another racerig is still making the snapshot " + path.string());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Whatever a maker of this key left behind (killed while staging or
  // deleting) is nobody's now: the lock is ours.
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    const std::string name = d.path().filename().string();
    if (name.rfind(".staging-" + key + "-", 0) == 0 || name.rfind(".trash-" + key + "-", 0) == 0) {
      std::error_code rm;
      fs::remove_all(d.path(), rm);
    }
  }
  return fd;
}

Result<fs::path> ReadySnapshotStore::staging_dir(const std::string& key) const {
  const fs::path dir = root_ / (".staging-" + key + "-" + random_suffix());
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (!fs::create_directory(dir, ec) || ec)
    return make_error(ErrorKind::kIo, "creating " + dir.string() + ": " + (ec ? ec.message() : "it exists"));
  return dir;
}

Result<ReadySnapshotStore::Entry> ReadySnapshotStore::publish(const fs::path& staging, pb::ReadySnapshot meta) const {
  std::error_code ec;
  auto drop = [&](Error e) {
    fs::remove_all(staging, ec);
    return e;
  };
  meta.set_format(kSnapshotFormat);
  meta.clear_files();
  for (const char* name : snapshot_files(fs::exists(staging / kDiskFile, ec))) {
    if (Status s = sync_path(staging / name, false); !s.ok()) return drop(s.error());
    auto f = describe(staging, name, false);
    if (!f.ok()) return drop(f.error());
    *meta.add_files() = *f;
  }
  {
    const fs::path p = staging / kMetaFile;
    std::string bytes;
    if (!meta.SerializeToString(&bytes) || !write_file(p, bytes).ok())
      return drop(make_error(ErrorKind::kIo, "writing " + p.string()));
  }
  if (Status s = sync_path(staging / kMetaFile, false); !s.ok()) return drop(s.error());
  if (Status s = sync_path(staging, true); !s.ok()) return drop(s.error());
  const fs::path dir = root_ / meta.key();
  if (::rename(staging.c_str(), dir.c_str()) != 0) {
    // Another maker published first (no lock held, or a stale directory):
    // the caller checks and uses what is there.
    Error e = errno_error("publishing " + staging.string() + " as " + dir.string());
    return drop(e);
  }
  (void)sync_path(root_, true);
  return Entry{dir, std::move(meta)};
}

std::vector<ReadySnapshotStore::Entry> ReadySnapshotStore::list() const {
  std::vector<Entry> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    const std::string name = d.path().filename().string();
    if (!d.is_directory(ec) || name.empty() || name[0] == '.') continue;
    Entry e{d.path(), {}};
    if (auto bytes = read_file(d.path() / kMetaFile); bytes.ok()) (void)e.meta.ParseFromString(*bytes);
    out.push_back(std::move(e));
  }
  return out;
}

Status ReadySnapshotStore::remove(const std::string& key) const {
  const fs::path dir = root_ / key;
  const fs::path trash = root_ / (".trash-" + key + "-" + random_suffix());
  if (::rename(dir.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return errno_error("removing " + dir.string());
  }
  std::error_code ec;
  fs::remove_all(trash, ec);
  if (ec) return make_error(ErrorKind::kIo, "deleting " + trash.string() + ": " + ec.message());
  return Status::Ok();
}

Result<std::optional<ScopedFd>> ReadySnapshotStore::try_lock(const std::string& key) const {
  const fs::path path = root_ / (key + ".lock");
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("opening lock " + path.string());
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::optional<ScopedFd>();
    if (errno != EINTR) return errno_error("locking " + path.string());
  }
  return std::optional<ScopedFd>(std::move(fd));
}

std::chrono::system_clock::time_point ReadySnapshotStore::last_used(const fs::path& dir) {
  return std::max(mtime_of(dir / kUsedFile), mtime_of(dir / kMetaFile));
}

uintmax_t ReadySnapshotStore::disk_usage(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return 0;
  uintmax_t total = static_cast<uintmax_t>(st.st_blocks) * 512;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uintmax_t>(st.st_blocks) * 512;
  }
  return total;
}

std::vector<ReadySnapshotStore::Leftover> ReadySnapshotStore::leftovers() const {
  std::vector<Leftover> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(root_, ec)) {
    const std::string name = d.path().filename().string();
    std::string rest;
    for (const std::string prefix : {".staging-", ".trash-"})
      if (name.rfind(prefix, 0) == 0) rest = name.substr(prefix.size());
    // <key>-<pid>-<n>, as staging_dir() and remove() name them.
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    Leftover l{d.path(), rest.substr(0, dash)};
    const size_t dash2 = rest.find('-', dash + 1);
    const std::string pid = rest.substr(dash + 1, dash2 == std::string::npos ? std::string::npos : dash2 - dash - 1);
    if (!pid.empty() && pid.size() < 10 && pid.find_first_not_of("0123456789") == std::string::npos)
      l.owner = static_cast<pid_t>(std::stol(pid));
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace racerig::run
