// A typed GDB remote client for QEMU's gdbstub: breakpoints, per-vCPU
// resume (vCont), stop replies, registers by name (from the target
// description), memory, interrupt. Threads are the stub's 1-based ids
// (vCPU index + 1). It tracks whether the target runs: requests that need a
// stopped target fail with kInternal while it runs, never hang.
//
// State machine (cf. LLDB's GDBRemoteClientBase): stopped --resume()-->
// running --wait_stop() gets a stop reply / interrupt()--> stopped.
// While running, only wait_stop() and interrupt() are allowed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/guest_addr.h"
#include "rig/base/result.h"
#include "rig/gdbremote/codec.h"
#include "rig/gdbremote/connection.h"

namespace racerig::gdbremote {

enum class BreakpointKind { kSoftware, kHardware };

struct WaitResult {
  bool woken = false;  // the wake fd fired; the target still runs
  StopReply stop;      // when !woken
};

class Client {
 public:
  struct ThreadAction {
    enum Kind { kContinue, kStep };
    int thread = 0;  // 1-based
    Kind kind = kContinue;
  };

  explicit Client(Connection connection) : conn_(std::move(connection)) {}

  // qSupported, vCont?, the target description (with its includes) and the
  // initial stop reason. Must be called once, with the target stopped.
  Status handshake(Deadline deadline);

  // Z0/Z1 and z0/z1 (x86 kind 1). kProtocol with the stub's error code.
  Status insert_breakpoint(GuestAddr addr, BreakpointKind kind, Deadline deadline);
  Status remove_breakpoint(GuestAddr addr, BreakpointKind kind, Deadline deadline);

  // vCont with one action per listed thread; unlisted threads stay stopped.
  // Returns once the request is acknowledged; the target is then running.
  Status resume(const std::vector<ThreadAction>& actions, Deadline deadline);
  // Waits for the stop reply of a running target, or until wake_fd (>= 0)
  // is readable (woken, still running). kTimeout leaves it running.
  Result<WaitResult> wait_stop(Deadline deadline, int wake_fd = -1);
  // Stops a running target (0x03) and returns its stop reply, which may be a
  // breakpoint hit that raced with the request. On a stopped target it
  // returns the last stop reply without sending anything.
  Result<StopReply> interrupt(Deadline deadline);
  // Single-steps one thread (the others stay stopped) and returns the stop.
  Result<StopReply> step(int thread, Deadline deadline);

  // A register by its target-description name ("rip", "rdx", "gs_base").
  // kInput for a name the target does not have.
  Result<uint64_t> read_register(int thread, std::string_view name, Deadline deadline);
  // Sets a register (at most 64 bits) of a stopped thread ('P' packet).
  Status write_register(int thread, std::string_view name, uint64_t value, Deadline deadline);
  // Guest virtual memory as `thread` sees it (its page tables).
  Result<std::vector<uint8_t>> read_memory(int thread, GuestAddr addr, size_t len, Deadline deadline);

  // The thread ids the stub reports (qfThreadInfo/qsThreadInfo).
  Result<std::vector<int>> threads(Deadline deadline);
  const std::vector<RegisterInfo>& registers() const { return registers_; }
  bool running() const { return running_; }
  // After a request, an interrupt or a step timed out, a late reply could
  // answer the next request: the client is then out of step for good and
  // every later call fails (kIo, naming the request that timed out) without
  // sending anything. Only a new connection (a rebuilt VM) recovers.
  // wait_stop()'s kTimeout is not one of these: the target still runs.
  bool broken() const { return !broken_by_.empty(); }
  const StopReply& last_stop() const { return last_stop_; }

  // Drops the connection without detaching: QEMU keeps the VM stopped with
  // its gdbstub open for another debugger.
  void close_keep_stopped() { conn_.close(); }

 private:
  // Sends a request and returns its reply; stop replies cannot arrive here
  // because the target is stopped.
  Result<std::string> request(std::string_view payload, Deadline deadline);
  Status expect_ok(std::string_view payload, std::string_view what, Deadline deadline);
  Result<std::string> read_xfer(const std::string& annex, Deadline deadline);
  Status load_description(const std::string& annex, int depth, Deadline deadline);
  Status select_thread(int thread, Deadline deadline);
  Status require_stopped(std::string_view what) const;
  // Reads packets until a stop reply (skipping 'O' console output).
  Result<WaitResult> read_stop(Deadline deadline, int wake_fd);

  Connection conn_;
  std::vector<RegisterInfo> registers_;
  size_t max_packet_ = 4096;
  // Marks the client broken when `r` is a timeout of `what`.
  template <typename T>
  T note_timeout(T r, std::string_view what) {
    if (!r.ok() && r.error().kind == ErrorKind::kTimeout && broken_by_.empty()) broken_by_ = std::string(what);
    return r;
  }
  Status require_in_step(std::string_view what) const;

  bool running_ = false;
  StopReply last_stop_;
  std::string broken_by_;  // the request that timed out ("" while in step)
};

}  // namespace racerig::gdbremote
