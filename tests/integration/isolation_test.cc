// End-to-end: untrusted input is confined. A hostile patch's Makefile runs
// its commands in the sandbox and changes nothing outside its own tree; a
// build that never ends is stopped at the time limit; QEMU runs unprivileged
// with seccomp on; a SIGKILLed racerig's QEMU and run directory are gone
// after the next invocation; Ctrl-C during a kernel build stops it and the
// next build succeeds, with progress lines off a terminal.
#include <gtest/gtest.h>

#include "support.h"
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers


namespace fs = std::filesystem;




std::string mark() { return std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr)); }

fs::path cache_root() {
  if (const char* env = std::getenv("RACERIG_CACHE"); env != nullptr && *env != '\0') return env;
  if (::geteuid() == 0) return "/var/cache/racerig";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : "/tmp") / ".cache" / "racerig";
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("racerig-it-" + std::to_string(::getpid()) + "-" + name);
  fs::create_directories(p);
  return p;
}

// Pids of processes whose command line contains `needle`.
std::vector<int> processes_naming(const std::string& needle) {
  std::vector<int> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos || std::stoi(name) == ::getpid()) continue;
    std::string cmdline = read_text(e.path() / "cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(needle) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

std::string status_field(int pid, const std::string& field) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 1);
  return "";
}

// A -p1 diff that puts `lines` at the top of fs/xfs/Makefile (its first
// three lines, from the trusted tree, are the context).
std::string makefile_patch(const std::vector<std::string>& lines) {
  fs::path trusted;
  for (const auto& e : fs::directory_iterator(cache_root() / "trees"))
    if (fs::exists(e.path() / ".ready")) trusted = e.path() / "src";
  std::istringstream in(read_text(trusted / "fs/xfs/Makefile"));
  std::vector<std::string> context(3);
  for (auto& c : context) std::getline(in, c);
  std::string diff = "--- a/fs/xfs/Makefile\n+++ b/fs/xfs/Makefile\n@@ -1,3 +1," + std::to_string(3 + lines.size()) +
                     " @@\n";
  for (const auto& l : lines) diff += "+" + l + "\n";
  for (const auto& c : context) diff += " " + c + "\n";
  return diff;
}

struct Trusted {
  std::string variant, build_id, bzimage, vmlinux;
};

Trusted trusted_kernel(const std::string& variant) {
  Ran path = run_cli("kernel path " + variant);
  EXPECT_EQ(path.exit_code, 0) << path.output;
  fs::path dir = path.output.substr(0, path.output.find('\n'));
  std::string meta = read_text(dir / "meta");
  size_t at = meta.find("build_id=");
  return Trusted{variant, at == std::string::npos ? "" : meta.substr(at + 9, meta.find('\n', at) - at - 9),
                 read_text(dir / "bzImage"), read_text(dir / "vmlinux")};
}

std::vector<std::pair<fs::path, std::string>> trusted_makefiles() {
  std::vector<std::pair<fs::path, std::string>> out;
  for (const auto& e : fs::directory_iterator(cache_root() / "trees"))
    if (fs::exists(e.path() / "src" / "Makefile"))
      for (const char* f : {"Makefile", "fs/xfs/Makefile"}) out.emplace_back(e.path() / "src" / f, read_text(e.path() / "src" / f));
  return out;
}

TEST(Isolation, AHostilePatchChangesNothingOutsideItsOwnTree) {
  // The trusted kernels exist before (validate builds buggy anyway).
  ASSERT_EQ(run_cli("kernel build fixed buggy").exit_code, 0);
  const Trusted fixed = trusted_kernel("fixed"), buggy = trusted_kernel("buggy");
  const auto makefiles = trusted_makefiles();
  ASSERT_FALSE(makefiles.empty());
  const std::string m = mark();
  const fs::path here = temp_dir("hostile");
  std::vector<fs::path> targets = {fs::path("/tmp") / ("racerig-hostile-" + m), cache_root() / ("racerig-hostile-" + m),
                                   here / ("racerig-hostile-" + m), cache_root() / "kernels" / ("racerig-hostile-" + m)};
  std::vector<std::string> lines;
  for (const auto& t : targets) lines.push_back("$(shell echo pwned > " + t.string() + ")");
  for (const auto& [file, text] : makefiles) lines.push_back("$(shell echo pwned >> " + file.string() + ")");
  lines.push_back("$(error racerig hostile patch " + m + " ran its commands)");
  const fs::path patch = here / "hostile.patch";
  std::ofstream(patch) << makefile_patch(lines);

  Ran r = run_cli("validate --patch " + patch.string() + " --runs 1");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("racerig hostile patch " + m + " ran its commands"), std::string::npos)
      << "the Makefile ran, and the build's outcome is reported: " << r.output;
  for (const auto& t : targets) EXPECT_FALSE(fs::exists(t)) << t << " was written";
  for (const auto& [file, text] : makefiles) EXPECT_EQ(read_text(file), text) << file << " was changed";
  for (const Trusted& before : {fixed, buggy}) {
    const Trusted after = trusted_kernel(before.variant);
    EXPECT_EQ(after.build_id, before.build_id) << before.variant;
    EXPECT_TRUE(after.bzimage == before.bzimage) << before.variant << "'s bzImage changed";
    EXPECT_TRUE(after.vmlinux == before.vmlinux) << before.variant << "'s vmlinux changed";
  }
  // The candidate's tree is gone.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache_root() / "candidates", ec))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << "left behind: " << e.path();
  fs::remove_all(here);
}

