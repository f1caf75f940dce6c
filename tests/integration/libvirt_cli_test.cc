// End-to-end through the libvirt backend: the racerig CLI with --backend
// libvirt against real kernels, QEMU started by libvirt's embedded driver
// (the default URI) as transient domains. The same verdicts as the direct
// backend; Ctrl-C and kill -9 leave no domain and no QEMU; a second libvirt
// "host" (another embedded root, through --libvirt-uri) gives the same
// verdict; and the same on a libvirt daemon (qemu:///system) that the tests
// start themselves.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "support.h"
#include "proto/racerig.pb.h"
#include "rig/base/unix_socket.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers

namespace fs = std::filesystem;

std::string default_uri() { return "qemu:///embed?root=" + cache_root() + "/libvirt"; }

// The racerig domains libvirt knows at `uri`, listed by virsh (an operator's
// view, independent of racerig's code). virsh opens the embedded root only
// while racerig does not hold it.
std::vector<std::string> domains_at(const std::string& uri) {
  Ran r = run_shell("virsh -q -c '" + uri + "' list --all --name");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> names;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("racerig-", 0) == 0) names.push_back(line);
  return names;
}

// QEMU processes started for racerig run dirs under `dir`.
int qemus_under(const fs::path& dir) {
  int n = 0;
  for (const auto& proc : fs::directory_iterator("/proc")) {
    std::ifstream cmdline(proc.path() / "cmdline", std::ios::binary);
    std::stringstream text;
    text << cmdline.rdbuf();
    if (text.str().find("qemu-system") != std::string::npos && text.str().find(dir.string() + "/racerig-run-") != std::string::npos)
      ++n;
  }
  return n;
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("racerig-lv-" + std::to_string(getpid()) + "-" + name)).string();
}

template <typename M>
M read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  M m;
  auto st = google::protobuf::util::JsonStringToMessage(text.str(), &m);
  EXPECT_TRUE(st.ok()) << st.message() << " in " << path;
  fs::remove(path);
  return m;
}

void expect_decoded_oops(const racerig::pb::RunReport& run) {
  EXPECT_EQ(run.verdict(), racerig::pb::REPRODUCED) << run.reason();
  EXPECT_TRUE(run.schedule_enforced()) << run.reason();
  EXPECT_NE(run.oops().headline().find("NULL pointer dereference"), std::string::npos);
  EXPECT_EQ(run.oops().rip().function(), "iomap_page_mkwrite");
  EXPECT_FALSE(run.oops().rip().file().empty()) << "RIP decoded to file:line";
  bool via_xfs = false;
  for (const auto& f : run.oops().trace()) via_xfs = via_xfs || f.function() == "__xfs_filemap_fault";
  EXPECT_TRUE(via_xfs) << "the call trace lacks __xfs_filemap_fault: " << run.reason() << "\n"
                       << run.oops().text() << "\nconsole:\n"
                       << run.console();
}

