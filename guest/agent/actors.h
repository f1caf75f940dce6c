// The workload's actors: one forked process each, pinned to its CPU, named
// after the actor (the comm the schedule matches), all waiting on one start
// barrier so that they start together when the host says go.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "guest/agent/ops.h"
#include "guest/agent/reporter.h"
#include "proto/racerig.pb.h"
#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"

namespace racerig::agent {

struct ActorProcess {
  std::string name;
  int cpu = 0;
  pid_t pid = -1;
  bool running = false;
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal (or an oops) killed it
};

// An actor still running at the deadline, with what the kernel says it waits on.
struct StuckActor {
  std::string name;
  pid_t pid = -1;
  int cpu = -1;
  std::string state;  // from /proc/<pid>/stat
  std::string wchan;
  std::string stack;  // /proc/<pid>/stack when the kernel has it
  std::string describe() const;
};

class ActorGroup {
 public:
  ActorGroup(ActorGroup&&) = default;
  ActorGroup& operator=(ActorGroup&&) = default;
  ~ActorGroup();

  // Forks one process per actor. SIGCHLD must be blocked in the caller
  // (wait() takes it with sigtimedwait). Each child pins itself to its cpu
  // and checks it runs there, sets its comm, reports ACTOR_START and blocks
  // on the barrier. Returns once every actor is pinned and waiting; if one
  // fails to start (it reports why) or the deadline passes, every actor is
  // killed and the error names the actor.
  static Result<ActorGroup> start(const pb::Workload& workload, const Reporter& reporter, const OpEnv& env,
                                  Deadline deadline);

  // Lets every actor run its ops at once (closes the barrier pipe).
  void release();

  // Reaps actors until all exited or the deadline passes. An actor killed
  // by a signal before it reported ACTOR_DONE gets an ACTOR_DONE from here
  // naming the signal. Returns the actors still running.
  std::vector<StuckActor> wait(Deadline deadline, const Reporter& reporter);

  // SIGKILLs every actor still running (no wait).
  void kill_all();

  const std::vector<ActorProcess>& actors() const { return actors_; }

 private:
  ActorGroup() = default;

  std::vector<ActorProcess> actors_;
  ScopedFd barrier_;  // write end; closing it releases the actors
};

// Reads lines from `fd` until one is "go". Other lines are reported as INFO
// and ignored. Blocks without a deadline (the host may take long to arm its
// breakpoints); kIo on EOF or a read error.
// Blocks until the host sends "go" or "go ARGUMENT"; the argument (maybe
// empty) goes to *argument.
Status wait_for_go(int fd, const Reporter& reporter, std::string* argument);

// What /proc says about a task that does not finish.
StuckActor inspect_task(const std::string& name, pid_t pid);

}  // namespace racerig::agent
