// Guarded mapping access with sigsetjmp/siglongjmp from SIGBUS/SIGSEGV.
#include "guest/agent/memguard.h"

#include <setjmp.h>
#include <signal.h>

#include <cstdio>
#include <cstring>

namespace racerig::agent {

namespace {

sigjmp_buf g_jump;
volatile sig_atomic_t g_armed = 0;
volatile sig_atomic_t g_signo = 0;
void* volatile g_addr = nullptr;

void on_fault(int signo, siginfo_t* info, void*) {
  if (!g_armed) {
    // Not ours: die of it as if there were no handler.
    signal(signo, SIG_DFL);
    raise(signo);
    return;
  }
  g_armed = 0;
  g_signo = signo;
  g_addr = info->si_addr;
  siglongjmp(g_jump, 1);
}

void install_once() {
  static bool installed = false;
  if (installed) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGBUS, &sa, nullptr);
  sigaction(SIGSEGV, &sa, nullptr);
  installed = true;
}

template <typename F>
std::optional<MemFault> guarded(F&& body) {
  install_once();
  if (sigsetjmp(g_jump, 1) != 0) {
    MemFault f;
    f.signo = g_signo;
    f.addr = reinterpret_cast<uintptr_t>(g_addr);
    return f;
  }
  g_armed = 1;
  body();
  g_armed = 0;
  return std::nullopt;
}

}  // namespace

std::string MemFault::describe() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s at 0x%llx", signo == SIGBUS ? "SIGBUS" : signo == SIGSEGV ? "SIGSEGV" : "signal",
                static_cast<unsigned long long>(addr));
  return buf;
}

std::optional<MemFault> guarded_fill(void* dst, uint8_t byte, size_t n) {
  return guarded([&] { std::memset(dst, byte, n); });
}

std::optional<MemFault> guarded_copy(void* dst, const void* src, size_t n) {
  return guarded([&] { std::memcpy(dst, src, n); });
}

}  // namespace racerig::agent
