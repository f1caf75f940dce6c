// Actor processes: fork, pin, barrier, run, reap.
#include "guest/agent/actors.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "guest/agent/plan.h"
#include "rig/base/file.h"

namespace racerig::agent {

namespace {

constexpr char kReady = 'R';
constexpr char kFailed = 'E';

std::string read_small(const std::string& path, size_t limit) {
  std::string out = read_file(path).value_or("");
  if (out.size() > limit) out.resize(limit);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

void write_byte(int fd, char c) {
  while (::write(fd, &c, 1) < 0 && errno == EINTR) {
  }
}

Status pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0) return errno_error("sched_setaffinity to cpu " + std::to_string(cpu));
  int now = -1;
  for (int attempt = 0; attempt < 100; ++attempt) {
    now = ::sched_getcpu();
    if (now == cpu) return Status::Ok();
    ::sched_yield();
  }
  return make_error(ErrorKind::kInternal, "pinned to cpu " + std::to_string(cpu) + " but sched_getcpu() says " +
                                              std::to_string(now));
}

// The actor's whole life; never returns.
[[noreturn]] void actor_main(const pb::Actor& actor, const Reporter& reporter, const OpEnv& env, int barrier_rd,
                             int ready_wr) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  const pid_t pid = ::getpid();
  auto event = [&](pb::AgentEvent::Kind kind) {
    pb::AgentEvent e;
    e.set_kind(kind);
    e.set_actor(actor.name());
    e.set_pid(pid);
    e.set_cpu(::sched_getcpu());
    return e;
  };

  if (Status s = pin_to(actor.cpu()); !s.ok()) {
    pb::AgentEvent e = event(pb::AgentEvent::FATAL);
    e.set_message("actor " + actor.name() + " cannot start: " + s.error().message);
    reporter.emit(e);
    write_byte(ready_wr, kFailed);
    ::_exit(2);
  }
  const std::string comm = comm_of(actor.name());
  ::prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0);
  reporter.emit(event(pb::AgentEvent::ACTOR_START));
  write_byte(ready_wr, kReady);
  ::close(ready_wr);

  // The barrier: every actor blocks here until the agent closes the pipe.
  char c;
  while (::read(barrier_rd, &c, 1) < 0 && errno == EINTR) {
  }
  ::close(barrier_rd);

  OpRunner runner(env);
  int failed_at = -1;
  for (int i = 0; i < actor.ops_size(); ++i) {
    pb::AgentEvent e = runner.run(actor.ops(i));
    e.set_actor(actor.name());
    e.set_op_index(i);
    e.set_pid(pid);
    e.set_cpu(::sched_getcpu());
    reporter.emit(e);
    if (e.kind() == pb::AgentEvent::OP_FAILED) {
      failed_at = i;
      break;
    }
  }
  pb::AgentEvent done = event(pb::AgentEvent::ACTOR_DONE);
  if (failed_at < 0) {
    done.set_message("all " + std::to_string(actor.ops_size()) + " ops ok");
  } else {
    done.set_op_index(failed_at);
    done.set_op(op_name(actor.ops(failed_at)));
    done.set_message("stopped: op " + std::to_string(failed_at) + " (" + op_name(actor.ops(failed_at)) + ") failed");
  }
  reporter.emit(done);
  ::_exit(failed_at < 0 ? 0 : 1);
}

}  // namespace

std::string StuckActor::describe() const {
  std::string out = name + " (pid " + std::to_string(pid) + ", cpu " + std::to_string(cpu) + ", state " +
                    (state.empty() ? "?" : state) + ", wchan " + (wchan.empty() ? "?" : wchan);
  if (!stack.empty()) out += ", stack: " + stack;
  return out + ")";
}

