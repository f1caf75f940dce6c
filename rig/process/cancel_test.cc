// Per-job cancellation tokens: a token cancels the thread that holds it and
// nothing else; its fd wakes waiters; Ctrl-C sets the process-wide flag and
// still reaches a token's waiter.
#include "rig/process/cancel.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "rig/process/process.h"

namespace racerig::process {
namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(CancelToken, CancelsOnlyTheThreadThatHoldsIt) {
  auto a = CancelToken::make();
  auto b = CancelToken::make();
  ASSERT_GE(a->fd(), 0);
  bool a_seen = false, b_seen = true;
  std::thread ta([&] {
    ScopedCancel scope(a);
    a->cancel();
    a_seen = cancelled() && readable(cancel_fd());
  });
  ta.join();
  std::thread tb([&] {
    ScopedCancel scope(b);
    b_seen = cancelled() || readable(cancel_fd());
  });
  tb.join();
  EXPECT_TRUE(a_seen);
  EXPECT_FALSE(b_seen);
  EXPECT_FALSE(cancelled()) << "the main thread holds no token";
}

TEST(CancelToken, ScopesNestAndRestore) {
  auto outer = CancelToken::make();
  auto inner = CancelToken::make();
  ScopedCancel s1(outer);
  {
    ScopedCancel s2(inner);
    inner->cancel();
    EXPECT_TRUE(cancelled());
    EXPECT_EQ(cancel_fd(), inner->fd());
  }
  EXPECT_FALSE(cancelled());
  EXPECT_EQ(cancel_fd(), outer->fd());
  EXPECT_FALSE(readable(outer->fd()));
  outer->cancel();
  outer->cancel();  // idempotent
  EXPECT_TRUE(readable(outer->fd()));
}

// Work a job's thread hands to a helper thread (the standby VM's restore)
// follows the job's token there: current_token() carries it across.
TEST(CancelToken, CurrentTokenCarriesToAHelperThread) {
  EXPECT_EQ(current_token(), nullptr) << "the main thread holds no token";
  auto job = CancelToken::make();
  ScopedCancel scope(job);
  ASSERT_EQ(current_token(), job);
  std::shared_ptr<CancelToken> handed = current_token();
  bool before = true, after = false;
  std::thread helper([&, handed] {
    ScopedCancel helper_scope(handed);
    before = cancelled();
    job->cancel();
    after = cancelled() && readable(cancel_fd());
  });
  helper.join();
  EXPECT_FALSE(before);
  EXPECT_TRUE(after);
  EXPECT_TRUE(cancelled()) << "the job's own thread sees it too";
}

// A job's token reaches the subprocess helper (kernel builds run through
// it): cancelling the token stops that thread's child and its group, and a
// child on another thread runs on.
TEST(CancelToken, StopsTheSubprocessOfItsThreadOnly) {
  auto token = CancelToken::make();
  Result<Exit> cancelled_run = make_error(ErrorKind::kInternal, "not run");
  Result<Exit> other_run = make_error(ErrorKind::kInternal, "not run");
  Limits limits;
  limits.deadline = Deadline::after(std::chrono::seconds(60));
  // Cancelled once both children said they run.
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  auto on_line = [&](const std::string& line) {
    if (line != "started") return;
    std::lock_guard<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
  };
  std::thread job([&] {
    ScopedCancel scope(token);
    cancelled_run = run(Spec{{"sh", "-c", "echo started; sleep 1000 & wait"}}, limits, {}, on_line);
  });
  std::thread other([&] { other_run = run(Spec{{"sh", "-c", "echo started; sleep 2; echo done"}}, limits, {}, on_line); });
  {
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return started == 2; }));
  }
  token->cancel();
  job.join();
  other.join();
  ASSERT_FALSE(cancelled_run.ok());
  EXPECT_EQ(cancelled_run.error().kind, ErrorKind::kCancelled) << cancelled_run.error().message;
  ASSERT_TRUE(other_run.ok()) << other_run.error().message;
  EXPECT_EQ(other_run->output, "started\ndone\n");
  EXPECT_FALSE(cancelled());
}

// In a child process: the signal flag is process-wide and permanent.
void raise_and_wait_on_a_token() {
  install_cancel_handlers();
  auto token = CancelToken::make();
  ScopedCancel scope(token);
  ::raise(SIGTERM);
  pollfd p{cancel_fd(), POLLIN, 0};
  std::exit(cancelled() && ::poll(&p, 1, 1000) == 1 && !token->cancelled() ? 0 : 1);
}

TEST(CancelTokenDeathTest, SignalWakesATokensWaiter) {
  EXPECT_EXIT(raise_and_wait_on_a_token(), ::testing::ExitedWithCode(0), "");
}

// In a child process, no token held: SIGINT sets the flag and wakes the
// process-wide fd, which was quiet before. Exits with the step that failed.
void raise_sigint_without_a_token() {
  install_cancel_handlers();
  if (cancel_fd() < 0) std::exit(1);
  if (cancelled()) std::exit(2);
  pollfd p{cancel_fd(), POLLIN, 0};
  if (::poll(&p, 1, 0) != 0) std::exit(3);
  ::raise(SIGINT);
  if (!cancelled()) std::exit(4);
  std::exit(::poll(&p, 1, 1000) == 1 ? 0 : 5);
}

TEST(CancelDeathTest, SigintSetsTheFlagAndWakesTheFd) {
  EXPECT_EXIT(raise_sigint_without_a_token(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace racerig::process
