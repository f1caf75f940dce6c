// Cancellation by signal and by per-job token (see cancel.h).
#include "rig/process/cancel.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>

namespace racerig::process {

namespace {

std::atomic<bool> g_cancelled{false};
int g_pipe[2] = {-1, -1};
std::once_flag g_pipe_once;
thread_local std::shared_ptr<CancelToken> t_current;

// The signal pipe exists from first use, so tokens made before
// install_cancel_handlers() still see a later signal.
void ensure_pipe() {
  std::call_once(g_pipe_once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  });
}

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
  ensure_pipe();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and look at the flag
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool cancelled() { return g_cancelled.load() || (t_current && t_current->cancelled()); }

int cancel_fd() {
  if (t_current && t_current->fd() >= 0) return t_current->fd();
  return g_pipe[0];
}

std::shared_ptr<CancelToken> current_token() { return t_current; }

std::shared_ptr<CancelToken> CancelToken::make() {
  ensure_pipe();
  std::shared_ptr<CancelToken> token(new CancelToken());
  token->event_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  token->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  bool ok = token->event_.valid() && token->epoll_.valid();
  for (int fd : {token->event_.get(), g_pipe[0]}) {
    if (!ok || fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ok = ::epoll_ctl(token->epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
  }
  if (!ok) token->epoll_.reset();
  return token;
}

void CancelToken::cancel() {
  if (cancelled_.exchange(true)) return;
  if (event_.valid()) {
    uint64_t one = 1;
    ssize_t n = ::write(event_.get(), &one, sizeof one);
    (void)n;
  }
}

ScopedCancel::ScopedCancel(std::shared_ptr<CancelToken> token) : previous_(std::move(t_current)) {
  t_current = token ? std::move(token) : previous_;
}

ScopedCancel::~ScopedCancel() { t_current = std::move(previous_); }

}  // namespace racerig::process
