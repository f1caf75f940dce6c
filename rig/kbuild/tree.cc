// Kernel work trees (see tree.h).
#include "rig/kbuild/tree.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "rig/base/file.h"
#include "rig/kbuild/cache.h"
#include "rig/process/cancel.h"

namespace racerig::kbuild {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

process::Limits limits(std::chrono::seconds s, std::string what = {}) {
  process::Limits l;
  l.deadline = Deadline::after(std::chrono::duration_cast<std::chrono::milliseconds>(s));
  l.what = std::move(what);
  return l;
}

}  // namespace

Result<ScopedFd> lock_tree(const fs::path& path, const std::string& variant, Deadline deadline,
                           const std::function<void(const std::string&)>& waiting) {
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("opening lock " + path.string());
  std::string said;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("locking " + path.string());
    std::string holder = read_file(path).value_or("");
    while (!holder.empty() && holder.back() == '\n') holder.pop_back();
    std::string who = "another racerig";
    if (size_t sp = holder.find(' '); sp != std::string::npos)
      who = "racerig pid " + holder.substr(0, sp) + " (building " + holder.substr(sp + 1) + ")";
    if (who != said && waiting) waiting("waiting for " + who + " to finish with " + path.string());
    said = who;
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout, who + " still holds " + path.string());
    if (process::cancelled()) return make_error(ErrorKind::kCancelled, "interrupted while waiting for " + who);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (::ftruncate(fd.get(), 0) == 0) {
    std::string me = std::to_string(::getpid()) + " " + variant + "\n";
    (void)!::pwrite(fd.get(), me.data(), me.size(), 0);
  }
  return fd;
}

Status prepare_tree(const Tree& tree, const Worker& worker, const fs::path& tarball, const std::string& package,
                    const std::string& version, const std::string& fragment, const std::string& fragment_name,
                    const fs::path& log, const std::function<void(const std::string&)>& stage) {
  if (fs::exists(tree.dir / ".ready")) return Status::Ok();
  std::error_code ec;
  fs::remove_all(tree.dir, ec);
  RACERIG_TRY(worker.make_dir(tree.src()));
  const auto step = std::chrono::minutes(30);
  const fs::path src = tree.src();
  stage("extracting " + tarball.string());
  RACERIG_TRY(worker.run_checked(src, src, {"tar", "-xJf", tarball.string(), "--strip-components=1", "-C", "."},
                                 limits(step), log));
  if (!fs::exists(src / "Makefile")) return make_error(ErrorKind::kIo, tarball.string() + " held no kernel Makefile");
  stage("recording the pristine sources in git");
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "user.name=racerig", "-c", "user.email=racerig@localhost",
                                     "-c", "core.autocrlf=false"};
    argv.insert(argv.end(), args.begin(), args.end());
    return worker.run_checked(src, src, argv, limits(step), log);
  };
  RACERIG_TRY(git({"init", "-q"}));
  RACERIG_TRY(git({"add", "-A", "-f", "."}));
  RACERIG_TRY(git({"commit", "-q", "-m", "Debian " + package + " " + version}));
  RACERIG_TRY(git({"tag", kPristineTag}));
  stage("configuring (tinyconfig + " + fragment_name + ")");
  // The fragment goes inside the tree: the sandbox shows the build nothing else.
  RACERIG_TRY(write_file(src / ".racerig-config.fragment", fragment));
  RACERIG_TRY(worker.run_checked(src, src, {"make", "tinyconfig"}, limits(step), log));
  RACERIG_TRY(worker.run_checked(src, src,
                                 {"scripts/kconfig/merge_config.sh", "-m", ".config", ".racerig-config.fragment"},
                                 limits(step), log));
  RACERIG_TRY(worker.run_checked(src, src, {"make", "olddefconfig"}, limits(step), log));
  fs::remove(src / ".racerig-config.fragment", ec);
  // Every fragment line must have survived olddefconfig.
  std::string config = read_file(src / ".config").value_or("");
  std::string missing;
  for (const FragmentMiss& m : fragment_misses(config, fragment))
    missing += " " + m.text + " (line " + std::to_string(m.line) + ")";
  if (!missing.empty())
    return make_error(ErrorKind::kBuild, fragment_name + " options that did not survive olddefconfig on " + package +
                                             " " + version + ":" + missing);
  // The base's configuration, which variants with a fragment of their own
  // start from and the others return to.
  RACERIG_TRY(write_file(tree.dir / "config.base", config));
  return write_file(tree.dir / ".ready", version + "\n");
}

std::vector<std::string> fragment_options(const std::string& fragment) {
  std::vector<std::string> out;
  std::stringstream in(fragment);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (size_t eq = line.find('='); eq != std::string::npos) out.push_back(line.substr(0, eq));
  }
  return out;
}

