// The agent's run, step by step.
#include "guest/agent/agent.h"

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include "guest/agent/actors.h"
#include "guest/agent/plan.h"
#include "rig/base/file.h"

namespace racerig::agent {

namespace {

// Runs a list of agent-side ops ("prepare" or "check") in `runner`.
// Returns the number of failed ops; stops at the first failure when
// `stop_on_failure`.
int run_agent_ops(const google::protobuf::RepeatedPtrField<pb::Op>& ops, const std::string& who, OpRunner& runner,
                  const Reporter& reporter, bool stop_on_failure, std::string* first_failure) {
  int failed = 0;
  for (int i = 0; i < ops.size(); ++i) {
    pb::AgentEvent e = runner.run(ops[i]);
    e.set_actor(who);
    e.set_op_index(i);
    e.set_pid(::getpid());
    e.set_cpu(::sched_getcpu());
    reporter.emit(e);
    if (e.kind() != pb::AgentEvent::OP_FAILED) continue;
    if (failed++ == 0)
      *first_failure = who + " op " + std::to_string(i) + " (" + e.op() + " " + e.path() + "): " + e.message();
    if (stop_on_failure) break;
  }
  return failed;
}

}  // namespace

pb::AgentEvent done_event(const std::vector<ActorProcess>& actors, int check_ops, int check_ops_run,
                          int check_ops_failed) {
  pb::AgentEvent done;
  done.set_kind(pb::AgentEvent::DONE);
  int ok = 0;
  std::string killed;
  for (const auto& a : actors) {
    pb::ActorEnd* end = done.add_actor_ends();
    end->set_actor(a.name);
    end->set_exit_code(a.exit_code);
    end->set_signal(a.signal);
    end->set_ok(a.signal == 0 && a.exit_code == 0);
    ok += end->ok() ? 1 : 0;
    if (a.signal != 0) killed += "; " + a.name + " killed by signal " + std::to_string(a.signal);
  }
  done.set_actors_started(static_cast<int>(actors.size()));
  done.set_actors_ok(ok);
  done.set_check_ops(check_ops);
  done.set_check_ops_run(check_ops_run);
  done.set_check_ops_failed(check_ops_failed);
  done.set_message(std::to_string(ok) + " of " + std::to_string(actors.size()) + " actors finished every op; " +
                   std::to_string(check_ops_failed) + " of " + std::to_string(check_ops_run) + " check ops failed" +
                   killed);
  return done;
}

AgentEnd run_agent(const AgentConfig& config, Reporter::Clock::time_point start) {
  const Reporter reporter(config.port_out, start);
  auto fatal = [&](const std::string& message) {
    reporter.fatal(message);
    return AgentEnd::kFatal;
  };

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);

  const int ncpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  struct utsname uts {};
  ::uname(&uts);
  reporter.info(std::string("racerig-agent started: pid ") + std::to_string(::getpid()) + ", " + std::to_string(ncpus) +
                " cpus, kernel " + uts.release);

  auto plan = read_plan(config.plan_path);
  if (!plan.ok()) return fatal(plan.error().message);
  if (Status s = validate_plan(*plan, ncpus); !s.ok()) return fatal("plan: " + s.error().message);
  const pb::Workload& w = plan->workload();

  const SetupMode mode = plan->make_template()              ? SetupMode::kMakeTemplate
                         : plan->filesystem_from_template() ? SetupMode::kFromTemplate
                                                            : SetupMode::kFull;
  if (Status s = setup_filesystem(w.setup(), config.setup, reporter, mode); !s.ok())
    return fatal("set-up: " + s.error().message);
  if (mode == SetupMode::kMakeTemplate) {
    pb::AgentEvent done;
    done.set_kind(pb::AgentEvent::DONE);
    done.set_message("template made; the workload does not run");
    reporter.emit(done);
    return AgentEnd::kDone;
  }

  // A program's own timeout ends before the agent gives up on its actor, so
  // that the exec op itself reports it (actor, program, reason).
  OpEnv ops = config.ops;
  ops.exec.max_timeout = std::min(ops.exec.max_timeout, config.actor_limit - config.actor_limit / 10);
  // Files the prepare ops open stay open (in the agent) until the end.
  OpRunner prepare(ops);
  std::string failure;
  if (run_agent_ops(w.prepare(), "prepare", prepare, reporter, true, &failure) > 0)
    return fatal("prepare failed: " + failure);

  auto group = ActorGroup::start(w, reporter, ops, Deadline::after(config.start_limit));
  if (!group.ok()) return fatal("starting the actors: " + group.error().message);
  {
    pb::AgentEvent ready;
    ready.set_kind(pb::AgentEvent::READY);
    std::string names;
    for (const auto& a : group->actors())
      names += (names.empty() ? "" : ", ") + a.name + " pid " + std::to_string(a.pid) + " cpu " + std::to_string(a.cpu);
    ready.set_message(std::to_string(w.actors_size()) + " actors pinned and waiting" +
                      (names.empty() ? "" : ": " + names) + (plan->wait_for_go() ? "; waiting for go" : ""));
    reporter.emit(ready);
  }
  if (plan->wait_for_go()) {
    std::string argument;
    if (Status s = wait_for_go(config.port_in, reporter, &argument); !s.ok()) return fatal(s.error().message);
    if (!argument.empty()) {
      // Before the release: fsx ops with seed_from_go read it when they start.
      if (Status s = write_file(config.ops.go_seed_path, argument); !s.ok())
        return fatal("the go argument: " + s.error().message);
      reporter.info("go " + argument);
    }
  }
  group->release();
  std::vector<StuckActor> stuck = group->wait(Deadline::after(config.actor_limit), reporter);
  if (!stuck.empty()) {
    std::string names;
    for (const auto& s : stuck) {
      pb::AgentEvent e;
      e.set_kind(pb::AgentEvent::STUCK);
      e.set_actor(s.name);
      e.set_pid(s.pid);
      e.set_cpu(s.cpu);
      e.set_message("still running: " + s.describe());
      reporter.emit(e);
      names += (names.empty() ? "" : "; ") + s.describe();
    }
    group->kill_all();
    return fatal("actors still running " + std::to_string(config.actor_limit.count() / 1000) +
                 " s after release: " + names);
  }

  OpRunner check(ops);
  std::string check_failure;
  int failed_checks = run_agent_ops(w.check(), "check", check, reporter, false, &check_failure);
  pb::AgentEvent done = done_event(group->actors(), w.check_size(), w.check_size(), failed_checks);
  reporter.emit(done);
  return AgentEnd::kDone;
}

}  // namespace racerig::agent
