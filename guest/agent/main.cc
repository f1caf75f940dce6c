// racerig-agent: the guest's /init. As PID 1 it mounts the pseudo
// filesystems, opens the host port (/dev/ttyS1, raw), runs the plan and
// powers the machine off; it never exits (PID 1 exiting panics the kernel).
// Run as any other PID (on the host, for debugging) it reads the plan given
// with --plan, reports on stdout, reads "go" from stdin and just exits.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "guest/agent/agent.h"
#include "guest/agent/plan.h"

namespace racerig::agent {
namespace {

constexpr char kPort[] = "/dev/ttyS1";

// Mounts `type` on `target` unless something is mounted there already.
std::string mount_pseudo(const char* type, const char* target) {
  ::mkdir(target, 0755);
  if (::mount(type, target, type, 0, nullptr) == 0 || errno == EBUSY) return "";
  return std::string("mount -t ") + type + " " + target + ": " + std::strerror(errno);
}

// Opens the host port raw: no echo (the "go" must not come back), no line
// discipline translation, blocking reads of at least one byte.
int open_port(std::string* error) {
  int fd = ::open(kPort, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::string("open ") + kPort + ": " + std::strerror(errno);
    return -1;
  }
  struct termios t {};
  if (::tcgetattr(fd, &t) == 0) {
    ::cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    ::cfsetspeed(&t, B115200);
    if (::tcsetattr(fd, TCSANOW, &t) != 0) *error = std::string("tcsetattr ") + kPort + ": " + std::strerror(errno);
    ::tcflush(fd, TCIFLUSH);
  } else {
    *error = std::string("tcgetattr ") + kPort + ": " + std::strerror(errno);
  }
  return fd;
}

// How long the last event lines may take to leave the serial port.
constexpr unsigned kDrainSeconds = 10;

void on_alarm(int) {}

// Waits until the port's UART has sent every byte written to it: write()
// returns once the tty layer holds the line, and a power-off drops what it
// still holds (seen in CI: a run's last events lost, the host calling the
// agent failed). Bounded: a host that stopped reading must not keep the
// machine up; the alarm interrupts tcdrain (no SA_RESTART).
void drain_port(int port) {
  struct sigaction sa {};
  sa.sa_handler = on_alarm;
  ::sigemptyset(&sa.sa_mask);
  if (::sigaction(SIGALRM, &sa, nullptr) != 0) return;
  ::alarm(kDrainSeconds);
  (void)::tcdrain(port);
  ::alarm(0);
}

[[noreturn]] void power_off(bool sync_first, int port, const Reporter& reporter) {
  // After a FATAL the filesystem may be wedged (a dead task holding its
  // locks): syncing could hang, and the data no longer matters.
  if (sync_first) ::sync();
  drain_port(port);
  ::reboot(RB_POWER_OFF);
  reporter.fatal(std::string("reboot(RB_POWER_OFF): ") + std::strerror(errno));
  for (;;) ::pause();
}

[[noreturn]] void pid1_main(Reporter::Clock::time_point start) {
  std::string problems;
  for (auto [type, target] : {std::pair{"proc", "/proc"}, {"sysfs", "/sys"}, {"devtmpfs", "/dev"}}) {
    std::string e = mount_pseudo(type, target);
    if (!e.empty()) problems += (problems.empty() ? "" : "; ") + e;
  }
  std::string port_error;
  int port = open_port(&port_error);
  if (port < 0) {
    // Say it where a human will look, then stop the machine.
    int console = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
    Reporter fallback(console >= 0 ? console : 2, start);
    fallback.fatal("racerig-agent: no host port: " + port_error + (problems.empty() ? "" : "; " + problems));
    power_off(false, console >= 0 ? console : 2, fallback);
  }
  Reporter reporter(port, start);
  if (!port_error.empty()) reporter.info("host port: " + port_error);
  if (!problems.empty()) reporter.info("pseudo filesystems: " + problems);
  AgentConfig config;
  config.port_out = port;
  config.port_in = port;
  AgentEnd end = run_agent(config, start);
  auto plan = read_plan(config.plan_path);
  if (end == AgentEnd::kDone && plan.ok() && plan->stay_up()) {
    ::sync();
    for (;;) ::pause();  // the host restores a snapshot; nothing to do
  }
  power_off(end == AgentEnd::kDone, port, reporter);
}

int host_main(int argc, char** argv, Reporter::Clock::time_point start) {
  AgentConfig config;
  config.plan_path = "";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--plan" && i + 1 < argc) {
      config.plan_path = argv[++i];
    } else if (a == "--actor-limit-ms" && i + 1 < argc) {
      config.actor_limit = std::chrono::milliseconds(std::atoll(argv[++i]));
    } else {
      config.plan_path.clear();
      break;
    }
  }
  if (config.plan_path.empty()) {
    std::fprintf(stderr,
                 "usage: racerig-agent --plan PLAN.pb [--actor-limit-ms N]\n"
                 "As PID 1 (the guest's /init) it reads %s and reports on %s. Run elsewhere, it reports\n"
                 "on stdout and reads \"go\" from stdin; use plans with setup { skip_fsdax: true }.\n",
                 kPlanPath, kPort);
    return 2;
  }
  config.port_out = 1;
  config.port_in = 0;
  return run_agent(config, start) == AgentEnd::kDone ? 0 : 1;
}

}  // namespace
}  // namespace racerig::agent

int main(int argc, char** argv) {
  const auto start = racerig::agent::Reporter::Clock::now();
  if (::getpid() == 1) racerig::agent::pid1_main(start);
  return racerig::agent::host_main(argc, argv, start);
}
