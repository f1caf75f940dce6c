// racerig doctor: what each VM backend needs on this host, and what is
// missing, with the fix for each. Exit 0 when both backends are ready, 1
// when something is missing, 2 for a usage error. Both backends need the
// sandbox's user (as root) and bubblewrap: they are checked by running a
// command in a build sandbox as that user.
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>

#include <libvirt/libvirt.h>

#include "host/cli_util.h"
#include "rig/base/file.h"
#include "rig/base/text.h"
#include "host/commands.h"
#include "rig/kbuild/cache.h"
#include "rig/libvirt/connection.h"
#include "rig/libvirt/root_holder.h"
#include "rig/process/identity.h"
#include "rig/process/process.h"
#include "rig/process/sandbox.h"

namespace racerig::host {

namespace {

namespace fs = std::filesystem;

class Checklist {
 public:
  void ok(const std::string& backend, const std::string& what) {
    std::printf("ok       %-8s %s\n", backend.c_str(), what.c_str());
  }
  void missing(const std::string& backend, const std::string& what, const std::string& fix) {
    std::printf("MISSING  %-8s %s\n         fix: %s\n", backend.c_str(), what.c_str(), fix.c_str());
    ++missing_;
  }
  int missing_count() const { return missing_; }

 private:
  int missing_ = 0;
};

// The first executable `name` on PATH, or "".
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

void check_qemu(Checklist& list) {
  for (const char* tool : {"qemu-system-x86_64", "qemu-img"}) {
    const std::string p = on_path(tool);
    if (p.empty())
      list.missing("qemu", std::string(tool) + " is not on PATH", "apt-get install qemu-system-x86 qemu-utils (./dev setup)");
    else
      list.ok("qemu", std::string(tool) + " at " + p);
  }
  if (::access("/dev/kvm", R_OK | W_OK) == 0)
    list.ok("qemu", "/dev/kvm is there (--kvm is possible; TCG is the default)");
  else
    list.ok("qemu", "no usable /dev/kvm: TCG only (the default)");
}

// The identity builds and VMs run as, and bubblewrap: `true` run in a
// build sandbox (the namespaces, read-only system, one writable tree) as
// that user proves both.
void check_sandbox(Checklist& list) {
  auto who = process::worker_identity();
  if (!who.ok()) {
    list.missing("sandbox", who.error().message, "./dev setup");
    return;
  }
  if (*who)
    list.ok("sandbox", "kernel builds and QEMU run as the user " + (*who)->name + " (uid " +
                           std::to_string((*who)->uid) + "), not root");
  else
    list.ok("sandbox", "not root: kernel builds and QEMU run as this user (uid " + std::to_string(::geteuid()) + ")");
  if (!process::sandbox_enabled()) {
    list.missing("sandbox", "RACERIG_SANDBOX=off: builds and QEMU are not confined",
                 "unset RACERIG_SANDBOX (it is for measuring the sandbox's cost only)");
    return;
  }
  const std::string bwrap = on_path("bwrap");
  if (bwrap.empty()) {
    list.missing("sandbox", "bwrap is not on PATH", "apt-get install bubblewrap (./dev setup)");
    return;
  }
  char dir_template[] = "/tmp/racerig-doctor-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    list.missing("sandbox", std::string("cannot make a directory in /tmp: ") + std::strerror(errno),
                 "check /tmp's space and permissions");
    return;
  }
  const fs::path tree = dir_template;
  std::error_code ec;
  if (*who && ::chown(tree.c_str(), (*who)->uid, (*who)->gid) != 0)
    list.missing("sandbox", "cannot give " + tree.string() + " to " + (*who)->name + ": " + std::strerror(errno),
                 "check /tmp");
  process::BuildSandbox box{tree, tree, {}, {}};
  process::Spec spec;
  spec.argv = process::build_sandbox_argv(box, {"sh", "-c", "touch ./written && ! touch /usr/racerig-doctor"});
  spec.identity = *who;
  process::Limits limits;
  limits.deadline = Deadline::after(std::chrono::seconds(30));
  limits.what = "bwrap (a build sandbox running sh)";
  auto ran = process::run(spec, limits);
  const bool wrote = fs::exists(tree / "written", ec);
  fs::remove_all(tree, ec);
  if (!ran.ok())
    list.missing("sandbox", ran.error().message, "check that bwrap runs: bwrap --ro-bind / / true");
  else if (ran->code != 0 || !wrote)
    list.missing("sandbox",
                 "a command in the build sandbox failed (exit " + std::to_string(ran->code) + "): " + last_lines(ran->output, 5),
                 "unprivileged user namespaces must be allowed (sysctl kernel.unprivileged_userns_clone=1), and "
                 "racerig must not run under chroot(2), where the kernel refuses them (use a container or "
                 "pivot_root instead)");
  else
    list.ok("sandbox", bwrap + " confines: the tree is writable, the system read-only");
}

