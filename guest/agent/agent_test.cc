// The agent's whole run on the host (skip_fsdax, files in a temp dir): event
// order, pinning and comm of the actors, the go handshake, failures, a stuck
// actor, an actor killed from outside.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/text_format.h>

#include "guest/agent/agent.h"
#include "guest/agent/event_line.h"
#include "guest/agent/test_util.h"
#include "rig/base/deadline.h"

namespace racerig::agent {
namespace {

using testing::TempDir;

int second_cpu() { return ::sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0; }

// run_agent in a child process, talking through two pipes like the serial port.
class AgentRun {
 public:
  AgentRun(const TempDir& dir, const std::string& plan_text, std::chrono::milliseconds actor_limit = std::chrono::seconds(60)) {
    pb::GuestPlan plan;
    std::string text = plan_text;
    for (size_t at; (at = text.find("DIR")) != std::string::npos;) text.replace(at, 3, dir.path());
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &plan)) << text;
    // An empty text means: no plan file at all.
    if (!plan_text.empty()) testing::spit(dir / "plan.pb", plan.SerializeAsString());
    testing::spit(dir / "drop_caches", "");
    int out[2], in[2];
    EXPECT_EQ(::pipe(out), 0);
    EXPECT_EQ(::pipe(in), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(out[0]);
      ::close(in[1]);
      AgentConfig config;
      config.plan_path = dir / "plan.pb";
      config.port_out = out[1];
      config.port_in = in[0];
      config.ops.drop_caches_path = dir / "drop_caches";
      config.ops.go_seed_path = dir / "go-seed";
      config.actor_limit = actor_limit;
      ::_exit(run_agent(config, Reporter::Clock::now()) == AgentEnd::kDone ? 0 : 1);
    }
    ::close(out[1]);
    ::close(in[0]);
    events_fd_ = ScopedFd(out[0]);
    go_fd_ = ScopedFd(in[1]);
  }
  ~AgentRun() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // The next event, or nullopt at EOF or after 60 s.
  std::optional<pb::AgentEvent> next() {
    Deadline deadline = Deadline::after_seconds(60);
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl + 1);
        buffer_.erase(0, nl + 1);
        auto e = parse_event_line(line);
        EXPECT_TRUE(e.has_value()) << line;
        if (e) {
          all_.push_back(*e);
          return e;
        }
        continue;
      }
      struct pollfd p = {events_fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, deadline.poll_timeout_ms()) <= 0) return std::nullopt;
      char buf[4096];
      ssize_t n = ::read(events_fd_.get(), buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
  // Events up to and including the first of `kind`.
  std::vector<pb::AgentEvent> until(pb::AgentEvent::Kind kind) {
    std::vector<pb::AgentEvent> got;
    while (auto e = next()) {
      got.push_back(*e);
      if (e->kind() == kind || e->kind() == pb::AgentEvent::FATAL || e->kind() == pb::AgentEvent::DONE) break;
    }
    return got;
  }
  void send(const std::string& text) { ASSERT_EQ(::write(go_fd_.get(), text.data(), text.size()), static_cast<ssize_t>(text.size())); }
  void close_port() { go_fd_.reset(); }
  // The agent's exit status: 0 after DONE, 1 after FATAL.
  int exit_code() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::vector<pb::AgentEvent>& all() const { return all_; }

 private:
  pid_t pid_ = -1;
  ScopedFd events_fd_, go_fd_;
  std::string buffer_;
  std::vector<pb::AgentEvent> all_;
};

std::vector<pb::AgentEvent> of_kind(const std::vector<pb::AgentEvent>& events, pb::AgentEvent::Kind kind) {
  std::vector<pb::AgentEvent> out;
  for (const auto& e : events)
    if (e.kind() == kind) out.push_back(e);
  return out;
}

std::string proc_file(int pid, const char* name) { return testing::slurp("/proc/" + std::to_string(pid) + "/" + name); }