StuckActor inspect_task(const std::string& name, pid_t pid) {
  StuckActor s;
  s.name = name;
  s.pid = pid;
  const std::string dir = "/proc/" + std::to_string(pid) + "/";
  std::string stat = read_small(dir + "stat", 4096);
  size_t paren = stat.rfind(')');
  if (paren != std::string::npos && paren + 2 < stat.size()) {
    std::vector<std::string> fields;
    size_t pos = paren + 2;
    while (pos < stat.size()) {
      size_t sp = stat.find(' ', pos);
      if (sp == std::string::npos) sp = stat.size();
      fields.push_back(stat.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (!fields.empty()) s.state = fields[0];
    if (fields.size() > 36) s.cpu = std::atoi(fields[36].c_str());  // field 39: processor
  }
  s.wchan = read_small(dir + "wchan", 256);
  std::string stack = read_small(dir + "stack", 2048);
  for (char& c : stack)
    if (c == '\n') c = '<';
  s.stack = stack;
  return s;
}

ActorGroup::~ActorGroup() { kill_all(); }

Result<ActorGroup> ActorGroup::start(const pb::Workload& workload, const Reporter& reporter, const OpEnv& env,
                                     Deadline deadline) {
  ActorGroup group;
  int barrier[2], ready[2];
  if (::pipe2(barrier, O_CLOEXEC) != 0) return errno_error("pipe for the actors' start barrier");
  ScopedFd barrier_rd(barrier[0]);
  group.barrier_ = ScopedFd(barrier[1]);
  if (::pipe2(ready, O_CLOEXEC) != 0) return errno_error("pipe for the actors' ready signal");
  ScopedFd ready_rd(ready[0]), ready_wr(ready[1]);

  for (const pb::Actor& actor : workload.actors()) {
    pid_t pid = ::fork();
    if (pid < 0) return errno_error("fork for actor " + actor.name());
    if (pid == 0) {
      ::close(group.barrier_.release());
      ::close(ready_rd.release());
      actor_main(actor, reporter, env, barrier_rd.get(), ready_wr.get());
    }
    ActorProcess p;
    p.name = actor.name();
    p.cpu = actor.cpu();
    p.pid = pid;
    p.running = true;
    group.actors_.push_back(p);
  }
  ready_wr.reset();
  barrier_rd.reset();

  size_t ready_count = 0;
  while (ready_count < group.actors_.size()) {
    struct pollfd pfd = {ready_rd.get(), POLLIN, 0};
    int pr = ::poll(&pfd, 1, deadline.poll_timeout_ms());
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return errno_error("waiting for the actors to start");
    if (pr == 0)
      return make_error(ErrorKind::kTimeout, std::to_string(ready_count) + " of " + std::to_string(group.actors_.size()) +
                                                 " actors pinned and waiting at the deadline");
    char buf[64];
    ssize_t n = ::read(ready_rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return make_error(ErrorKind::kInternal, "an actor ended before it was pinned and waiting (" +
                                                  std::to_string(ready_count) + " of " +
                                                  std::to_string(group.actors_.size()) + " were)");
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == kFailed) return make_error(ErrorKind::kIo, "an actor could not pin itself (see its FATAL event)");
      if (buf[i] == kReady) ++ready_count;
    }
  }
  return group;
}

void ActorGroup::release() { barrier_.reset(); }

void ActorGroup::kill_all() {
  for (auto& a : actors_)
    if (a.running && a.pid > 0) ::kill(a.pid, SIGKILL);
}

std::vector<StuckActor> ActorGroup::wait(Deadline deadline, const Reporter& reporter) {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  auto running = [&] {
    size_t n = 0;
    for (const auto& a : actors_) n += a.running ? 1 : 0;
    return n;
  };
  while (running() > 0) {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& a : actors_) {
        if (a.pid != pid || !a.running) continue;
        a.running = false;
        if (WIFEXITED(status)) a.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) a.signal = WTERMSIG(status);
        if (a.signal != 0 || (a.exit_code != 0 && a.exit_code != 1)) {
          pb::AgentEvent e;
          e.set_kind(pb::AgentEvent::ACTOR_DONE);
          e.set_actor(a.name);
          e.set_pid(a.pid);
          e.set_cpu(a.cpu);
          e.set_signal(a.signal);
          e.set_message(a.signal != 0 ? "killed by signal " + std::to_string(a.signal) + " (" + strsignal(a.signal) +
                                            ") before it reported ACTOR_DONE; a kernel oops in its context ends "
                                            "it like this"
                                      : "exited with code " + std::to_string(a.exit_code) +
                                            " without reporting ACTOR_DONE");
          reporter.emit(e);
        }
      }
    }
    if (pid < 0 && errno == ECHILD) {
      for (auto& a : actors_) a.running = false;  // nothing left to reap
      break;
    }
    if (running() == 0 || deadline.expired()) break;
    int ms = deadline.poll_timeout_ms();
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    ::sigtimedwait(&chld, nullptr, &ts);
  }
  std::vector<StuckActor> stuck;
  for (const auto& a : actors_) {
    if (!a.running) continue;
    StuckActor s = inspect_task(a.name, a.pid);
    if (s.cpu < 0) s.cpu = a.cpu;
    stuck.push_back(s);
  }
  return stuck;
}

Status wait_for_go(int fd, const Reporter& reporter, std::string* argument) {
  std::string line;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading the host port while waiting for \"go\"");
    if (n == 0) return make_error(ErrorKind::kIo, "the host port gave EOF while the agent waited for \"go\"");
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] != '\n') {
        if (line.size() < 4096) line += buf[i];
        continue;
      }
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line == "go") return Status::Ok();
      if (line.rfind("go ", 0) == 0) {
        *argument = line.substr(3);
        return Status::Ok();
      }
      if (!line.empty()) reporter.info("ignored a line from the host while waiting for \"go\": " + line);
      line.clear();
    }
  }
}

}  // namespace racerig::agent