void check_libvirt(Checklist& list, const std::string& uri) {
  unsigned long version = 0;
  if (virGetVersion(&version, nullptr, nullptr) == 0)
    list.ok("libvirt", "libvirt library " + std::to_string(version / 1000000) + "." +
                           std::to_string(version / 1000 % 1000) + "." + std::to_string(version % 1000));
  const auto root = libvirt::embed_root_of(uri);
  if (root && ::geteuid() == 0) {
    // As root the embedded driver runs QEMU as libvirt-qemu.
    if (::getpwnam("libvirt-qemu") == nullptr || ::getgrnam("libvirt-qemu") == nullptr)
      list.missing("libvirt", "the libvirt-qemu user or group does not exist",
                   "apt-get install libvirt-daemon-system (it creates them; ./dev setup)");
    else
      list.ok("libvirt", "user and group libvirt-qemu exist");
  }
  if (root) {
    const fs::path conf = *root / "etc" / "qemu.conf";
    const std::string text = read_file(conf).value_or("");
    if (text.find("stdio_handler = \"file\"") != std::string::npos)
      list.ok("libvirt", conf.string() + " has stdio_handler = \"file\"");
    else if (text.empty())
      list.ok("libvirt", conf.string() + " is written on first use (stdio_handler = \"file\")");
    else
      list.missing("libvirt", conf.string() + " lacks stdio_handler = \"file\" (the embedded driver would need virtlogd)",
                   "add the line stdio_handler = \"file\" to " + conf.string());
  }
  if (root) {
    // Held by another process (a run, racerigd, a bench): ready, only busy.
    // Opening would wait for it; a run started now waits the same way.
    if (auto holder = libvirt::embed_root_holder(*root)) {
      list.ok("libvirt", "the embedded root " + root->string() + " is in use by " + libvirt::describe_holder(*holder) +
                             "; a run waits for it (one process per root)");
      return;
    }
  }
  std::printf("         opening %s (the first use of an embedded root probes QEMU, about a minute)\n", uri.c_str());
  std::fflush(stdout);
  auto conn = libvirt::open_uri(uri, Deadline::after(std::chrono::seconds(30)),
                                [](const std::string& line) { std::printf("         %s\n", line.c_str()); });
  if (!conn.ok()) {
    list.missing("libvirt", conn.error().message,
                 root ? "install libvirt-daemon-system (./dev setup); another racerig may hold this root"
                      : "check that libvirtd runs there and that this user may connect (virsh -c URI list)");
    return;
  }
  list.ok("libvirt", "connected to " + uri);
  auto names = libvirt::racerig_domains(*conn);
  if (!names.ok()) {
    list.missing("libvirt", names.error().message, "check the URI's permissions (virsh -c URI list --all)");
    return;
  }
  auto swept = libvirt::sweep(*conn);
  if (swept.ok() && !swept->empty())
    list.ok("libvirt", "swept " + std::to_string(swept->size()) + " domain(s) of racerig processes that died");
  const size_t live = names->size() - (swept.ok() ? swept->size() : 0);
  list.ok("libvirt", std::to_string(live) + " racerig domain(s) of running racerig processes");
}

int run_doctor(const std::string& uri) {
  Checklist list;
  check_sandbox(list);
  check_qemu(list);
  check_libvirt(list, uri.empty() ? libvirt::default_uri(kbuild::default_cache_root()) : uri);
  std::printf("%s\n", list.missing_count() == 0 ? "both backends are ready"
                                                 : (std::to_string(list.missing_count()) + " thing(s) missing").c_str());
  return list.missing_count() == 0 ? kExitOk : kExitNegative;
}

}  // namespace

Command add_doctor_command(CLI::App& root) {
  auto uri = std::make_shared<std::string>();
  CLI::App* app = root.add_subcommand("doctor", "say what each VM backend (qemu, libvirt) needs here and what is missing");
  app->add_option("--libvirt-uri", *uri, "the libvirt URI to check (default: qemu:///embed?root=<cache>/libvirt)")
      ->type_name("URI");
  app->footer(
      "Opening the URI also sweeps the domains of racerig processes that died.\n"
      "Exit: 0 both backends ready, 1 something is missing (each with its fix).");
  return Command{app, [uri] { return run_doctor(*uri); }};
}

}  // namespace racerig::host
