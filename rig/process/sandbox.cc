// bubblewrap command lines (see sandbox.h).
#include "rig/process/sandbox.h"

#include <cstdlib>
#include <cstring>

namespace racerig::process {

namespace {

std::vector<std::string> common_prefix() {
  return {"bwrap",       "--unshare-all", "--die-with-parent", "--ro-bind", "/",    "/",
          "--dev",       "/dev",          "--proc",            "/proc",     "--tmpfs", "/tmp",
          "--hostname",  "racerig-sandbox"};
}

}  // namespace

bool sandbox_enabled() {
  const char* v = std::getenv("RACERIG_SANDBOX");
  return v == nullptr || std::strcmp(v, "off") != 0;
}

std::vector<std::string> build_sandbox_argv(const BuildSandbox& box, const std::vector<std::string>& command) {
  if (!sandbox_enabled()) return command;
  std::vector<std::string> argv = common_prefix();
  for (const auto& h : box.hidden) argv.insert(argv.end(), {"--tmpfs", h.string()});
  const std::filesystem::path inside = box.mount_at.empty() ? box.tree : box.mount_at;
  argv.insert(argv.end(), {"--bind", box.tree.string(), inside.string()});
  argv.insert(argv.end(), {"--chdir", (box.cwd.empty() ? inside : box.cwd).string(), "--"});
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::vector<std::string> vm_sandbox_argv(const VmSandbox& box, const std::vector<std::string>& command) {
  if (!sandbox_enabled()) return command;
  std::vector<std::string> argv = common_prefix();
  if (box.kvm) argv.insert(argv.end(), {"--dev-bind", "/dev/kvm", "/dev/kvm"});
  argv.insert(argv.end(), {"--bind-fd", std::to_string(box.run_dir_fd), box.run_dir.string()});
  for (const auto& f : box.files) argv.insert(argv.end(), {"--bind-fd", std::to_string(f.fd), f.at.string()});
  if (box.status_fd >= 0) argv.insert(argv.end(), {"--json-status-fd", std::to_string(box.status_fd)});
  argv.insert(argv.end(), {"--chdir", box.run_dir.string(), "--"});
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

}  // namespace racerig::process
