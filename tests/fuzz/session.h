// The peer's side of a fuzzed session: the input's bytes, as a stub or a
// QMP server would send them, waiting in a UNIX socketpair whose far end is
// then shut for writing, so the client under test reads the input and then
// end of file (never a wait for bytes that will not come). Whatever the
// client sends goes into the pair's buffer, unread.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "rig/base/scoped_fd.h"

namespace racerig::fuzz {

// The client's end of a socketpair holding `data` (as much of it as the
// socket buffer takes: a session longer than that is cut).
inline ScopedFd session_with(const uint8_t* data, size_t size) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);  // ours only: a full buffer cuts the session
  const int buf = 1 << 20;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  size_t at = 0;
  while (at < size) {
    const ssize_t n = ::write(fds[0], data + at, size - at);
    if (n <= 0) break;
    at += static_cast<size_t>(n);
  }
  ::shutdown(fds[0], SHUT_WR);
  // The peer's end stays open (the client's writes land in it) until the
  // client's end is closed; closing ours now would make them EPIPE, which
  // is a case of its own the sessions also meet when the input is short.
  ScopedFd peer(fds[0]);
  static ScopedFd* kept = nullptr;  // the previous session's peer end
  delete kept;
  kept = new ScopedFd(std::move(peer));
  return ScopedFd(fds[1]);
}

}  // namespace racerig::fuzz
