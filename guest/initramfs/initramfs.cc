// Base image (cached by content) and per-run plan archive.
#include "guest/initramfs/initramfs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "guest/initramfs/cpio.h"
#include "guest/initramfs/elf_deps.h"
#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"

#ifndef RACERIG_AGENT_BUILD_PATH
#define RACERIG_AGENT_BUILD_PATH ""
#endif

namespace racerig::initramfs {

namespace {

// Bump when the layout of the base image changes without its inputs changing.
constexpr char kLayoutVersion[] = "racerig-initramfs-1";
// The largest base image read back (the default bound of read_file is 64 MiB).
constexpr size_t kMaxBaseImage = size_t{1} << 30;

struct Entry {
  enum class Type { kDir, kFile, kCharDev };
  Type type;
  std::string path;
  uint32_t mode = 0;
  std::string data;
  uint32_t major = 0, minor = 0;
};

// Everything in the base image, in archive order.
Result<std::vector<Entry>> collect(const BaseInputs& in) {
  std::vector<Entry> out;
  for (const char* d : {"/proc", "/sys", "/dev", "/mnt", "/racerig", "/sbin"})
    out.push_back(Entry{Entry::Type::kDir, d, 0755});
  out.push_back(Entry{Entry::Type::kDir, "/tmp", 01777});
  out.push_back(Entry{Entry::Type::kCharDev, "/dev/console", 0600, {}, 5, 1});
  out.push_back(Entry{Entry::Type::kCharDev, "/dev/ttyS0", 0600, {}, 4, 64});
  out.push_back(Entry{Entry::Type::kCharDev, "/dev/ttyS1", 0600, {}, 4, 65});
  out.push_back(Entry{Entry::Type::kCharDev, "/dev/null", 0666, {}, 1, 3});

  RACERIG_ASSIGN(std::string agent, read_file(in.agent));
  auto info = read_elf_info(agent, in.agent.string());
  if (!info.ok()) return info.error().wrap("the agent");
  if (!info->interpreter.empty() || !info->needed.empty())
    return make_error(ErrorKind::kInput, "the agent " + in.agent.string() + " is dynamically linked (interpreter \"" +
                                             info->interpreter + "\"); the guest has no libraries for it, it must "
                                             "be linked with -static");
  out.push_back(Entry{Entry::Type::kFile, "/init", 0755, std::move(agent)});

  // The mkfs tools a scenario's setup {} may ask for, each with its
  // libraries (a library both need is packed once).
  std::set<std::string> packed;
  for (const auto& [host, guest] : {std::pair{in.mkfs, "/sbin/mkfs.xfs"}, std::pair{in.mke2fs, "/sbin/mke2fs"}}) {
    RACERIG_ASSIGN(std::string tool, read_file(host));
    out.push_back(Entry{Entry::Type::kFile, guest, 0755, std::move(tool)});
    auto libs = shared_library_closure(host, in.library_dirs.empty() ? default_library_dirs() : in.library_dirs);
    if (!libs.ok()) return libs.error().wrap("the libraries of " + host.string());
    for (const GuestFile& f : *libs) {
      if (!packed.insert(f.guest_path).second) continue;
      RACERIG_ASSIGN(std::string data, read_file(f.host_path));
      out.push_back(Entry{Entry::Type::kFile, f.guest_path, 0755, std::move(data)});
    }
  }
  return out;
}

// FNV-1a, 64 bits: enough to tell inputs apart; not a security boundary.
class Fnv {
 public:
  void add(std::string_view s) {
    for (unsigned char c : s) h_ = (h_ ^ c) * 0x100000001b3ull;
    // Length-delimit, so that ("ab","c") and ("a","bc") differ.
    uint64_t n = s.size();
    for (int i = 0; i < 8; ++i) h_ = (h_ ^ ((n >> (8 * i)) & 0xff)) * 0x100000001b3ull;
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

std::string content_key(const std::vector<Entry>& entries) {
  Fnv h;
  h.add(kLayoutVersion);
  for (const auto& e : entries) {
    h.add(std::to_string(static_cast<int>(e.type)) + " " + e.path + " " + std::to_string(e.mode) + " " +
          std::to_string(e.major) + ":" + std::to_string(e.minor));
    h.add(e.data);
  }
  return h.hex();
}

Result<std::string> archive(const std::vector<Entry>& entries) {
  CpioWriter w;
  for (const auto& e : entries) {
    switch (e.type) {
      case Entry::Type::kDir: RACERIG_TRY(w.add_directory(e.path, e.mode)); break;
      case Entry::Type::kFile: RACERIG_TRY(w.add_file(e.path, e.data, e.mode)); break;
      case Entry::Type::kCharDev: RACERIG_TRY(w.add_char_device(e.path, e.major, e.minor, e.mode)); break;
    }
  }
  return w.finish();
}

}  // namespace

Result<std::filesystem::path> find_agent() {
  std::vector<std::filesystem::path> tried;
  if (const char* env = std::getenv("RACERIG_AGENT"); env != nullptr && *env != '\0') {
    // An explicit choice is not second-guessed.
    std::error_code ec;
    if (std::filesystem::is_regular_file(env, ec)) return std::filesystem::path(env);
    return make_error(ErrorKind::kInput, "RACERIG_AGENT=" + std::string(env) + " is not a file");
  }
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) tried.push_back(std::filesystem::path(std::string(self, static_cast<size_t>(n))).parent_path() /
                             "racerig-agent");
  if (std::string_view(RACERIG_AGENT_BUILD_PATH).size() > 0) tried.emplace_back(RACERIG_AGENT_BUILD_PATH);
  std::string names;
  for (const auto& p : tried) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
    names += (names.empty() ? "" : ", ") + p.string();
  }
  return make_error(ErrorKind::kInput, "racerig-agent not found (tried " + names +
                                           "); build it (target racerig-agent) or set RACERIG_AGENT");
}

Result<std::string> build_base_initramfs(const BaseInputs& inputs) {
  RACERIG_ASSIGN(auto entries, collect(inputs));
  return archive(entries);
}

Result<std::filesystem::path> cached_base_initramfs(const BaseInputs& inputs, const std::filesystem::path& cache_dir) {
  RACERIG_ASSIGN(auto entries, collect(inputs));
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + cache_dir.string() + ": " + ec.message());
  const std::filesystem::path file = cache_dir / ("base-" + content_key(entries) + ".cpio");
  if (std::filesystem::is_regular_file(file, ec)) return file;
  RACERIG_ASSIGN(std::string image, archive(entries));
  std::string tmp = (cache_dir / ("base-XXXXXX")).string();
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) return errno_error("creating a temp file in " + cache_dir.string());
  ::close(fd);
  if (Status s = write_file(tmp, image, /*durable=*/true); !s.ok()) {
    ::unlink(tmp.c_str());
    return s.error();
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    Error e = errno_error("renaming " + tmp + " to " + file.string());
    ::unlink(tmp.c_str());
    return e;
  }
  return file;
}

