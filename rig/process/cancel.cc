// Cancellation by signal (see cancel.h).
#include "rig/process/cancel.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace racerig::process {

namespace {

std::atomic<bool> g_cancelled{false};
int g_pipe[2] = {-1, -1};

void on_signal(int sig) {
  if (g_cancelled.exchange(true)) {
    ::signal(sig, SIG_DFL);  // second signal: let it kill us
    return;
  }
  if (g_pipe[1] >= 0) {
    char c = 1;
    ssize_t n = ::write(g_pipe[1], &c, 1);
    (void)n;
  }
}

}  // namespace

void install_cancel_handlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and look at the flag
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool cancelled() { return g_cancelled.load(); }

int cancel_fd() { return g_pipe[0]; }

}  // namespace racerig::process