TEST(AgentTest, FullRunWithGo) {
  TempDir dir;
  const std::string plan = R"(
    workload {
      setup { skip_fsdax: true }
      prepare { create { path: "DIR/foo" size: 65536 pattern: 0x11 } }
      actors { name: "writer" cpu: 0
               ops { mmap_write { path: "DIR/foo" offset: 0 length: 4096 pattern: 0xab } }
               ops { fsync { path: "DIR/foo" } } }
      actors { name: "a-long-actor-name-here" cpu: )" + std::to_string(second_cpu()) + R"(
               ops { pwrite { path: "DIR/foo" offset: 8192 length: 4096 pattern: 0xcd } } }
      check { pread { path: "DIR/foo" offset: 0 length: 4096 check: true pattern: 0xab } }
      check { pread { path: "DIR/foo" offset: 8192 length: 4096 check: true pattern: 0xcd } }
      check { drop_caches {} }
    }
    wait_for_go: true)";
  AgentRun run(dir, plan);
  auto before = run.until(pb::AgentEvent::READY);
  ASSERT_FALSE(before.empty());
  ASSERT_EQ(before.back().kind(), pb::AgentEvent::READY) << before.back().ShortDebugString();
  EXPECT_EQ(before.front().kind(), pb::AgentEvent::INFO);
  ASSERT_EQ(of_kind(before, pb::AgentEvent::SETUP).size(), 1u);
  auto prep = of_kind(before, pb::AgentEvent::OP_OK);
  ASSERT_EQ(prep.size(), 1u);
  EXPECT_EQ(prep[0].actor(), "prepare");
  EXPECT_EQ(prep[0].op(), "create");

  // Both actors are started, pinned and named before go.
  auto starts = of_kind(before, pb::AgentEvent::ACTOR_START);
  ASSERT_EQ(starts.size(), 2u);
  for (const auto& s : starts) {
    int want_cpu = s.actor() == "writer" ? 0 : second_cpu();
    EXPECT_EQ(s.cpu(), want_cpu);
    EXPECT_GT(s.pid(), 0);
    std::string comm = proc_file(s.pid(), "comm");
    EXPECT_EQ(comm, (s.actor() == "writer" ? "writer" : "a-long-actor-na") + std::string("\n"));
    EXPECT_NE(proc_file(s.pid(), "status").find("Cpus_allowed_list:\t" + std::to_string(want_cpu) + "\n"),
              std::string::npos);
  }
  // Nothing has run yet: the file still holds the prepare pattern.
  EXPECT_EQ(testing::slurp(dir / "foo").substr(0, 4096), std::string(4096, '\x11'));

  run.send("noise\n");
  run.send("go\n");
  auto after = run.until(pb::AgentEvent::DONE);
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.back().kind(), pb::AgentEvent::DONE) << after.back().ShortDebugString();
  EXPECT_EQ(of_kind(after, pb::AgentEvent::ACTOR_DONE).size(), 2u);
  EXPECT_EQ(of_kind(after, pb::AgentEvent::OP_FAILED).size(), 0u);
  int checks = 0;
  for (const auto& e : of_kind(after, pb::AgentEvent::OP_OK)) {
    if (e.actor() == "check") ++checks;
    if (e.actor() == "writer") {
      EXPECT_EQ(e.cpu(), 0);
    }
  }
  EXPECT_EQ(checks, 3);
  EXPECT_EQ(of_kind(after, pb::AgentEvent::INFO).size(), 1u);  // the ignored "noise" line
  EXPECT_EQ(run.exit_code(), 0);
  // elapsed_us never goes backwards within one process.
  uint64_t last = 0;
  for (const auto& e : run.all())
    if (e.actor() == "" || e.actor() == "prepare" || e.actor() == "check") {
      EXPECT_GE(e.elapsed_us(), last);
      last = e.elapsed_us();
    }

}