std::vector<FragmentMiss> fragment_misses(const std::string& config, const std::string& fragment,
                                          const std::vector<std::string>& skip) {
  std::vector<FragmentMiss> out;
  const std::string text = "\n" + config + (config.empty() || config.back() != '\n' ? "\n" : "");
  std::stringstream in(fragment);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string opt = line.substr(0, eq), val = line.substr(eq + 1);
    if (std::find(skip.begin(), skip.end(), opt) != skip.end()) continue;
    const bool ok = val == "n" ? text.find("\n" + opt + "=") == std::string::npos
                               : text.find("\n" + line + "\n") != std::string::npos;
    if (!ok) out.push_back({number, line});
  }
  return out;
}

Status configure_variant(const Tree& tree, const Worker& worker, const std::string& base_fragment,
                         const std::string& base_fragment_name, const VariantFragment& fragment,
                         const std::string& source_text, const std::function<void(const std::string&)>& stage) {
  const fs::path src = tree.src();
  // Trees made before variants had fragments of their own only ever held
  // the base's configuration.
  if (!fs::exists(tree.dir / "config.base")) {
    RACERIG_ASSIGN(std::string now, read_file(src / ".config"));
    RACERIG_TRY(write_file(tree.dir / "config.base", now));
  }
  RACERIG_ASSIGN(const std::string base_config, read_file(tree.dir / "config.base"));
  const std::string current = read_file(src / ".config").value_or("");
  if (fragment.text.empty()) {
    if (current == base_config) return Status::Ok();
    stage("restoring the base's configuration");
    return write_file(src / ".config", base_config);
  }
  stage("configuring (the base's configuration + " + fragment.file + ")");
  const auto step = std::chrono::minutes(10);
  // Written inside the tree: the sandbox shows the build nothing else.
  RACERIG_TRY(write_file(src / ".config", base_config));
  RACERIG_TRY(write_file(src / ".racerig-variant.fragment", fragment.text));
  auto merged = worker.run_checked(
      src, src, {"scripts/kconfig/merge_config.sh", "-m", ".config", ".racerig-variant.fragment"}, limits(step));
  if (merged.ok()) merged = worker.run_checked(src, src, {"make", "olddefconfig"}, limits(step));
  std::error_code ec;
  fs::remove(src / ".racerig-variant.fragment", ec);
  if (!merged.ok()) return merged.error().wrap("variant " + fragment.variant + ": merging " + fragment.file);
  const std::string config = read_file(src / ".config").value_or("");
  std::string missing;
  for (const FragmentMiss& m : fragment_misses(config, fragment.text))
    missing += "\n  " + fragment.file + ":" + std::to_string(m.line) + ": " + m.text;
  for (const FragmentMiss& m : fragment_misses(config, base_fragment, fragment_options(fragment.text)))
    missing += "\n  " + base_fragment_name + ":" + std::to_string(m.line) + ": " + m.text + " (the base's)";
  if (!missing.empty())
    return make_error(ErrorKind::kInput, "variant " + fragment.variant + ": config lines that did not survive "
                                             "olddefconfig on " + source_text + ":" + missing);
  return Status::Ok();
}

Result<int> undo_interrupted_build(const Tree& tree) {
  const fs::path marker = tree.dir / ".building";
  std::error_code ec;
  if (!fs::exists(marker, ec)) return 0;
  const auto started = fs::last_write_time(marker, ec);
  if (ec) return make_error(ErrorKind::kIo, "reading " + marker.string() + ": " + ec.message());
  int removed = 0;
  auto it = fs::recursive_directory_iterator(tree.src(), fs::directory_options::skip_permission_denied, ec);
  if (ec) return make_error(ErrorKind::kIo, "listing " + tree.src().string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return make_error(ErrorKind::kIo, "listing " + tree.src().string() + ": " + ec.message());
    if (it->path().filename() == ".git" && it.depth() == 0) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) && !it->is_symlink(ec)) continue;
    auto t = fs::last_write_time(it->path(), ec);
    if (ec || t < started) continue;
    fs::remove(it->path(), ec);
    if (!ec) ++removed;
  }
  fs::remove(marker, ec);
  return removed;
}

Status apply_patches(const Tree& tree, const Worker& worker, const std::vector<PatchFile>& patches,
                     const std::function<void(const std::string&)>& stage) {
  const fs::path src = tree.src();
  TreeRunner run = [&](const std::vector<std::string>& argv, const std::string& input) -> Result<ToolRun> {
    RACERIG_ASSIGN(process::Exit e, worker.run(src, src, argv, limits(std::chrono::minutes(5)), {}, {}, input));
    return ToolRun{e.code, e.output};
  };
  for (const auto& p : patches) {
    stage("applying " + p.path.filename().string() + " (" + patch_kind_name(p.kind) + ")");
    RACERIG_TRY(apply_patch(p, run));
  }
  return Status::Ok();
}