TEST(Isolation, ABuildThatNeverEndsIsStoppedAtTheTimeLimit) {
  const std::string m = std::to_string(86000 + ::getpid() % 400) + "." + std::to_string(::time(nullptr) % 100000);
  const fs::path here = temp_dir("endless");
  const fs::path patch = here / "endless.patch";
  std::ofstream(patch) << makefile_patch({"$(shell sleep " + m + ")"});
  Ran r = run_cli("validate --patch " + patch.string() + " --runs 1", "RACERIG_BUILD_TIME_LIMIT=20");
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("ERROR"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("time limit of 20 s"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted";
  EXPECT_TRUE(processes_naming("sleep " + m).empty()) << "the build's sleep is still running";
  fs::remove_all(here);
}

// Starts `reproduce` with TMPDIR=tmp; *run_dir is QEMU's run dir once it
// (with the gdbstub socket) exists (bounded: 120 s), else empty.
std::unique_ptr<Background> start_run(const fs::path& tmp, fs::path* run_dir) {
  auto racerig = std::make_unique<Background>(
      std::vector<std::string>{"reproduce", "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel", "fixed", "--runs",
                               "20"},
      std::vector<std::string>{"TMPDIR=" + tmp.string()});
  racerig->read_until(
      [&](const std::string&) {
        for (const auto& e : fs::directory_iterator(tmp))
          if (e.path().filename().string().rfind("racerig-run-", 0) == 0 && fs::exists(e.path() / "gdb.sock")) {
            *run_dir = e.path();
            return true;
          }
        return false;
      },
      std::chrono::seconds(120));
  return racerig;
}

TEST(Isolation, QemuRunsUnprivilegedWithItsSeccompFilterOn) {
  const fs::path tmp = temp_dir("seccomp");
  fs::path run_dir;
  auto racerig = start_run(tmp, &run_dir);
  ASSERT_FALSE(run_dir.empty()) << "no run directory appeared:\n" << racerig->output();
  // QEMU made gdb.sock, so it runs; rechecked as it writes its run dir.
  std::vector<int> qemus;
  wait_for_in_dir(
      run_dir,
      [&] {
        for (int q : processes_naming(run_dir.string() + "/"))
          if (read_text("/proc/" + std::to_string(q) + "/comm").rfind("qemu-system", 0) == 0) qemus.push_back(q);
        return !qemus.empty();
      },
      std::chrono::seconds(10));
  ASSERT_FALSE(qemus.empty()) << "no QEMU names " << run_dir;
  for (int q : qemus) {
    std::istringstream uids(status_field(q, "Uid"));
    int real = -1, effective = -1;
    uids >> real >> effective;
    EXPECT_NE(real, 0);
    EXPECT_NE(effective, 0);
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("racerig");
      ASSERT_NE(pw, nullptr);
      EXPECT_EQ(effective, static_cast<int>(pw->pw_uid)) << "runs as the racerig user";
    }
    std::string seccomp = status_field(q, "Seccomp");
    EXPECT_EQ(seccomp.substr(seccomp.find_first_not_of(" \t")), "2") << "seccomp filter mode";
    EXPECT_EQ(status_field(q, "NoNewPrivs").find('1') != std::string::npos, true);
  }
  racerig->signal(SIGINT);
  racerig->finish(std::chrono::minutes(5));
  EXPECT_TRUE(WIFEXITED(racerig->status())) << racerig->output();
  fs::remove_all(tmp);
}

TEST(Isolation, AfterKill9TheNextInvocationLeavesNoQemuAndNoRunDir) {
  const fs::path tmp = temp_dir("kill9");
  fs::path run_dir;
  auto racerig = start_run(tmp, &run_dir);
  ASSERT_FALSE(run_dir.empty()) << "no run directory appeared:\n" << racerig->output();
  racerig->signal(SIGKILL);
  racerig->finish(std::chrono::minutes(1));
  EXPECT_TRUE(fs::exists(run_dir)) << "a SIGKILLed racerig cannot clean up itself";
  Ran next = run_cli("kernel list", "TMPDIR='" + tmp.string() + "'");
  EXPECT_EQ(next.exit_code, 0) << next.output;
  EXPECT_FALSE(fs::exists(run_dir)) << run_dir << " is still there";
  EXPECT_TRUE(processes_naming(run_dir.string()).empty()) << "a process (QEMU) still names " << run_dir;
  fs::remove_all(tmp);
}

// Ctrl-C while make runs: exit 3 within 10 s, no make or cc1 left in the
// tree, and the next build of that variant succeeds; a build whose stderr is
// not a terminal prints progress lines with an ETA.
TEST(Build, CtrlCStopsAKernelBuildAndTheNextBuildSucceeds) {
  // A variant of our own (buggy + a comment in a header every XFS file
  // includes, unique per run): it is never cached, and it compiles for
  // minutes.
  const fs::path root = temp_dir("ctrlc-root");
  fs::copy(fs::path(RACERIG_SOURCE_DIR) / "kernels", root / "kernels", fs::copy_options::recursive);
  const std::string m = mark();
  std::string trusted_header;
  for (const auto& e : fs::directory_iterator(cache_root() / "trees"))
    if (fs::exists(e.path() / ".ready")) trusted_header = read_text(e.path() / "src/fs/xfs/xfs_linux.h");
  std::istringstream in(trusted_header);
  std::vector<std::string> context(3);
  for (auto& c : context) std::getline(in, c);
  std::ofstream(root / "kernels/patches/ctrlc.patch")
      << "--- a/fs/xfs/xfs_linux.h\n+++ b/fs/xfs/xfs_linux.h\n@@ -1,3 +1,4 @@\n+/* racerig ctrl-c test " << m << " */\n"
      << " " << context[0] << "\n " << context[1] << "\n " << context[2] << "\n";
  std::ofstream(root / "kernels/variants.textproto", std::ios::app)
      << "variant { name: \"ctrlc-test\" base: \"6.1\" patches: \"patches/0001-xfs-switch-S_DAX-on-the-live-inode-when-FS_XFLAG_DAX.patch\" "
         "patches: \"patches/ctrlc.patch\" }\n";

  Background build({"kernel", "build", "ctrlc-test"}, {"RACERIG_ROOT=" + root.string()});
  ASSERT_TRUE(build.started());
  // Until make has been running for a few seconds (bounded: 10 min to get
  // there, the cached tree's copy and configuration included).
  ASSERT_TRUE(build.read_until_text("make bzImage", std::chrono::minutes(10))) << build.output();
  build.read_until([](const std::string&) { return false; }, std::chrono::seconds(5));
  ASSERT_FALSE(build.exited()) << build.output();
  build.signal(SIGINT);
  EXPECT_TRUE(build.finish(std::chrono::seconds(10))) << "racerig did not exit within 10 s of Ctrl-C";
  const std::string& output = build.output();
  const int status = build.status();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << output;
  EXPECT_NE(output.find("interrupted"), std::string::npos) << output;
  // No make or compiler is left working in the tree.
  const std::string trees = (cache_root() / "trees").string();
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    const std::string cwd = fs::read_symlink(e.path() / "cwd", ec).string();
    if (ec || cwd.rfind(trees, 0) != 0) continue;
    std::string comm = read_text(e.path() / "comm");
    ADD_FAILURE() << "process " << name << " (" << comm.substr(0, comm.size() - 1) << ") still runs in " << cwd;
  }

  Ran again = run_cli("kernel build ctrlc-test", "RACERIG_ROOT='" + root.string() + "'");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("interrupted: deleted the"), std::string::npos)
      << "the interrupted build's files were deleted first: " << again.output;
  EXPECT_NE(again.output.find(" elapsed, ETA "), std::string::npos) << "progress lines: " << again.output;
  Ran path = run_cli("kernel path ctrlc-test", "RACERIG_ROOT='" + root.string() + "'");
  if (path.exit_code == 0) fs::remove_all(path.output.substr(0, path.output.find('\n')));  // a one-off
  fs::remove_all(root);
}

}  // namespace
