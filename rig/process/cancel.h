// Cancellation: Ctrl-C/SIGTERM for the whole process, and per-job tokens.
//
// Waits in a run (the VM's event loop, the gdbstub, kernel builds) poll
// cancel_fd() and check cancelled(), so they end promptly and the run unwinds
// through its destructors (QEMU stopped, sockets and temp dirs removed).
//
// A CancelToken is one job's cancellation. A thread that runs the job makes
// it current with a ScopedCancel; cancelled() and cancel_fd() on that thread
// then follow the token as well as the signal flag, so several jobs on
// several threads can be cancelled one at a time alongside Ctrl-C.
#pragma once

#include <atomic>
#include <memory>

#include "rig/base/scoped_fd.h"

namespace racerig::process {

// Installs SIGINT/SIGTERM handlers (idempotent). A second signal after the
// first restores the default action, so a stuck program can still be killed.
void install_cancel_handlers();
// True once a signal came, or the calling thread's current token was cancelled.
bool cancelled();
// Readable once cancelled() is true (level-triggered, never drained): the
// current token's fd on a thread that has one, else the signal pipe's.
int cancel_fd();

class CancelToken {
 public:
  // A token whose fd also becomes readable on SIGINT/SIGTERM (when the
  // handlers are installed). Errors (no fds left) give a token that can
  // still be cancelled but whose fd() is -1.
  static std::shared_ptr<CancelToken> make();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  // Thread-safe, idempotent, never blocks.
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  // Readable once cancel() was called or a cancel signal came.
  int fd() const { return epoll_.get(); }

 private:
  CancelToken() = default;
  std::atomic<bool> cancelled_{false};
  ScopedFd event_;  // eventfd, written by cancel()
  ScopedFd epoll_;  // event_ and the signal pipe: one fd to wait on
};

// The calling thread's current token (null when it has none), for work the
// thread hands to another one: that thread makes it current in turn, so a
// cancelled job stops its helpers too.
std::shared_ptr<CancelToken> current_token();

// Makes `token` the calling thread's current token until destroyed (nests:
// the previous one is restored). A null token leaves the signal flag alone.
class ScopedCancel {
 public:
  explicit ScopedCancel(std::shared_ptr<CancelToken> token);
  ~ScopedCancel();
  ScopedCancel(const ScopedCancel&) = delete;
  ScopedCancel& operator=(const ScopedCancel&) = delete;

 private:
  std::shared_ptr<CancelToken> previous_;
};

}  // namespace racerig::process
