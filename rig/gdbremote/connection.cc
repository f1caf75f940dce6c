// RSP connection: socket, acks, deadlines (see connection.h).
#include "rig/gdbremote/connection.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "rig/base/unix_socket.h"

namespace racerig::gdbremote {

Result<Connection> Connection::connect_unix(const std::string& path, Deadline deadline) {
  auto address = unix_address(path);
  if (!address.ok())
    return make_error(ErrorKind::kInput, "socket path too long (" + std::to_string(path.size()) + " bytes): " + path);
  sockaddr_un addr = *address;
  int last_errno = 0;
  while (true) {
    ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return errno_error("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      int flags = ::fcntl(fd.get(), F_GETFL);
      if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) return errno_error("fcntl " + path);
      return Connection(std::move(fd));
    }
    last_errno = errno;
    if (last_errno != ENOENT && last_errno != ECONNREFUSED && last_errno != EAGAIN)
      return make_error(ErrorKind::kIo, "connecting to the gdbstub at " + path + ": " + std::strerror(last_errno));
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout,
                        "the gdbstub at " + path + " did not accept a connection in time (" + std::strerror(last_errno) + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Connection Connection::adopt(ScopedFd fd) {
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags >= 0) (void)::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK);
  return Connection(std::move(fd));
}

Status Connection::write_all(std::string_view bytes, Deadline deadline) {
  if (!fd_.valid()) return make_error(ErrorKind::kIo, "the gdbstub connection is closed");
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_.get(), POLLOUT, 0};
      int r = ::poll(&p, 1, deadline.poll_timeout_ms());
      if (r < 0 && errno != EINTR) return errno_error("poll on the gdbstub socket");
      if (r == 0 && deadline.expired()) return make_error(ErrorKind::kTimeout, "the gdbstub did not take our bytes in time");
      continue;
    }
    return make_error(ErrorKind::kIo, std::string("writing to the gdbstub: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Result<bool> Connection::fill(Deadline deadline, int wake_fd) {
  if (!fd_.valid()) return make_error(ErrorKind::kIo, "the gdbstub connection is closed");
  while (true) {
    pollfd p[2] = {{fd_.get(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int r = ::poll(p, wake_fd >= 0 ? 2 : 1, deadline.poll_timeout_ms());
    if (r < 0) {
      if (errno == EINTR) {
        if (deadline.expired()) return make_error(ErrorKind::kTimeout, "no reply from the gdbstub in time");
        // A signal (Ctrl-C) may want the caller to look at wake_fd.
        if (wake_fd >= 0) return false;
        continue;
      }
      return errno_error("poll on the gdbstub socket");
    }
    if (r == 0) {
      if (deadline.expired()) return make_error(ErrorKind::kTimeout, "no reply from the gdbstub in time");
      continue;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n > 0) {
        decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
        return true;
      }
      if (n == 0) return make_error(ErrorKind::kIo, "the gdbstub closed the connection");
      if (errno == EINTR || errno == EAGAIN) continue;
      return make_error(ErrorKind::kIo, std::string("reading from the gdbstub: ") + std::strerror(errno));
    }
    if (wake_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) return false;
  }
}

Status Connection::pump(Deadline deadline) {
  while (auto frame = decoder_.next()) {
    switch (frame->kind) {
      case Frame::Kind::kAck: ++acks_; break;
      case Frame::Kind::kNack: ++nacks_; break;
      case Frame::Kind::kPacket:
        RACERIG_TRY(write_all("+", deadline));
        pending_.push_back(std::move(frame->payload));
        break;
      case Frame::Kind::kBadPacket:
        // Ask for it again; a stub that keeps sending garbage ends in the
        // caller's deadline.
        RACERIG_TRY(write_all("-", deadline));
        break;
    }
  }
  return Status::Ok();
}

Status Connection::send(std::string_view payload, Deadline deadline) {
  const std::string framed = encode_packet(payload);
  for (int attempt = 0; attempt < 4; ++attempt) {
    acks_ = nacks_ = 0;
    RACERIG_TRY(write_all(framed, deadline));
    while (acks_ == 0 && nacks_ == 0) {
      auto got = fill(deadline, -1);
      if (!got.ok()) {
        Error e = got.error();
        if (e.kind == ErrorKind::kTimeout) e.message = "the gdbstub did not acknowledge " + framed.substr(0, 40);
        return e;
      }
      RACERIG_TRY(pump(deadline));
    }
    if (acks_ > 0) {
      acks_ = 0;
      return Status::Ok();
    }
  }
  return make_error(ErrorKind::kProtocol, "the gdbstub rejected " + framed.substr(0, 40) + " four times");
}

Result<std::string> Connection::receive(Deadline deadline) {
  RACERIG_ASSIGN(Received got, receive_or_wake(deadline, -1));
  return std::move(got.packet);
}

Result<Connection::Received> Connection::receive_or_wake(Deadline deadline, int wake_fd) {
  while (true) {
    RACERIG_TRY(pump(deadline));
    if (!pending_.empty()) {
      Received r{false, std::move(pending_.front())};
      pending_.pop_front();
      return r;
    }
    RACERIG_ASSIGN(bool readable, fill(deadline, wake_fd));
    if (!readable) return Received{true, {}};
  }
}

Status Connection::send_interrupt(Deadline deadline) { return write_all("\x03", deadline); }

}  // namespace racerig::gdbremote