Status trial_apply(const Tree& scratch, const fs::path& from, const Worker& worker,
                   const std::vector<PatchFile>& patches) {
  std::vector<std::string> existing;
  for (const auto& p : patches) {
    auto touched = touched_paths(p);
    if (!touched) return Status::Ok();
    for (const auto& t : *touched) {
      std::error_code ec;
      const auto st = fs::symlink_status(from / t, ec);
      if (!ec && fs::exists(st) && !fs::is_directory(st) &&
          std::find(existing.begin(), existing.end(), t) == existing.end())
        existing.push_back(t);
    }
  }
  RACERIG_TRY(worker.make_dir(scratch.src()));
  if (!existing.empty()) {
    std::vector<std::string> argv{"cp", "-P", "--parents", "-t", scratch.src().string(), "--"};
    argv.insert(argv.end(), existing.begin(), existing.end());
    process::Spec cp{argv, from};
    cp.identity = worker.identity();
    RACERIG_TRY(process::run_checked(cp, limits(std::chrono::minutes(5))));
  }
  return apply_patches(scratch, worker, patches, [](const std::string&) {});
}

Status restore_and_apply(const Tree& tree, const Worker& worker, const std::vector<PatchFile>& patches,
                         const std::function<void(const std::string&)>& stage) {
  const fs::path src = tree.src();
  stage("restoring pristine sources");
  RACERIG_TRY(worker.run_checked(src, src, {"git", "reset", "-q", "--hard", kPristineTag}, limits(std::chrono::minutes(10))));
  RACERIG_TRY(worker.run_checked(src, src, {"git", "clean", "-q", "-f", "-d"}, limits(std::chrono::minutes(10))));
  return apply_patches(tree, worker, patches, stage);
}

int recorded_steps(const Tree& tree, const char* which) {
  try {
    return std::stoi(read_file(tree.dir / which).value_or(""));
  } catch (...) {
    return 0;
  }
}

Status make_kernel(const Tree& tree, const Worker& worker, const std::string& name, std::chrono::seconds limit,
                   const fs::path& log, ProgressSink& progress, int estimated_steps) {
  const fs::path src = tree.src();
  const bool cold = !fs::exists(src / "vmlinux");
  RACERIG_TRY(write_file(tree.dir / ".building", std::to_string(::getpid()) + "\n"));
  unsigned jobs = std::max(1u, std::thread::hardware_concurrency());
  const auto t0 = Clock::now();
  BuildProgress p;
  p.estimated = estimated_steps;
  process::Limits l = limits(limit, "the build of " + name);
  auto made = worker.run(src, src, {"make", "-j" + std::to_string(jobs), "bzImage"}, l, log, [&](const std::string& line) {
    if (!is_make_step(line)) return;
    ++p.done;
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    progress.compile(name, line, p);
  });
  if (!made.ok()) {
    if (made.error().kind == ErrorKind::kTimeout)
      return make_error(ErrorKind::kBuild, "the build of " + name + " did not finish within its time limit of " +
                                               std::to_string(limit.count()) +
                                               " s (RACERIG_BUILD_TIME_LIMIT) and was stopped; nothing of it is "
                                               "left running. Log: " + log.string());
    return made.error();
  }
  if (made->code != 0) {
    std::string full = read_file(log).value_or("");
    return make_error(ErrorKind::kBuild, "the kernel " + name + " does not build:\n" +
                                             build_error_lines(full.empty() ? made->output : full) +
                                             "  full log: " + log.string());
  }
  std::error_code ec;
  fs::remove(tree.dir / ".building", ec);
  (void)write_file(tree.dir / (cold ? "steps-cold" : "steps-last"), std::to_string(p.done) + "\n");
  return Status::Ok();
}

Status copy_outputs(const Tree& tree, const fs::path& out) {
  ScopedFd root(::open(tree.src().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!root.valid()) return errno_error("opening " + tree.src().string());
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"arch/x86/boot/bzImage", "bzImage"}, {"vmlinux", "vmlinux"}, {"System.map", "System.map"},
           {".config", ".config"}}) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    ScopedFd in(static_cast<int>(::syscall(SYS_openat2, root.get(), from.c_str(), &how, sizeof how)));
    if (!in.valid()) return errno_error("opening the build output " + from + " (no links allowed) in " + tree.src().string());
    struct stat st {};
    if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode))
      return make_error(ErrorKind::kBuild, "the build output " + from + " is not a regular file");
    constexpr off_t kMax = off_t{1} << 30;
    if (st.st_size > kMax) return make_error(ErrorKind::kBuild, "the build output " + from + " is over 1 GiB");
    const fs::path dest = out / to;
    ScopedFd o(::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!o.valid()) return errno_error("creating " + dest.string());
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t n = ::copy_file_range(in.get(), nullptr, o.get(), nullptr, static_cast<size_t>(left), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errno_error("copying " + from + " to " + dest.string());
      left -= n;
    }
    if (::close(o.release()) != 0) return errno_error("closing " + dest.string());
  }
  return Status::Ok();
}

}  // namespace racerig::kbuild
