// One RSP connection to a stub: owns the socket, frames and acks packets
// (codec.h does the bytes), and waits with deadlines. It knows nothing about
// what the packets mean; client.h does.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"
#include "rig/gdbremote/codec.h"

namespace racerig::gdbremote {

class Connection {
 public:
  // Connects to a UNIX socket, retrying while it does not exist yet or
  // refuses (QEMU creates it as it starts) until the deadline: kTimeout.
  static Result<Connection> connect_unix(const std::string& path, Deadline deadline);
  // Takes an already connected socket (tests use one end of a socketpair).
  static Connection adopt(ScopedFd fd);

  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;

  // Sends one packet and waits for the stub's '+'. A '-' makes it
  // retransmit (at most 3 times, then kProtocol). Packets that arrive while
  // waiting for the ack are kept for receive().
  Status send(std::string_view payload, Deadline deadline);
  // The next packet's payload (acked with '+'; a corrupt one is nacked with
  // '-' so the stub sends it again). kTimeout when the deadline passes, kIo
  // when the stub closes the connection.
  Result<std::string> receive(Deadline deadline);
  // As receive(), but returns {woken = true} as soon as `wake_fd` is
  // readable (when >= 0) and no packet is pending. wake_fd is only polled.
  struct Received {
    bool woken = false;
    std::string packet;
  };
  Result<Received> receive_or_wake(Deadline deadline, int wake_fd);
  // Sends the raw interrupt byte 0x03 (not a packet; no ack).
  Status send_interrupt(Deadline deadline);
  // Closes the socket without detaching (QEMU keeps the VM as it is).
  void close() { fd_.reset(); }
  bool is_open() const { return fd_.valid(); }

 private:
  explicit Connection(ScopedFd fd) : fd_(std::move(fd)) {}
  Status write_all(std::string_view bytes, Deadline deadline);
  // Reads what is available into the decoder, waiting until the deadline (or
  // until wake_fd is readable: returns false then).
  Result<bool> fill(Deadline deadline, int wake_fd);
  // Moves decoded frames into pending_ / acks_; answers packets with +/-.
  Status pump(Deadline deadline);

  ScopedFd fd_;
  Decoder decoder_;
  std::deque<std::string> pending_;  // received, acked, not yet taken
  int acks_ = 0, nacks_ = 0;         // acknowledgements not yet consumed
};

}  // namespace racerig::gdbremote
