// End-to-end: a real racerigd on a temporary socket, driven by racerig's
// own client (racerig validate --server ...) and by a client racerig did
// not write (Python, python3-grpcio, stubs generated from proto/ at test
// time), against real kernels under QEMU. Kill -9 and restart included.
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "daemon.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers

namespace fs = std::filesystem;

// Counts the occurrences of `what` in `text`.
int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

const std::string kUpstream = "upstream-defer-dax-change-to-eviction.patch";
const std::string kNaive = "naive-lock-is-dax-under-mmaplock.patch";

TEST(Racerigd, BothCandidatesThroughTheCppClientGiveTheLocalResults) {
  Daemon d("cpp");
  ASSERT_TRUE(d.start()) << d.log();
  const std::string json = (d.dir() / "fixed.json").string();
  Ran fixed = d.cli("validate", "--no-explore --patch " + candidate(kUpstream) + " --runs 1 --json " + json);
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output << d.log();
  EXPECT_NE(fixed.output.find("FIXED"), std::string::npos) << fixed.output;
  EXPECT_NE(fixed.output.find("(control)"), std::string::npos) << "each run's verdict streamed: " << fixed.output;
  EXPECT_NE(read_text(json).find("\"FIXED\""), std::string::npos);
  Ran naive = d.cli("validate", "--no-explore --patch " + candidate(kNaive) + " --runs 1");
  EXPECT_EQ(naive.exit_code, 1) << naive.output << d.log();
  EXPECT_NE(naive.output.find("NOT_FIXED"), std::string::npos) << naive.output;
  Ran jobs = d.cli("jobs", "");
  EXPECT_EQ(jobs.exit_code, 0) << jobs.output;
  EXPECT_NE(jobs.output.find("SUCCEEDED"), std::string::npos) << jobs.output;
  EXPECT_NE(jobs.output.find(" ci "), std::string::npos) << "the submitter is recorded: " << jobs.output;
}