TEST(LibvirtBackend, BuggyReproducesOnEveryRunWithTheDecodedOops) {
  std::string json = temp_path("buggy.json");
  Ran r = run_cli("reproduce --backend libvirt --scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 10 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 10) << r.output;
  EXPECT_EQ(report.reproduced(), 10);
  for (const auto& run : report.runs()) {
    EXPECT_TRUE(run.from_snapshot());
    expect_decoded_oops(run);
  }
  // A cold run (a domain per run) too.
  json = temp_path("buggy-cold.json");
  r = run_cli("reproduce --backend libvirt --cold --scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  expect_decoded_oops(report.runs(0));
  EXPECT_TRUE(domains_at(default_uri()).empty());
}

TEST(LibvirtBackend, FixedIsNotReproducedWithTheScheduleEnforced) {
  std::string json = temp_path("fixed.json");
  Ran r = run_cli("reproduce --backend libvirt --scenario xfs-dax-flip-vs-write-fault --kernel fixed --runs 2 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 2) << r.output;
  for (const auto& run : report.runs()) {
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason();
    EXPECT_TRUE(run.schedule_enforced());
  }
  EXPECT_TRUE(domains_at(default_uri()).empty());
}

TEST(LibvirtBackend, ValidateGivesFixedAndNotFixed) {
  std::string json = temp_path("upstream.json");
  Ran r = run_cli("validate --no-explore --backend libvirt --patch " + candidate("upstream-defer-dax-change-to-eviction.patch") +
                  " --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto fixed = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(fixed.scenarios_size(), 1) << r.output;
  EXPECT_EQ(fixed.scenarios(0).result(), racerig::pb::FIXED) << fixed.scenarios(0).reason();

  json = temp_path("naive.json");
  r = run_cli("validate --no-explore --backend libvirt --patch " + candidate("naive-lock-is-dax-under-mmaplock.patch") +
              " --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  auto naive = read_json<racerig::pb::ValidateReport>(json);
  ASSERT_EQ(naive.scenarios_size(), 1) << r.output;
  EXPECT_EQ(naive.scenarios(0).result(), racerig::pb::NOT_FIXED) << naive.scenarios(0).reason();
  ASSERT_GT(naive.scenarios(0).patched().runs_size(), 0);
  EXPECT_EQ(naive.scenarios(0).patched().runs(0).oops().rip().function(), "iomap_page_mkwrite");
  EXPECT_TRUE(domains_at(default_uri()).empty());
}

TEST(LibvirtBackend, ASecondHostThroughAnotherUriGivesTheSameVerdict) {
  // Another embedded root: another libvirt "host" with its own domains
  // (kept in the cache so its QEMU capability probe is made once).
  const std::string uri = "qemu:///embed?root=" + cache_root() + "/libvirt-second-host";
  std::string json = temp_path("second.json");
  Ran r = run_cli("reproduce --libvirt-uri '" + uri +
                  "' --scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  expect_decoded_oops(report.runs(0));
  EXPECT_TRUE(domains_at(uri).empty());
  EXPECT_TRUE(fs::exists(cache_root() + "/libvirt-second-host/etc/qemu.conf"));
}

// Whether a racerig run dir (with its gdbstub socket) exists under `tmp`.
bool domain_runs_under(const fs::path& tmp) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec))
    if (e.path().filename().string().rfind("racerig-run-", 0) == 0 && fs::exists(e.path() / "gdb.sock")) return true;
  return false;
}

TEST(LibvirtBackend, CtrlCLeavesNoDomainNoQemuNoRunDir) {
  const fs::path tmp = temp_path("ctrlc");
  fs::create_directories(tmp);
  Background racerig({"reproduce", "--backend", "libvirt", "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel",
                      "fixed", "--cold", "--runs", "20"},
                     {"TMPDIR=" + tmp.string()});
  ASSERT_TRUE(racerig.started());
  // Bounded: 300 s (a libvirt start can be slow under load).
  EXPECT_TRUE(racerig.read_until([&](const std::string&) { return domain_runs_under(tmp); }, std::chrono::seconds(300)))
      << "no domain started:\n"
      << racerig.output();
  racerig.signal(SIGINT);
  racerig.finish(std::chrono::minutes(5));
  const std::string& output = racerig.output();
  const int status = racerig.status();
  EXPECT_TRUE(WIFEXITED(status)) << output;
  if (WIFEXITED(status)) {
    EXPECT_EQ(WEXITSTATUS(status), 3) << output;
  }
  EXPECT_NE(output.find("interrupted"), std::string::npos) << output;
  EXPECT_TRUE(domains_at(default_uri()).empty());
  EXPECT_EQ(qemus_under(tmp), 0);
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmp)) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  fs::remove_all(tmp);
}

// kill -9 while a domain surely stays up: --attach keeps the VM stopped
// after REPRODUCED, waiting for a human (a VM killed at another moment may
// power off by itself: its agent port closed). `uri`: where the domain runs.
void kill9_then_the_next_racerig_destroys_the_domain(const std::string& uri) {
  const fs::path tmp = temp_path("kill9");
  fs::create_directories(tmp);
  Background racerig({"reproduce", "--backend", "libvirt", "--libvirt-uri", uri, "--scenario",
                      "xfs-dax-flip-vs-write-fault", "--kernel", "buggy", "--attach"},
                     {"TMPDIR=" + tmp.string()});
  ASSERT_TRUE(racerig.started());
  // Until racerig says the VM waits for gdb (bounded: 300 s).
  ASSERT_TRUE(racerig.read_until_text("attach: the VM is stopped", std::chrono::seconds(300))) << racerig.output();
  const pid_t pid = racerig.pid();
  racerig.signal(SIGKILL);
  racerig.finish(std::chrono::minutes(1));
  const std::string& output = racerig.output();
  // libvirt's QEMU is not racerig's child: it outlives a killed racerig...
  EXPECT_EQ(domains_at(uri).size(), 1u) << output;
  EXPECT_EQ(qemus_under(tmp), 1);
  // ...until the next racerig on that URI sweeps it.
  Ran next = run_cli("doctor --libvirt-uri '" + uri + "'");
  EXPECT_NE(next.output.find("swept 1 domain(s)"), std::string::npos) << next.output;
  EXPECT_TRUE(domains_at(uri).empty());
  EXPECT_EQ(qemus_under(tmp), 0);
  // Its run record (which outlives a domain that ended by itself) is gone too.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(cache_root() + "/libvirt-runs", ec))
    EXPECT_NE(e.path().filename().string().rfind("racerig-" + std::to_string(pid) + "-", 0), 0u) << e.path();
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmp)) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << "left behind: " << left.front();
  fs::remove_all(tmp);
}

