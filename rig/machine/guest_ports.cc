// The guest's serial ports on UNIX sockets (see guest_ports.h).
#include "rig/machine/guest_ports.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "rig/base/unix_socket.h"

namespace racerig::machine {

namespace fs = std::filesystem;

namespace {

Result<ScopedFd> listen_unix(const fs::path& path) {
  const std::string p = path.string();
  RACERIG_ASSIGN(sockaddr_un addr, unix_address(p));
  ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno_error("socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return errno_error("bind " + p);
  if (::listen(fd.get(), 1) != 0) return errno_error("listen " + p);
  return fd;
}

// What the console pipe is given; more than any console printed while
// racerig is busy elsewhere.
constexpr int kConsolePipeBytes = 1 << 20;

// Makes the FIFO pair and opens the read end of console.out (a FIFO's read
// end opens without waiting for a writer when non-blocking).
Result<ScopedFd> make_console_fifos(const std::vector<fs::path>& fifos) {
  for (const fs::path& f : fifos)
    if (::mkfifo(f.c_str(), 0600) != 0) return errno_error("mkfifo " + f.string());
  ScopedFd fd(::open(fifos[1].c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + fifos[1].string());
  // Best effort: an unprivileged user past fs.pipe-max-size or its pipe
  // quota keeps the default 64 KiB, still far more than a socket holds.
  (void)::fcntl(fd.get(), F_SETPIPE_SZ, kConsolePipeBytes);
  return fd;
}

}  // namespace

Result<GuestPorts> GuestPorts::listen(const fs::path& dir) {
  GuestPorts ports;
  ports.dir_ = dir;
  RACERIG_ASSIGN(ports.console_, make_console_fifos(ports.console_fifos()));
  RACERIG_ASSIGN(ports.agent_listener_, listen_unix(ports.agent_path()));
  return ports;
}

Status GuestPorts::accept(Deadline deadline, const std::function<std::string()>& gone,
                          const std::vector<int>& extra_fds) {
  while (!agent_.valid()) {
    int fd = ::accept4(agent_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      agent_.reset(fd);
      break;
    }
    if (errno != EAGAIN && errno != EINTR) return errno_error("accepting QEMU's agent port");
    if (std::string why = gone(); !why.empty())
      return make_error(ErrorKind::kIo, "QEMU ended before connecting its agent port: " + why);
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QEMU did not connect its agent port in time");
    pollfd p{agent_listener_.get(), POLLIN, 0};
    (void)::poll(&p, 1, std::min(deadline.poll_timeout_ms(), 100));
  }
  agent_listener_.reset();
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) return errno_error("epoll_create1");
  std::vector<int> fds = {console_.get(), agent_.get()};
  fds.insert(fds.end(), extra_fds.begin(), extra_fds.end());
  for (int fd : fds) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno_error("epoll_ctl");
  }
  return Status::Ok();
}

void GuestPorts::read_into(ScopedFd& fd, LineBuffer& lines, BoundedLog* log, int epoll, bool pipe) {
  while (fd.valid()) {
    char buf[16384];
    ssize_t n = pipe ? ::read(fd.get(), buf, sizeof buf) : ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      std::string_view bytes(buf, static_cast<size_t>(n));
      lines.feed(bytes);
      if (log != nullptr) {
        std::string kept;
        kept.reserve(bytes.size());
        for (char c : bytes)
          if (c != '\r') kept += c;
        log->append(kept);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n == 0 && pipe) {
      // No writer: QEMU has not opened the FIFO yet, or it closed it. Only
      // the second says POLLHUP (a writer came and went since our open).
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLHUP)) return;
    }
    // EOF or error: QEMU closed its end. Stop watching it so the event fd
    // does not stay readable forever.
    if (epoll >= 0) (void)::epoll_ctl(epoll, EPOLL_CTL_DEL, fd.get(), nullptr);
    fd.reset();
  }
}

void GuestPorts::drain() {
  read_into(console_, console_lines_, &console_log_, epoll_.get(), true);
  read_into(agent_, agent_lines_, &agent_log_, epoll_.get(), false);
}

void GuestPorts::unwatch(int fd) {
  if (epoll_.valid() && fd >= 0) (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Status GuestPorts::send_agent_line(std::string_view line) {
  const Deadline deadline = Deadline::after(std::chrono::milliseconds(5000));
  while (!line.empty()) {
    if (!agent_.valid()) return make_error(ErrorKind::kIo, "the agent port is closed (QEMU exited?)");
    ssize_t n = ::send(agent_.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      line.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (deadline.expired()) return make_error(ErrorKind::kTimeout, "the agent port does not take bytes");
      pollfd p{agent_.get(), POLLOUT, 0};
      (void)::poll(&p, 1, deadline.poll_timeout_ms());
      continue;
    }
    return errno_error("writing to the agent port");
  }
  return Status::Ok();
}

void GuestPorts::discard() {
  drain();
  console_lines_.clear();
  agent_lines_.clear();
}

void GuestPorts::close() {
  agent_listener_.reset();
  console_.reset();
  agent_.reset();
  epoll_.reset();
}

}  // namespace racerig::machine