Result<std::filesystem::path> base_initramfs(const std::filesystem::path& work_dir) {
  RACERIG_ASSIGN(std::filesystem::path agent, find_agent());
  BaseInputs inputs;
  inputs.agent = agent;
  return cached_base_initramfs(inputs, work_dir / "initramfs");
}

std::string plan_archive(const pb::GuestPlan& plan) {
  CpioWriter w;
  // Fixed, valid names: these cannot fail.
  (void)w.add_directory("/racerig", 0755);
  (void)w.add_file("/racerig/plan.pb", plan.SerializeAsString(), 0644);
  return w.finish();
}

RunInitramfs& RunInitramfs::operator=(RunInitramfs&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

RunInitramfs::~RunInitramfs() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

Result<std::string> run_archive(const pb::GuestPlan& plan, const std::vector<RunFile>& files) {
  CpioWriter w;
  std::set<std::string> dirs{"/racerig"};
  RACERIG_TRY(w.add_directory("/racerig", 0755));
  RACERIG_TRY(w.add_file("/racerig/plan.pb", plan.SerializeAsString(), 0644));
  for (const RunFile& f : files) {
    if (f.guest_path.rfind("/racerig/", 0) != 0 || f.guest_path.find("/../") != std::string::npos)
      return make_error(ErrorKind::kInput, "a run file's guest path must lie under /racerig/: " + f.guest_path);
    // Parent directories first, each once.
    for (size_t slash = f.guest_path.find('/', 9); slash != std::string::npos; slash = f.guest_path.find('/', slash + 1)) {
      const std::string dir = f.guest_path.substr(0, slash);
      if (dirs.insert(dir).second) RACERIG_TRY(w.add_directory(dir, 0755));
    }
    RACERIG_ASSIGN(std::string data, read_file(f.source, "a file for the guest", kMaxBaseImage));
    RACERIG_TRY(w.add_file(f.guest_path, data, f.mode));
  }
  return w.finish();
}

Result<RunInitramfs> write_run_initramfs(const std::filesystem::path& base, const pb::GuestPlan& plan,
                                         const std::vector<RunFile>& files) {
  RACERIG_ASSIGN(std::string extra, run_archive(plan, files));
  RACERIG_ASSIGN(std::string image, read_file(base, kMaxBaseImage));
  if (image.size() % 4 != 0)
    return make_error(ErrorKind::kInput, base.string() + " is " + std::to_string(image.size()) +
                                             " bytes, not a multiple of 4: not a base image from this builder");
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  std::string tmpl = (dir / "racerig-initrd-XXXXXX").string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return errno_error("creating a temp file in " + dir.string());
  ::close(fd);
  RunInitramfs out{std::filesystem::path(tmpl)};
  RACERIG_TRY(write_file(out.path(), image + extra));
  return out;
}

}  // namespace racerig::initramfs
