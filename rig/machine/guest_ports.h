// The guest's two serial ports as racerig sees them, in the run dir: the
// console, a pair of FIFOs (console.in, console.out) for QEMU's
// `-chardev pipe,path=DIR/console`, whose read end racerig holds from the
// start; the agent port, a UNIX socket (agent.sock) racerig listens on and
// QEMU connects to while it starts. Then line buffers, the console log, and
// one epoll fd that wakes on guest bytes (and on extra fds the owner adds,
// e.g. the cancel pipe).
//
// Why the console is a pipe: QEMU's 16550 writes the guest's bytes to
// its chardev one byte per write. A UNIX stream socket takes about 280 such
// writes before it refuses more (measured: each byte is a socket buffer of
// its own); the UART then holds the byte, the guest kernel's console stops
// waiting for it after 10 ms and overwrites its FIFO, and the bytes of an
// oops are lost whenever racerig reads a moment late (a loaded host). A
// pipe joins the bytes and is given 1 MiB.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"
#include "rig/machine/bounded_log.h"
#include "rig/machine/line_buffer.h"

namespace racerig::machine {

class GuestPorts {
 public:
  // Makes the console's FIFOs and listens on DIR/agent.sock. kInput for a
  // path too long for a UNIX socket, kIo for a socket or FIFO call that fails.
  static Result<GuestPorts> listen(const std::filesystem::path& dir);
  GuestPorts(GuestPorts&&) = default;
  GuestPorts& operator=(GuestPorts&&) = default;

  // The path QEMU's pipe chardev is given, and the two FIFOs.
  std::filesystem::path console_pipe() const { return dir_ / "console"; }
  std::vector<std::filesystem::path> console_fifos() const { return {dir_ / "console.in", dir_ / "console.out"}; }
  std::filesystem::path agent_path() const { return dir_ / "agent.sock"; }

  // Accepts QEMU's connection to the agent port. `gone` is asked between
  // waits (every 100 ms at most) and returns a non-empty reason when QEMU
  // died: that becomes a kIo error. kTimeout at the deadline. Then builds
  // the epoll fd over the console, the agent port and `extra_fds` (negative
  // ones skipped).
  Status accept(Deadline deadline, const std::function<std::string()>& gone, const std::vector<int>& extra_fds);

  int event_fd() const { return epoll_.get(); }
  // Never blocks: reads what both sockets hold. A socket at EOF is closed and
  // leaves the epoll set.
  void drain();
  // Both connections are closed (QEMU closed its ends: it exited).
  bool both_closed() const { return !console_.valid() && !agent_.valid(); }
  std::vector<std::string> take_console_lines() { return console_lines_.take_lines(); }
  std::vector<std::string> take_agent_lines() { return agent_lines_.take_lines(); }
  // What the console said (carriage returns removed), its head and tail
  // only once it grew past BoundedLog's caps.
  const std::string& console_log() const { return console_log_.text(); }
  // A mark of the console so far, and what it said after a mark.
  uint64_t console_mark() const { return console_log_.total(); }
  std::string console_since(uint64_t mark) const { return console_log_.since(mark); }
  // What the agent port said (carriage returns removed), bounded the same way.
  const std::string& agent_log() const { return agent_log_.text(); }
  Status send_agent_line(std::string_view line);
  // Stops watching `fd` (one of accept's extra fds, e.g. a reaped pidfd).
  void unwatch(int fd);
  // Forgets what was read, unfinished lines included.
  void discard();
  void close();

 private:
  GuestPorts() = default;
  // `pipe`: a read of 0 bytes is the end only once a writer has come and
  // gone (before QEMU opens the FIFO there is no writer yet).
  static void read_into(ScopedFd& fd, LineBuffer& lines, BoundedLog* log, int epoll, bool pipe);

  std::filesystem::path dir_;
  ScopedFd agent_listener_, console_, agent_, epoll_;
  LineBuffer console_lines_, agent_lines_;
  BoundedLog console_log_, agent_log_;
};

}  // namespace racerig::machine
