// racerigd under kill -9 (issue 27): thirty submissions while the daemon is
// SIGKILLed at random moments ten times and restarted on the same state.
// A Python client (racerigd_client.py chaos-submit) submits the jobs a
// second or so apart, sending a submit again (same request id) when no
// daemon answers; one job in three runs a VM (a reproduce from the ready
// snapshot), the others fail inside the worker. After the last restart,
// chaos-audit waits for the queue to drain and checks that every request id
// has exactly one job, finished exactly once with its kind's outcome, or
// INTERRUPTED with a reason (a job whose daemon died under it three times):
// none lost, none duplicated. The kill moments come from a seed printed in
// the output (RACERIG_CHAOS_SEED repeats a run).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "daemon.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers

namespace fs = std::filesystem;

constexpr int kSubmissions = 30;
constexpr int kKills = 10;

TEST(RacerigdChaos, ThirtySubmissionsAcrossTenKillsEndOnceEachOrInterrupted) {
  const char* seed_env = std::getenv("RACERIG_CHAOS_SEED");
  const unsigned seed = seed_env != nullptr ? static_cast<unsigned>(std::strtoul(seed_env, nullptr, 10))
                                            : static_cast<unsigned>(std::random_device{}());
  std::printf("chaos seed %u (RACERIG_CHAOS_SEED=%u repeats the kill moments)\n", seed, seed);
  std::mt19937 rng(seed);

  Daemon d("chaos");
  ASSERT_TRUE(d.start({"--workers", "1"})) << d.log();
  const fs::path out = d.dir() / "submit.out";
  pid_t submitter =
      start_shell_to("/usr/bin/python3 " + std::string(RACERIG_SOURCE_DIR) + "/tests/integration/racerigd_client.py " +
                         RACERIG_SOURCE_DIR + " " + d.socket() + " " + (d.dir() / "token").string() + " chaos-submit " +
                         std::to_string(kSubmissions),
                     out);
  // Kills spread over the submissions and the runs that follow them: each
  // after 1 to 12 s of life (a VM job's run is several seconds, so some
  // land in a run, some in a boot of the daemon, some between jobs).
  std::uniform_int_distribution<int> life_ms(1000, 12000);
  for (int k = 0; k < kKills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(life_ms(rng)));
    d.kill9();
    ASSERT_TRUE(d.start({"--workers", "1"})) << "restart " << k + 1 << ":\n" << d.log();
  }
  int status = 0;
  ASSERT_TRUE(wait_child_exit(submitter, std::chrono::minutes(10), &status))
      << "the submitter did not finish: " << read_text(out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(out);

  Ran audit = d.python("chaos-audit " + std::to_string(kSubmissions));
  EXPECT_EQ(audit.exit_code, 0) << audit.output << "\nsubmitter:\n" << read_text(out) << "\nracerigd:\n" << d.log();
  std::printf("%s", audit.output.c_str());
  // How many kills landed in a job: each restart after one says it queued
  // the job again (or, after its third attempt, gave up on it).
  const std::string log = d.log();
  int mid_job = 0;
  for (size_t at = log.find("interrupted job(s) queued again"); at != std::string::npos;
       at = log.find("interrupted job(s) queued again", at + 1))
    ++mid_job;
  std::printf("%d of %d kills were followed by a requeue of an interrupted job\n", mid_job, kKills);
}

}  // namespace
