// The shared option helpers: counts are whole numbers in range, and a bad
// one is a usage error naming the option and the value.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "host/cli_util.h"
#include "rig/run/run.h"

namespace racerig::host {
namespace {

// Parses `--runs VALUE` into a fresh app; returns the error text or "".
std::string parse_runs(const std::string& value, int* runs) {
  CLI::App app("test", "test");
  add_count_option(app, "--runs", *runs, "how many");
  try {
    app.parse(std::vector<std::string>{value, "--runs"});  // CLI11 takes them last first
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(CliUtilTest, CountOptionsTakeANumberFromOneTo100000) {
  int runs = 7;
  EXPECT_EQ(parse_runs("100000", &runs), "");
  EXPECT_EQ(runs, 100000);
  EXPECT_EQ(parse_runs("1", &runs), "");
  EXPECT_EQ(runs, 1);
}

TEST(CliUtilTest, ABadCountNamesTheOptionAndTheValue) {
  for (const char* bad : {"0", "-1", "", "3x", "x", "100001", "99999999999999999999"}) {
    int runs = 7;
    std::string error = parse_runs(bad, &runs);
    EXPECT_NE(error.find("--runs"), std::string::npos) << bad << ": " << error;
    EXPECT_NE(error.find("wants a number from 1 to 100000, got \"" + std::string(bad) + "\""), std::string::npos)
        << error;
    EXPECT_EQ(runs, 7) << "left unchanged";
  }
}

TEST(CliUtilTest, JsonTakesDashForStdout) {
  CLI::App app("test", "test");
  std::string json;
  add_json_option(app, json, "the report");
  app.parse(std::vector<std::string>{"-", "--json"});
  EXPECT_EQ(json, "-");
}

// --backend/--libvirt-uri/--restore land in the RunOptions a job gets (the
// CLI's and racerigd's); a bad value is kInput naming the option.
TEST(CliUtilTest, VmArgsSetTheBackendAndRestoreOfTheRuns) {
  run::RunOptions options;
  ASSERT_TRUE(apply_vm_args(BackendArgs{}, "auto", options).ok());
  EXPECT_EQ(options.backend, machine::Backend::kQemu);
  EXPECT_EQ(options.restore, run::RunOptions::Restore::kAuto);

  options = {};
  ASSERT_TRUE(apply_vm_args(BackendArgs{"libvirt", ""}, "loadvm", options).ok());
  EXPECT_EQ(options.backend, machine::Backend::kLibvirt);
  EXPECT_TRUE(options.libvirt_uri.empty());
  EXPECT_EQ(options.restore, run::RunOptions::Restore::kLoadvm);

  options = {};
  ASSERT_TRUE(apply_vm_args(BackendArgs{"", "qemu:///embed?root=/tmp/x"}, "incoming", options).ok());
  EXPECT_EQ(options.backend, machine::Backend::kLibvirt) << "--libvirt-uri implies libvirt";
  EXPECT_EQ(options.libvirt_uri, "qemu:///embed?root=/tmp/x");
  EXPECT_EQ(options.restore, run::RunOptions::Restore::kIncoming);

  struct Bad {
    BackendArgs backend;
    std::string restore, names;
  };
  for (const Bad& bad : {Bad{{"xen", ""}, "auto", "--backend xen"},
                         Bad{{"qemu", "qemu:///system"}, "auto", "--libvirt-uri"},
                         Bad{{}, "fast", "--restore: 'fast'"}}) {
    run::RunOptions o;
    Status s = apply_vm_args(bad.backend, bad.restore, o);
    ASSERT_FALSE(s.ok()) << bad.names;
    EXPECT_EQ(s.error().kind, ErrorKind::kInput);
    EXPECT_NE(s.error().message.find(bad.names), std::string::npos) << s.error().message;
  }
}

// With --server the daemon's own flags choose the backend and restore path:
// the client refuses them rather than ignore them.
TEST(CliUtilTest, VmArgsAreRefusedWithServer) {
  EXPECT_TRUE(check_no_vm_args_for_server(BackendArgs{}, "auto").ok());
  for (const auto& [backend, restore] : std::vector<std::pair<BackendArgs, std::string>>{
           {BackendArgs{"libvirt", ""}, "auto"},
           {BackendArgs{"", "qemu:///system"}, "auto"},
           {BackendArgs{}, "loadvm"}}) {
    Status s = check_no_vm_args_for_server(backend, restore);
    ASSERT_FALSE(s.ok()) << backend.backend << backend.libvirt_uri << restore;
    EXPECT_EQ(s.error().kind, ErrorKind::kInput);
    EXPECT_NE(s.error().message.find("not --server"), std::string::npos) << s.error().message;
  }
}

// Reads all of `fd` until EOF.
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(CliUtilTest, JsonToStdoutKeepsStdoutForTheJsonAlone) {
  int out[2], err[2];
  ASSERT_EQ(::pipe(out), 0);
  ASSERT_EQ(::pipe(err), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(err[0]);
    std::printf("a table before\n");  // buffered: flushed to stdout before the switch
    if (!reserve_stdout_for_json().ok()) ::_exit(10);
    std::printf("a table after\n");
    std::fflush(stdout);
    if (std::system("echo from a child process") != 0) ::_exit(11);
    pb::ReproduceReport r;
    r.set_scenario("s\xc3\xa9");
    if (!write_json(r, "-").ok()) ::_exit(12);
    ::_exit(0);
  }
  ::close(out[1]);
  ::close(err[1]);
  std::string stdout_text = drain(out[0]), stderr_text = drain(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(stdout_text.rfind("a table before\n{", 0), 0u) << stdout_text;
  EXPECT_EQ(stdout_text.find("after"), std::string::npos) << stdout_text;
  EXPECT_NE(stderr_text.find("a table after\nfrom a child process\n"), std::string::npos) << stderr_text;
  // Zero-valued fields are written: 0 reproduced is an answer.
  EXPECT_NE(stdout_text.find("\"reproduced\": 0"), std::string::npos) << stdout_text;
  EXPECT_NE(stdout_text.find("\"error\": \"\""), std::string::npos) << stdout_text;
  EXPECT_NE(stdout_text.find("s\xc3\xa9"), std::string::npos) << stdout_text;
}

}  // namespace
}  // namespace racerig::host