// Runs from one snapshot differ only in the argument of "go": an fsx op with
// seed_from_go runs with that seed, and without one it fails by name.
TEST(AgentTest, GoArgumentIsTheFsxSeed) {
  const std::string plan = R"(
    workload {
      setup { skip_fsdax: true }
      prepare { create { path: "DIR/f" size: 65536 pattern: 0x11 } }
      actors { name: "fsx" cpu: 0
               ops { fsx { path: "DIR/f" ops: 50 max_size: 65536 seed_from_go: true } } }
    }
    wait_for_go: true)";
  for (const std::string seed : {"4242", "7"}) {
    TempDir dir;
    AgentRun run(dir, plan);
    ASSERT_EQ(run.until(pb::AgentEvent::READY).back().kind(), pb::AgentEvent::READY);
    run.send("go " + seed + "\n");
    auto after = run.until(pb::AgentEvent::DONE);
    auto ok = of_kind(after, pb::AgentEvent::OP_OK);
    ASSERT_EQ(ok.size(), 1u) << (after.empty() ? "" : after.back().ShortDebugString());
    EXPECT_EQ(ok[0].op(), "fsx");
    EXPECT_EQ(ok[0].seed(), std::stoull(seed));
    EXPECT_NE(ok[0].message().find("seed " + seed), std::string::npos) << ok[0].message();
    EXPECT_EQ(run.exit_code(), 0);
  }
  TempDir dir;
  AgentRun run(dir, plan);
  ASSERT_EQ(run.until(pb::AgentEvent::READY).back().kind(), pb::AgentEvent::READY);
  run.send("go\n");
  auto after = run.until(pb::AgentEvent::DONE);
  auto failed = of_kind(after, pb::AgentEvent::OP_FAILED);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].message().find("seed from the go line"), std::string::npos) << failed[0].message();
}

TEST(AgentTest, FailedOpStopsOnlyThatActor) {
  TempDir dir;
  AgentRun run(dir, R"(
    workload {
      setup { skip_fsdax: true }
      prepare { create { path: "DIR/foo" size: 4096 pattern: 1 } }
      actors { name: "bad" cpu: 0
               ops { pread { path: "DIR/missing" offset: 0 length: 1 } }
               ops { pwrite { path: "DIR/foo" offset: 0 length: 1 pattern: 9 } } }
      actors { name: "good" cpu: 0 ops { pwrite { path: "DIR/foo" offset: 1 length: 1 pattern: 2 } } }
      check { pread { path: "DIR/foo" offset: 0 length: 1 check: true pattern: 9 } }
      check { pread { path: "DIR/foo" offset: 1 length: 1 check: true pattern: 2 } }
    })");
  auto events = run.until(pb::AgentEvent::DONE);
  ASSERT_EQ(events.back().kind(), pb::AgentEvent::DONE) << events.back().ShortDebugString();
  auto failed = of_kind(events, pb::AgentEvent::OP_FAILED);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].actor(), "bad");
  EXPECT_EQ(failed[0].op_index(), 0);
  EXPECT_EQ(failed[0].err_no(), ENOENT);
  EXPECT_EQ(failed[1].actor(), "check");  // the "bad" actor's second op never ran
  EXPECT_TRUE(failed[1].check_failed());
  EXPECT_NE(events.back().message().find("1 of 2 actors finished every op; 1 of 2 check ops failed"),
            std::string::npos)
      << events.back().message();
  // DONE is structured: the host checks these, not the prose.
  const pb::AgentEvent& done = events.back();
  EXPECT_EQ(done.actors_started(), 2);
  EXPECT_EQ(done.actors_ok(), 1);
  EXPECT_EQ(done.check_ops(), 2);
  EXPECT_EQ(done.check_ops_run(), 2);
  EXPECT_EQ(done.check_ops_failed(), 1);
  ASSERT_EQ(done.actor_ends_size(), 2);
  EXPECT_EQ(done.actor_ends(0).actor(), "bad");
  EXPECT_FALSE(done.actor_ends(0).ok());
  EXPECT_EQ(done.actor_ends(0).exit_code(), 1);
  EXPECT_TRUE(done.actor_ends(1).ok());
}