TEST(LibvirtBackend, AfterKill9TheNextRacerigDestroysTheDomain) {
  kill9_then_the_next_racerig_destroys_the_domain(default_uri());
}

// Whether something accepts connections on the UNIX socket `path`.
bool answers(const fs::path& path) {
  auto addr = racerig::unix_address(path.string());
  if (!addr.ok()) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
  ::close(fd);
  return ok;
}

// A daemon the tests start and stop: it dies with the test process
// (PR_SET_PDEATHSIG), its output goes to `log`.
struct Daemon {
  pid_t pid = -1;
  std::string name;

  void start(const std::string& program, const fs::path& log) {
    name = program;
    pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      int fd = ::open(log.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execlp(program.c_str(), program.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  // SIGTERM, then SIGKILL after 30 s.
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int status = 0;
    if (!wait_child_exit(pid, std::chrono::seconds(30), &status)) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    pid = -1;
  }
};

// The same runs on a libvirt daemon (qemu:///system, as an operator's hosts
// run it): libvirtd, and virtlogd for Debian's default stdio_handler "logd",
// are started here unless they already run, and stopped at the end. The
// client talks to the daemon through libvirt's remote protocol (over its
// UNIX socket), as it would over SSH or TLS to another host.
class LibvirtDaemon : public ::testing::Test {
 protected:
  static constexpr char kUri[] = "qemu:///system";

  static void SetUpTestSuite() {
    logs_ = fs::temp_directory_path() / ("racerig-lv-" + std::to_string(::getpid()) + "-daemons");
    fs::create_directories(logs_);
    if (!answers("/run/libvirt/virtlogd-sock")) virtlogd_.start("virtlogd", logs_ / "virtlogd.log");
    if (!answers("/run/libvirt/libvirt-sock")) libvirtd_.start("libvirtd", logs_ / "libvirtd.log");
    // Bounded: 120 s for both sockets to answer. A poll of the state with a
    // deadline: a daemon binds its socket (an inotify event) before it
    // listens (none), so no event says that it answers.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!(answers("/run/libvirt/virtlogd-sock") && answers("/run/libvirt/libvirt-sock")) &&
           std::chrono::steady_clock::now() < end)
      ::poll(nullptr, 0, 100);
  }
  static void TearDownTestSuite() {
    libvirtd_.stop();
    virtlogd_.stop();
    std::error_code ec;
    fs::remove_all(logs_, ec);
  }
  void SetUp() override {
    ASSERT_TRUE(answers("/run/libvirt/libvirt-sock") && answers("/run/libvirt/virtlogd-sock"))
        << "libvirtd or virtlogd did not start:\n"
        << read_text(logs_ / "libvirtd.log") << read_text(logs_ / "virtlogd.log");
  }

  static inline Daemon libvirtd_, virtlogd_;
  static inline fs::path logs_;
};

TEST_F(LibvirtDaemon, SystemUriGivesTheSameVerdictsAndLeavesNoDomain) {
  std::string json = temp_path("system-buggy.json");
  Ran r = run_cli(std::string("reproduce --backend libvirt --libvirt-uri ") + kUri +
                  " --scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 3 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 3) << r.output;
  for (const auto& run : report.runs()) expect_decoded_oops(run);

  json = temp_path("system-fixed.json");
  r = run_cli(std::string("reproduce --backend libvirt --libvirt-uri ") + kUri +
              " --scenario xfs-dax-flip-vs-write-fault --kernel fixed --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  report = read_json<racerig::pb::ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  EXPECT_EQ(report.runs(0).verdict(), racerig::pb::NOT_REPRODUCED) << report.runs(0).reason();
  EXPECT_TRUE(report.runs(0).schedule_enforced());
  EXPECT_TRUE(domains_at(kUri).empty());
}

TEST_F(LibvirtDaemon, AfterKill9TheNextRacerigOnTheUriDestroysTheDomain) {
  kill9_then_the_next_racerig_destroys_the_domain(kUri);
}

}  // namespace