// Issue 21: racerigd runs stress jobs too. `racerig stress --server` prints
// what a local stress prints, exits as it would, and the job is stored,
// listed and fetched like the other kinds.
TEST(Racerigd, AStressJobThroughTheCppClient) {
  Daemon d("stress");
  ASSERT_TRUE(d.start()) << d.log();
  const std::string json = (d.dir() / "stress.json").string();
  Ran r = d.cli("stress", "--kernel buggy --duration 5 --runs 1 --seed 11 --json " + json);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << "hit or missed the oops, no error: " << r.output << d.log();
  EXPECT_NE(r.output.find("run 1: fsx seed 11, 5 s"), std::string::npos) << "the job's notes streamed: " << r.output;
  EXPECT_NE(r.output.find("  seed 11: "), std::string::npos) << "each run's line streamed: " << r.output;
  EXPECT_NE(r.output.find("stress on buggy: " + std::to_string(1 - r.exit_code) + "/1 runs hit"), std::string::npos)
      << r.output;
  const std::string report = read_text(json);
  EXPECT_NE(report.find("\"scenario\": \"stress-fsx-vs-dax-flip\""), std::string::npos) << report.substr(0, 2000);
  EXPECT_NE(report.find("\"seed\": \"11\""), std::string::npos) << report.substr(0, 2000);
  EXPECT_EQ(count_of(report, "\"verdict\": \"REPRODUCED\""), r.exit_code == 0 ? 1 : 0) << report.substr(0, 2000);
  EXPECT_NE(report.find("\"qemu_version\": \"QEMU emulator version"), std::string::npos) << report.substr(0, 2000);

  const std::string fetched_json = (d.dir() / "fetched.json").string();
  Ran job = d.cli("job", "1 --json " + fetched_json);
  EXPECT_EQ(job.exit_code, 0) << job.output;
  EXPECT_NE(job.output.find("stress stress-fsx-vs-dax-flip on buggy"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("state SUCCEEDED"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("exit code " + std::to_string(r.exit_code)), std::string::npos) << job.output;
  EXPECT_NE(read_text(fetched_json).find("\"seed\": \"11\""), std::string::npos) << read_text(fetched_json);
  Ran jobs = d.cli("jobs", "");
  EXPECT_NE(jobs.output.find("stress stress-fsx-vs-dax-flip on buggy"), std::string::npos) << jobs.output;
}

// A job that fails before its runs (validate refuses a scenario without a
// schedule): exit 2 with the reason, and the server's report carries the
// error and the versions, as a local run's does.
TEST(Racerigd, AnEarlyFailureStillGivesTheReportWithTheErrorAndVersions) {
  Daemon d("early");
  ASSERT_TRUE(d.start()) << d.log();
  const std::string json = (d.dir() / "unscheduled.json").string();
  Ran r = d.cli("validate", "--patch " + candidate(kUpstream) + " --scenario " + std::string(RACERIG_SOURCE_DIR) +
                                "/scenarios/stress/stress-fsx-vs-dax-flip.textproto --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 2) << r.output << d.log();
  EXPECT_NE(r.output.find("has no schedule"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("booting"), std::string::npos) << "nothing booted: " << r.output;
  const std::string report = read_text(json);
  EXPECT_NE(report.find("has no schedule"), std::string::npos) << report;
  EXPECT_NE(report.find("\"qemu_version\": \"QEMU emulator version"), std::string::npos) << report;
  EXPECT_NE(report.find("\"racerig_version\": \""), std::string::npos) << report;
}

TEST(Racerigd, BothCandidatesThroughAPythonClient) {
  Daemon d("python");
  ASSERT_TRUE(d.start()) << d.log();
  Ran fixed = d.python("validate " + candidate(kUpstream) + " FIXED");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.output << d.log();
  Ran naive = d.python("validate " + candidate(kNaive) + " NOT_FIXED");
  EXPECT_EQ(naive.exit_code, 0) << naive.output << d.log();
}

TEST(Racerigd, KillDashNineDuringAValidateThenRestartFinishesTheJobOnce) {
  Daemon d("kill9");
  ASSERT_TRUE(d.start()) << d.log();
  // The client follows the job in the background while the daemon dies.
  const fs::path out = d.dir() / "client.out";
  const std::string cmd = "RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN +
                          " validate --server unix:" + d.socket() + " --token-file " + (d.dir() / "token").string() +
                          " --no-explore --patch " + candidate(kUpstream) + " --runs 2 --request-id kill9-test";
  pid_t client = start_shell_to(cmd, out);
  // Kill once the job is running its runs (the control's first verdict).
  const bool running = wait_for_in_dir(
      d.dir(), [&] { return read_text(out).find("(control)") != std::string::npos; }, std::chrono::seconds(300), client);
  ASSERT_TRUE(running) << read_text(out) << d.log();
  d.kill9();
  ASSERT_TRUE(d.start()) << d.log();
  int status = 0;
  ::waitpid(client, &status, 0);
  const std::string text = read_text(out);
  EXPECT_NE(text.find("exit 0"), std::string::npos) << "the client resumed and got FIXED: " << text << d.log();
  EXPECT_NE(text.find("FIXED"), std::string::npos) << text;

  Ran job = d.cli("job", "1");
  EXPECT_NE(job.output.find("SUCCEEDED"), std::string::npos) << job.output;
  EXPECT_NE(job.output.find("attempt 2"), std::string::npos) << job.output;
  Ran watch = d.cli("watch", "1");
  EXPECT_EQ(watch.exit_code, 0) << watch.output;
  size_t finished = 0, at = 0;
  while ((at = watch.output.find("finished:", at)) != std::string::npos) ++finished, ++at;
  EXPECT_EQ(finished, 1u) << "done once: " << watch.output;
  EXPECT_NE(watch.output.find("requeued for attempt 2"), std::string::npos) << watch.output;
  // The same request id again: the same job, not a second run.
  Ran again = d.cli("validate", "--no-explore --patch " + candidate(kUpstream) + " --runs 2 --request-id kill9-test");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  Ran jobs = d.cli("jobs", "");
  EXPECT_EQ(jobs.output.find("\n2 "), std::string::npos) << "no second job: " << jobs.output;
}

TEST(Racerigd, CtrlCOnTheClientCancelsTheJobOnTheServer) {
  Daemon d("ctrlc");
  ASSERT_TRUE(d.start()) << d.log();
  const fs::path out = d.dir() / "client.out";
  pid_t client = ::fork();
  if (client == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::setenv("RACERIG_ROOT", RACERIG_SOURCE_DIR, 1);
    const std::string server = "unix:" + d.socket(), token = (d.dir() / "token").string();
    ::execl(RACERIG_BIN, RACERIG_BIN, "reproduce", "--server", server.c_str(), "--token-file", token.c_str(),
            "--scenario", "xfs-dax-flip-vs-write-fault", "--kernel", "buggy", "--runs", "20",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ctrl-C once the first run's verdict arrived.
  const bool ran = wait_for_in_dir(
      d.dir(), [&] { return read_text(out).find("REPRODUCED") != std::string::npos; }, std::chrono::seconds(300), client);
  ASSERT_TRUE(ran) << read_text(out) << d.log();
  ::kill(client, SIGINT);
  int status = 0;
  ::waitpid(client, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << read_text(out);
  Ran job = d.cli("job", "1");
  EXPECT_NE(job.output.find("CANCELLED"), std::string::npos) << job.output;
  EXPECT_NE(read_text(out).find("interrupted"), std::string::npos) << read_text(out);
}

TEST(Racerigd, NoTokenOrAWrongOneIsUnauthenticated) {
  Daemon d("auth");
  ASSERT_TRUE(d.start()) << d.log();
  Ran py = d.python("unauthenticated");
  EXPECT_EQ(py.exit_code, 0) << py.output;
  Ran wrong = d.cli("jobs", "", "wrong-token");
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("UNAUTHENTICATED"), std::string::npos) << wrong.output;
}

TEST(Racerigd, AFullQueueIsResourceExhaustedAndNoAcceptedJobIsLost) {
  Daemon d("queue");
  ASSERT_TRUE(d.start({"--workers", "1", "--max-queued", "1"})) << d.log();
  Ran py = d.python("queue 4");
  EXPECT_EQ(py.exit_code, 0) << py.output << d.log();
}

TEST(Racerigd, MalformedRequestsAreInvalidArgumentNamingTheField) {
  Daemon d("malformed");
  ASSERT_TRUE(d.start()) << d.log();
  Ran py = d.python("malformed");
  EXPECT_EQ(py.exit_code, 0) << py.output;
}

TEST(Racerigd, ReflectionListsTheServiceAndHealthIsServing) {
  Daemon d("health");
  ASSERT_TRUE(d.start()) << d.log();
  Ran py = d.python("health");
  EXPECT_EQ(py.exit_code, 0) << py.output;
}

TEST(Racerigd, TcpWithTlsAndTokens) {
  Daemon d("tls");
  const std::string cert = (d.dir() / "cert.pem").string(), key = (d.dir() / "key.pem").string();
  Ran made = run_shell("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                       " -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ASSERT_TRUE(d.start({"--listen", "localhost:0", "--tls-cert", cert, "--tls-key", key})) << d.log();
  const std::string log = d.log();
  const size_t at = log.find("(port ");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string server = "localhost:" + std::to_string(std::stoi(log.substr(at + 6)));
  const std::string base = "RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN + " jobs --server " +
                           server + " --token-file " + (d.dir() / "token").string();
  Ran tls = run_shell(base + " --tls-ca " + cert);
  EXPECT_EQ(tls.exit_code, 0) << tls.output;
  Ran plain = run_shell(base);
  EXPECT_EQ(plain.exit_code, 2) << "the client keeps the token off a plaintext channel: " << plain.output;
  EXPECT_NE(plain.output.find("--insecure-plaintext"), std::string::npos) << plain.output;
  Ran insecure = run_shell(base + " --insecure-plaintext");
  EXPECT_NE(insecure.exit_code, 0) << "a plaintext client gets nowhere: " << insecure.output;
  Ran wrong = run_shell("RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN + " jobs --server " +
                        server + " --tls-ca " + cert + " --token-file " + (d.dir() / "wrong-token").string());
  EXPECT_EQ(wrong.exit_code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("UNAUTHENTICATED"), std::string::npos) << wrong.output;
}

// Issue 24: mutual TLS through the real binaries (no VM): a client
// certificate from --tls-client-ca is its CN's identity, an unlisted CN is
// PERMISSION_DENIED, no certificate (and no token) UNAUTHENTICATED; and the
// socket is its user's alone by default (0600).
TEST(Racerigd, MutualTlsTakesTheCertificatesCnAsTheCaller) {
  Daemon d("mtls");
  const std::string dir = d.dir().string() + "/";
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
  std::ofstream(dir + "server.ext") << "subjectAltName=DNS:localhost\n";
  std::string script = "set -e; cd " + dir + "; openssl req -x509" + ec +
                       "-keyout ca.key -out ca.pem -days 1 -subj /CN=test-ca "
                       "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign\n";
  for (const std::string name : {"server", "alice", "mallory"})
    script += "openssl req" + ec + "-keyout " + name + ".key -out " + name + ".csr -subj /CN=" +
              (name == "server" ? "localhost" : name) + "\nopenssl x509 -req -in " + name +
              ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out " + name + ".pem" +
              (name == "server" ? " -extfile server.ext" : "") + "\n";
  Ran made = run_shell(script);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::ofstream(dir + "identities") << "alice\n";
  ASSERT_TRUE(d.start({"--listen", "localhost:0", "--tls-cert", dir + "server.pem", "--tls-key", dir + "server.key",
                       "--tls-client-ca", dir + "ca.pem", "--client-identities", dir + "identities"}))
      << d.log();
  EXPECT_NE(d.log().find("mutual TLS"), std::string::npos) << d.log();
  struct stat st {};
  ASSERT_EQ(::stat(d.socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  const size_t at = d.log().find("(port ");
  ASSERT_NE(at, std::string::npos) << d.log();
  const std::string server = "localhost:" + std::to_string(std::stoi(d.log().substr(at + 6)));
  const std::string base = "RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN +
                           " jobs --server " + server + " --tls-ca " + dir + "ca.pem";
  Ran alice = run_shell(base + " --tls-cert " + dir + "alice.pem --tls-key " + dir + "alice.key");
  EXPECT_EQ(alice.exit_code, 0) << alice.output;
  Ran mallory = run_shell(base + " --tls-cert " + dir + "mallory.pem --tls-key " + dir + "mallory.key");
  EXPECT_EQ(mallory.exit_code, 2) << mallory.output;
  EXPECT_NE(mallory.output.find("PERMISSION_DENIED"), std::string::npos) << mallory.output;
  EXPECT_NE(mallory.output.find("\"mallory\""), std::string::npos) << mallory.output;
  Ran nobody = run_shell(base);
  EXPECT_EQ(nobody.exit_code, 2) << nobody.output;
  EXPECT_NE(nobody.output.find("UNAUTHENTICATED"), std::string::npos) << nobody.output;
  EXPECT_NE(nobody.output.find("no client certificate"), std::string::npos) << nobody.output;
}

// Issue 24: tokens cross TCP in clear text only when both sides are told
// --insecure-plaintext.
TEST(Racerigd, TcpWithTokensButWithoutTlsIsRefusedUnlessInsecurePlaintext) {
  Daemon d("plaintext");
  ASSERT_FALSE(d.start({"--listen", "127.0.0.1:0"})) << d.log();
  EXPECT_NE(d.log().find("without --tls-cert"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("--insecure-plaintext"), std::string::npos) << d.log();
  ASSERT_TRUE(d.start({"--listen", "127.0.0.1:0", "--insecure-plaintext"})) << d.log();
  const std::string log = d.log();
  const size_t at = log.rfind("(port ");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string base = "RACERIG_ROOT='" + std::string(RACERIG_SOURCE_DIR) + "' " + RACERIG_BIN +
                           " jobs --server 127.0.0.1:" + std::to_string(std::stoi(log.substr(at + 6))) +
                           " --token-file " + (d.dir() / "token").string();
  Ran refused = run_shell(base);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("clear text"), std::string::npos) << refused.output;
  Ran told = run_shell(base + " --insecure-plaintext");
  EXPECT_EQ(told.exit_code, 0) << told.output << d.log();
}

// Issue 24: a tokens file that others can read is refused, saying why.
TEST(Racerigd, AWorldReadableTokensFileIsRefused) {
  Daemon d("tokensmode");
  fs::permissions(d.dir() / "tokens", fs::perms::others_read | fs::perms::group_read, fs::perm_options::add);
  ASSERT_FALSE(d.start()) << d.log();
  EXPECT_NE(d.log().find("mode 0644"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("chmod 600"), std::string::npos) << d.log();
}

// Issue 24: one state, one daemon. A second racerigd on the same --state
// exits naming the first; the first keeps its socket and serves on.
TEST(Racerigd, ASecondDaemonOnTheSameStateIsRefused) {
  Daemon d("twice");
  ASSERT_TRUE(d.start()) << d.log();
  const std::string other_socket = (d.dir() / "second.sock").string();
  // (timeout: a second daemon that wrongly started would serve forever)
  Ran second = run_shell("timeout 60 " + std::string(RACERIGD_BIN) + " --socket " + other_socket + " --state " +
                         (d.dir() / "state").string() + " --tokens " + (d.dir() / "tokens").string());
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find("already in use by racerigd pid "), std::string::npos) << second.output;
  EXPECT_FALSE(fs::exists(other_socket)) << "the second one never served";
  EXPECT_TRUE(fs::exists(d.socket())) << "the first one's socket is left alone";
  Ran jobs = d.cli("jobs", "");
  EXPECT_EQ(jobs.exit_code, 0) << "the first one still serves: " << jobs.output << d.log();
  struct stat st {};
  ASSERT_EQ(::stat((d.dir() / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u) << "the state is private";
  ASSERT_EQ(::stat((d.dir() / "state" / "racerigd.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the job database is private";
}

// Issue 24 (confidentiality): a build sees only what a kernel build needs.
// alice validates a candidate carrying a marker; then mallory's patch makes
// its build search every file it can see for that marker, for tokens and
// for the job database, print what it finds into its build errors and
// progress lines, and fail. Nothing mallory can get back holds the marker
// or a token; and the search did run (its sentinels and the canary it
// wrote to its own /tmp and found again are in its output).
// The daemon's directory (alice's patch file, every token file, the state)
// is outside /tmp, which every sandbox hides anyway: under /var/tmp, in
// plain sight of a build that could see the host's /var.
TEST(Racerigd, AHostileBuildFindsNoOtherSubmittersPatchNorAnyToken) {
  Daemon d("confidential", "/var/tmp");
  fs::permissions(d.dir(), fs::perms::others_read | fs::perms::others_exec | fs::perms::group_read |
                               fs::perms::group_exec, fs::perm_options::add);
  const std::string alice_token = "alice-5d0c1a7e93b2f64e", mallory_token = "mallory-e4b1c0de77a2f9d3";
  const std::string ci_token = "0123456789abcdef-integration";
  d.add_submitter("alice", alice_token);
  d.add_submitter("mallory", mallory_token);
  ASSERT_TRUE(d.start()) << d.log();

  // alice: the upstream candidate with the marker in its message and in a
  // comment it adds to the source (so it is in her tree while it builds).
  const std::string marker = "ALICE-EMBARGO-7f3a91c2";
  std::string patch = read_text(candidate(kUpstream));
  const std::string hunk = "@@ -1179,49 +1179,25 @@ xfs_ioctl_setattr_xflags(\n";
  const size_t at = patch.find(hunk);
  ASSERT_NE(at, std::string::npos) << "the shipped candidate changed: update this test";
  patch.replace(at, hunk.size(), "@@ -1179,49 +1179,26 @@ xfs_ioctl_setattr_xflags(\n+/* " + marker + " */\n");
  patch.insert(patch.find("\n---\n"), "\n\nEmbargoed: " + marker + "\n");
  const fs::path alice_patch = d.dir() / "alice-defer-dax.patch";
  std::ofstream(alice_patch) << patch;
  Ran alice = d.cli("validate", "--no-explore --runs 1 --patch " + alice_patch.string(), "alice-token");
  ASSERT_EQ(alice.exit_code, 0) << alice.output << d.log();
  EXPECT_NE(alice.output.find("FIXED"), std::string::npos) << alice.output;

  // mallory.
  const std::string hostile = std::string(RACERIG_SOURCE_DIR) + "/tests/integration/data/searches-the-host.patch";
  const std::string json = (d.dir() / "mallory.json").string();
  Ran mallory = d.cli("validate", "--no-explore --runs 1 --patch " + hostile + " --json " + json, "mallory-token");
  EXPECT_EQ(mallory.exit_code, 5) << "a build error: " << mallory.output << d.log();
  // The search ran, saw the file system, and its findings came back.
  EXPECT_NE(mallory.output.find("RACERIG-SEARCH-RAN"), std::string::npos) << mallory.output;
  EXPECT_NE(mallory.output.find("RACERIG-SEARCH-DONE"), std::string::npos) << mallory.output;
  EXPECT_NE(mallory.output.find("FOUND /tmp/racerig-canary:MALLORY-CANARY-5e11"), std::string::npos)
      << "the search finds and prints what it can read: " << mallory.output;
  // What it could list at the root: no home, state or service directory.
  const size_t holds = mallory.output.find("/ holds: ");
  ASSERT_NE(holds, std::string::npos) << mallory.output;
  const std::string root = mallory.output.substr(holds, mallory.output.find('\n', holds) - holds) + " ";
  for (const char* never : {" home ", " root ", " srv ", " work ", " opt ", " mnt "})
    EXPECT_EQ(root.find(never), std::string::npos) << never << " visible to the build: " << root;

  // Everything mallory can get back.
  Ran jobs = d.cli("jobs", "", "mallory-token");
  EXPECT_EQ(jobs.exit_code, 0) << jobs.output;
  EXPECT_NE(jobs.output.find(" mallory "), std::string::npos) << jobs.output;
  EXPECT_EQ(jobs.output.find(" alice "), std::string::npos) << "alice's job is not listed to mallory: " << jobs.output;
  const std::string fetched = (d.dir() / "mallory-fetched.json").string();
  const std::string junit = (d.dir() / "mallory-fetched.xml").string();
  Ran job = d.cli("job", "2 --json " + fetched + " --junit " + junit, "mallory-token");
  EXPECT_EQ(job.exit_code, 0) << job.output;
  Ran watch = d.cli("watch", "2", "mallory-token");
  EXPECT_EQ(watch.exit_code, 5) << "the job's exit code: " << watch.output;
  EXPECT_NE(watch.output.find("RACERIG-SEARCH-RAN"), std::string::npos) << "events carry the build's lines: "
                                                                        << watch.output;
  Ran other = d.cli("job", "1", "mallory-token");
  EXPECT_NE(other.exit_code, 0) << "alice's job is not mallory's to fetch: " << other.output;
  // The full build log the error names (what an artifact of the build serves).
  std::string build_log;
  if (size_t l = mallory.output.find("full log: "); l != std::string::npos) {
    const size_t end = mallory.output.find_first_of(" \n", l + 10);
    build_log = read_text(mallory.output.substr(l + 10, end - l - 10));
  }
  EXPECT_NE(build_log.find("RACERIG-SEARCH-DONE"), std::string::npos) << "the build log was read";
  const std::vector<std::pair<std::string, std::string>> outputs = {
      {"mallory's client output", mallory.output}, {"mallory's JSON report", read_text(json)},
      {"mallory's jobs", jobs.output},             {"mallory's job as fetched", job.output + read_text(fetched) + read_text(junit)},
      {"mallory's events", watch.output},          {"mallory's refused fetch of job 1", other.output},
      {"mallory's build log", build_log}};
  for (const auto& [what, text] : outputs)
    for (const std::string& secret : {marker, alice_token, mallory_token, ci_token})
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << what << ":\n" << text.substr(0, 20000);
}

TEST(Racerigd, TcpWithoutTokensIsRefusedAtStartUp) {
  Ran r = run_shell(std::string(RACERIGD_BIN) +
                    " --listen 127.0.0.1:0 --socket /tmp/racerigd-it-refused.sock --state /tmp/racerigd-it-refused");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("without --tokens"), std::string::npos) << r.output;
  fs::remove_all("/tmp/racerigd-it-refused");
}

// Issue 14: racerigd runs every job on the backend it was started with
// (here libvirt, on an embedded root of its own), and leaves no domain.
TEST(Racerigd, TheLibvirtBackendRunsItsJobsAndLeavesNoDomain) {
  Daemon d("libvirt");
  const std::string uri = "qemu:///embed?root=" + cache_root() + "/libvirt-racerigd-test";
  ASSERT_TRUE(d.start({"--libvirt-uri", uri})) << d.log();
  EXPECT_NE(d.log().find("backend libvirt (" + uri + ")"), std::string::npos) << d.log();
  const std::string json = (d.dir() / "buggy.json").string();
  Ran r = d.cli("reproduce", "--scenario xfs-dax-flip-vs-write-fault --kernel buggy --runs 2 --json " + json);
  EXPECT_EQ(r.exit_code, 0) << r.output << d.log();
  EXPECT_NE(r.output.find("2/2 reproduced"), std::string::npos) << r.output;
  const std::string report = read_text(json);
  // libvirt's domains restore the ready state with loadvm (through its monitor).
  EXPECT_EQ(count_of(report, "\"restore_method\": \"loadvm\""), 2) << report.substr(0, 2000);
  EXPECT_EQ(count_of(report, "\"verdict\": \"REPRODUCED\""), 2) << report.substr(0, 2000);
  // The client does not choose the daemon's backend.
  Ran refused = d.cli("reproduce", "--backend qemu --scenario xfs-dax-flip-vs-write-fault --kernel buggy");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("not --server"), std::string::npos) << refused.output;
  d.stop();
  // virsh opens the embedded root once racerigd let it go.
  Ran domains = run_shell("virsh -q -c '" + uri + "' list --all --name");
  EXPECT_EQ(domains.exit_code, 0) << domains.output;
  EXPECT_EQ(domains.output.find("racerig-"), std::string::npos) << domains.output;
}

TEST(Racerigd, ABadBackendOrRestoreIsRefusedAtStartUp) {
  for (const auto& [flag, names] : std::vector<std::pair<std::string, std::string>>{
           {"--backend xen", "--backend xen"},
           {"--backend qemu --libvirt-uri qemu:///system", "--libvirt-uri"},
           {"--restore fast", "--restore: 'fast'"}}) {
    Ran r = run_shell(std::string(RACERIGD_BIN) + " " + flag +
                      " --socket /tmp/racerigd-it-badflag.sock --state /tmp/racerigd-it-badflag");
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.output;
    EXPECT_NE(r.output.find(names), std::string::npos) << r.output;
  }
  fs::remove_all("/tmp/racerigd-it-badflag");
}

// Issue 24: a guest that floods its console. The run ends as usual; the
// report keeps the console's first and last MiB with a line saying how many
// bytes were cut, and ReadArtifact serves that same console in chunks. The
// flood is bounded by time, not by its 200 MiB: the serial console carries
// about 140 KB/s under TCG here, and a program op runs at most 55 s.
TEST(Racerigd, AGuestThatFloodsItsConsoleGivesABoundedReportAndItsConsoleThroughReadArtifact) {
  Daemon d("flood");
  // The daemon serves a catalogue: the shipped kernels and this scenario.
  const fs::path root = d.dir() / "root";
  const fs::path data = fs::path(RACERIG_SOURCE_DIR) / "tests/integration/data";
  fs::create_directories(root / "scenarios/programs");
  fs::create_directory_symlink(fs::path(RACERIG_SOURCE_DIR) / "kernels", root / "kernels");
  fs::copy_file(data / "console-flood.textproto", root / "scenarios/console-flood.textproto");
  fs::copy_file(data / "programs/console-flood.c", root / "scenarios/programs/console-flood.c");
  d.set_root(root);
  ASSERT_TRUE(d.start()) << d.log();
  const std::string json = (d.dir() / "flood.json").string();
  Ran r = d.cli("reproduce", "--scenario console-flood --kernel fixed --runs 1 --json " + json);
  EXPECT_EQ(r.exit_code, 1) << "NOT_REPRODUCED: " << r.output << d.log();
  const std::string report = read_text(json);
  EXPECT_EQ(count_of(report, "\"verdict\": \"NOT_REPRODUCED\""), 1) << report.substr(0, 2000);
  // The console as kept: head, a cut line, tail; the whole report stays
  // within a few MiB (the kept console is at most 2 MiB, JSON-escaped).
  EXPECT_LT(fs::file_size(json), 6u << 20);
  const size_t cut_at = report.find("[racerig: ");
  ASSERT_NE(cut_at, std::string::npos) << "no cut line: the flood did not exceed the 2 MiB kept";
  const uint64_t cut = std::stoull(report.substr(cut_at + 10));
  EXPECT_GT(cut, 0u);
  // What the flooder says it wrote went to the console: kept plus cut holds it.
  const size_t wrote_at = report.find("wrote ");
  ASSERT_NE(wrote_at, std::string::npos) << report.substr(0, 2000);
  const uint64_t wrote = std::stoull(report.substr(wrote_at + 6));
  EXPECT_GT(wrote, 2u << 20) << "the flood is larger than what is kept";

  // The job's id: the only job in this daemon.
  Ran jobs = d.cli("jobs", "");
  ASSERT_EQ(jobs.exit_code, 0) << jobs.output;
  std::istringstream lines(jobs.output);
  std::string header, id;
  std::getline(lines, header);
  lines >> id;
  ASSERT_FALSE(id.empty()) << jobs.output;
  const std::string console = (d.dir() / "console").string();
  Ran art = d.cli("artifact", id + " runs/1/console -o " + console);
  ASSERT_EQ(art.exit_code, 0) << art.output;
  const std::string text = read_text(console);
  EXPECT_LE(text.size(), (2u << 20) + 4096) << "head + tail + the cut line";
  EXPECT_GE(text.size(), 2u << 20);
  EXPECT_NE(text.find("[racerig: " + std::to_string(cut) + " bytes cut]"), std::string::npos);
  EXPECT_GE(text.size() + cut, wrote) << "every byte the flooder wrote is kept or counted as cut";
  EXPECT_NE(text.find(std::string(63, 'f') + "\n"), std::string::npos);
  std::printf("flooder wrote %llu bytes; the console kept %zu and cut %llu; the report is %llu bytes\n",
              static_cast<unsigned long long>(wrote), text.size(), static_cast<unsigned long long>(cut),
              static_cast<unsigned long long>(fs::file_size(json)));
}

}  // namespace