TEST(AgentTest, StuckActorIsNamedThenFatal) {
  TempDir dir;
  AgentRun run(dir,
               R"(
    workload {
      setup { skip_fsdax: true }
      actors { name: "slowpoke" cpu: 0 ops { fsx { path: "DIR/fsx" seed: 1 duration_ms: 60000 max_size: 4096 } } }
      check { pread { path: "DIR/fsx" offset: 0 length: 1 } }
    })",
               std::chrono::milliseconds(300));
  auto events = run.until(pb::AgentEvent::DONE);
  ASSERT_EQ(events.back().kind(), pb::AgentEvent::FATAL) << events.back().ShortDebugString();
  EXPECT_NE(events.back().message().find("slowpoke (pid "), std::string::npos) << events.back().message();
  EXPECT_NE(events.back().message().find("wchan"), std::string::npos);
  bool named = false;
  for (const auto& e : of_kind(events, pb::AgentEvent::STUCK)) named = named || e.actor() == "slowpoke";
  EXPECT_TRUE(named);
  EXPECT_EQ(run.exit_code(), 1);
}

TEST(AgentTest, ActorKilledBeforeGoIsReported) {
  TempDir dir;
  AgentRun run(dir, R"(
    workload {
      setup { skip_fsdax: true }
      actors { name: "victim" cpu: 0 ops { drop_caches {} } }
    }
    wait_for_go: true)");
  auto before = run.until(pb::AgentEvent::READY);
  auto starts = of_kind(before, pb::AgentEvent::ACTOR_START);
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_EQ(::kill(starts[0].pid(), SIGKILL), 0);
  run.send("go\n");
  auto after = run.until(pb::AgentEvent::DONE);
  ASSERT_EQ(after.back().kind(), pb::AgentEvent::DONE);
  auto done = of_kind(after, pb::AgentEvent::ACTOR_DONE);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].actor(), "victim");
  EXPECT_NE(done[0].message().find("killed by signal 9"), std::string::npos) << done[0].message();
  EXPECT_EQ(done[0].signal(), SIGKILL);
  // DONE names the killed actor and its signal; it did not finish OK.
  EXPECT_EQ(after.back().actors_started(), 1);
  EXPECT_EQ(after.back().actors_ok(), 0);
  ASSERT_EQ(after.back().actor_ends_size(), 1);
  EXPECT_EQ(after.back().actor_ends(0).signal(), SIGKILL);
  EXPECT_FALSE(after.back().actor_ends(0).ok());
}

TEST(AgentTest, PortEofWhileWaitingForGoIsFatal) {
  TempDir dir;
  AgentRun run(dir, R"(
    workload { setup { skip_fsdax: true } actors { name: "a" cpu: 0 } }
    wait_for_go: true)");
  auto before = run.until(pb::AgentEvent::READY);
  ASSERT_EQ(before.back().kind(), pb::AgentEvent::READY);
  run.close_port();
  auto after = run.until(pb::AgentEvent::DONE);
  ASSERT_EQ(after.back().kind(), pb::AgentEvent::FATAL);
  EXPECT_NE(after.back().message().find("EOF"), std::string::npos);
}

TEST(AgentTest, BadPlansAndPrepareFailuresAreFatal) {
  struct Case {
    const char* plan;
    const char* expect;
  } cases[] = {
      {R"(workload { setup { skip_fsdax: true } actors { name: "a" cpu: 4096 } })", "cpu 4096 is not online"},
      {R"(workload { setup { skip_fsdax: true } prepare { fsync { path: "DIR/none" } } })",
       "prepare failed: prepare op 0 (fsync DIR/none)"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    AgentRun run(dir, c.plan);
    auto events = run.until(pb::AgentEvent::DONE);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().kind(), pb::AgentEvent::FATAL);
    std::string expect = c.expect;
    for (size_t at; (at = expect.find("DIR")) != std::string::npos;) expect.replace(at, 3, dir.path());
    EXPECT_NE(events.back().message().find(expect), std::string::npos) << events.back().message();
    EXPECT_EQ(run.exit_code(), 1);
  }
}

TEST(AgentTest, MissingPlanIsFatal) {
  TempDir dir;
  AgentRun run(dir, "");
  auto events = run.until(pb::AgentEvent::DONE);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind(), pb::AgentEvent::FATAL);
  EXPECT_NE(events.back().message().find(dir / "plan.pb"), std::string::npos) << events.back().message();
}

}  // namespace
}  // namespace racerig::agent
