// The agent's run: plan, set-up, prepare ops, actors, check ops, with every
// step reported as an event. main.cc wraps it as PID 1; the host unit tests
// run it in a child process against a temp dir.
#pragma once

#include <chrono>
#include <string>

#include <vector>

#include "guest/agent/actors.h"
#include "guest/agent/ops.h"
#include "guest/agent/reporter.h"
#include "guest/agent/setup.h"

namespace racerig::agent {

struct AgentConfig {
  std::string plan_path = "/racerig/plan.pb";
  int port_out = -1;  // events
  int port_in = -1;   // the host's "go"
  SetupConfig setup;
  OpEnv ops;
  // How long the actors may take after release before the agent names the
  // stuck ones and gives up.
  std::chrono::milliseconds actor_limit{60000};
  // How long forking and pinning the actors may take.
  std::chrono::milliseconds start_limit{30000};
};

enum class AgentEnd {
  kDone,   // DONE was reported
  kFatal,  // FATAL was reported
};

// Runs the plan at config.plan_path and reports on config.port_out. Blocks
// for as long as the host takes to send "go" (when the plan asks for it);
// every other wait is bounded. Blocks SIGCHLD for its own use. Never exits
// the process and never throws: every failure is a FATAL event.
AgentEnd run_agent(const AgentConfig& config, Reporter::Clock::time_point start);

// The structured DONE event: how every actor ended (finished OK, exit code,
// killing signal) and how many check ops the plan has, ran and failed.
pb::AgentEvent done_event(const std::vector<ActorProcess>& actors, int check_ops, int check_ops_run,
                          int check_ops_failed);

}  // namespace racerig::agent
