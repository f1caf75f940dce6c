// bubblewrap command lines (see sandbox.h).
#include "rig/process/sandbox.h"

#include <cstdlib>
#include <cstring>
#include <system_error>

namespace racerig::process {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> namespaces() {
  return {"bwrap", "--unshare-all", "--die-with-parent", "--hostname", "racerig-sandbox"};
}

// The host's merged-/usr entries at the root (Debian: links into /usr;
// elsewhere maybe directories), shown as they are.
void add_root_links(std::vector<std::string>& argv) {
  for (const char* name : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    const auto st = fs::symlink_status(name, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      const fs::path target = fs::read_symlink(name, ec);
      if (!ec) argv.insert(argv.end(), {"--symlink", target.string(), name});
    } else if (fs::is_directory(st)) {
      argv.insert(argv.end(), {"--ro-bind", name, name});
    }
  }
}

}  // namespace

const std::vector<std::string>& build_etc_files() {
  // ld.so.cache: where the toolchain's shared libraries are; alternatives:
  // awk, cc, yacc and friends are links through it. Nothing else of /etc
  // is read by a kernel build (no passwd: KBUILD_BUILD_USER is set).
  static const std::vector<std::string> files = {"/etc/ld.so.cache", "/etc/alternatives"};
  return files;
}

bool sandbox_enabled() {
  const char* v = std::getenv("RACERIG_SANDBOX");
  return v == nullptr || std::strcmp(v, "off") != 0;
}

std::vector<std::string> build_sandbox_argv(const BuildSandbox& box, const std::vector<std::string>& command) {
  if (!sandbox_enabled()) return command;
  // An empty root (bwrap's own tmpfs), then only what a build needs.
  std::vector<std::string> argv = namespaces();
  argv.insert(argv.end(), {"--ro-bind", "/usr", "/usr"});
  add_root_links(argv);
  for (const auto& f : build_etc_files()) argv.insert(argv.end(), {"--ro-bind-try", f, f});
  argv.insert(argv.end(), {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"});
  for (const auto& h : box.hidden) argv.insert(argv.end(), {"--tmpfs", h.string()});
  const std::filesystem::path inside = box.mount_at.empty() ? box.tree : box.mount_at;
  argv.insert(argv.end(), {"--bind", box.tree.string(), inside.string()});
  for (const auto& r : box.read_only) argv.insert(argv.end(), {"--ro-bind", r.string(), r.string()});
  // Nothing but the tree (and /tmp) is writable, the root's tmpfs included.
  argv.insert(argv.end(), {"--remount-ro", "/"});
  argv.insert(argv.end(), {"--chdir", (box.cwd.empty() ? inside : box.cwd).string(), "--"});
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> vm_sandbox_argv(const VmSandbox& box, const std::vector<std::string>& command) {
  if (!sandbox_enabled()) return command;
  std::vector<std::string> argv = namespaces();
  argv.insert(argv.end(), {"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"});
  if (box.kvm) argv.insert(argv.end(), {"--dev-bind", "/dev/kvm", "/dev/kvm"});
  argv.insert(argv.end(), {"--bind-fd", std::to_string(box.run_dir_fd), box.run_dir.string()});
  for (const auto& f : box.files) argv.insert(argv.end(), {"--bind-fd", std::to_string(f.fd), f.at.string()});
  if (box.status_fd >= 0) argv.insert(argv.end(), {"--json-status-fd", std::to_string(box.status_fd)});
  argv.insert(argv.end(), {"--chdir", box.run_dir.string(), "--"});
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

}  // namespace racerig::process
