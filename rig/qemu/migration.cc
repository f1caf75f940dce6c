// Device state by migration over a UNIX socket (see migration.h).
#include "rig/qemu/migration.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "rig/base/scoped_fd.h"
#include "rig/base/unix_socket.h"
#include "rig/qmp/qmp.h"

namespace racerig::qemu {

namespace fs = std::filesystem;

namespace {

Status set_ignore_shared(Vm& vm, Deadline deadline) {
  auto r = vm.qmp("migrate-set-capabilities",
                  R"({"capabilities": [{"capability": "x-ignore-shared", "state": true}]})", deadline);
  if (!r.ok()) return r.error().wrap("enabling the x-ignore-shared migration capability");
  return Status::Ok();
}

// A QEMU that died on the way: its log says why.
Error qemu_failure(Vm& vm, const std::string& what) {
  (void)vm.wait_exit(Deadline::after(std::chrono::milliseconds(2000)));
  if (vm.exited()) return make_error(ErrorKind::kIo, what + ": " + vm.exit_text());
  std::string log = vm.qemu_log();
  if (log.size() > 1500) log = "..." + log.substr(log.size() - 1500);
  return make_error(ErrorKind::kIo, what + ": QEMU failed and did not exit; its log: " + log);
}

// Polls query-migrate until the migration ends. `side` names it in errors.
Status wait_migration(Vm& vm, const std::string& side, Deadline deadline) {
  while (true) {
    auto r = vm.qmp("query-migrate", "", deadline);
    if (!r.ok()) {
      vm.drain_events();
      if (vm.exited() || vm.wait_exit(Deadline::after(std::chrono::milliseconds(500))).ok())
        return qemu_failure(vm, side);
      return r.error().wrap(side + ": query-migrate");
    }
    const nlohmann::json reply = nlohmann::json::parse(*r, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object()) return make_error(ErrorKind::kProtocol, side + ": query-migrate answered " + *r);
    const std::string s = reply.value("status", "");
    if (s == "completed") return Status::Ok();
    if (s == "failed" || s == "cancelled")
      return make_error(ErrorKind::kIo, side + ": migration " + s +
                                            (reply.contains("error-desc") ? ": " + reply.value("error-desc", "") : ""));
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, side + ": the migration did not end in time (status '" + s + "')");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

Status save_device_state(Vm& vm, const fs::path& out, Deadline deadline) {
  const std::string what = "saving the device state to " + out.string();
  const fs::path sock = vm.run_dir() / "migrate-out.sock";
  RACERIG_ASSIGN(sockaddr_un addr, unix_address(sock.string()));
  ScopedFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener.valid()) return errno_error("socket");
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return errno_error("bind " + sock.string());
  if (::listen(listener.get(), 1) != 0) return errno_error("listen " + sock.string());
  // QEMU runs as the owner of its run dir (the worker user when we are
  // root); connecting needs write permission on the socket.
  struct stat dir_st {};
  if (::stat(vm.run_dir().c_str(), &dir_st) != 0) return errno_error("stat " + vm.run_dir().string());
  if (::lchown(sock.c_str(), dir_st.st_uid, dir_st.st_gid) != 0) return errno_error("giving " + sock.string() + " to QEMU's user");
  RACERIG_TRY(set_ignore_shared(vm, deadline));
  auto started = vm.qmp("migrate", "{\"uri\": " + qmp::json_quote("unix:" + sock.string()) + "}", deadline);
  if (!started.ok()) return started.error().wrap(what);

  ScopedFd conn;
  while (!conn.valid()) {
    int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      conn.reset(fd);
      break;
    }
    if (errno != EAGAIN && errno != EINTR) return errno_error(what + ": accept");
    pollfd p{listener.get(), POLLIN, 0};
    if (::poll(&p, 1, std::min(deadline.poll_timeout_ms(), 100)) == 0) {
      if (deadline.expired()) return make_error(ErrorKind::kTimeout, what + ": QEMU did not connect in time");
      vm.drain_events();
      if (vm.exited()) return qemu_failure(vm, what);
      // A migration that failed before connecting says so here.
      if (Status s = wait_migration(vm, what, Deadline::after(std::chrono::milliseconds(0))); !s.ok() &&
                                                                                          s.error().kind != ErrorKind::kTimeout)
        return s;
    }
  }
  const fs::path tmp = out.string() + ".tmp";
  ScopedFd file(::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
  if (!file.valid()) return errno_error("creating " + tmp.string());
  auto fail = [&](Error e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return e;
  };
  char buf[1 << 16];
  while (true) {
    pollfd p{conn.get(), POLLIN, 0};
    int r = ::poll(&p, 1, deadline.poll_timeout_ms());
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return fail(make_error(ErrorKind::kTimeout, what + ": the stream did not end in time"));
    ssize_t n = ::read(conn.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fail(errno_error(what + ": reading the stream"));
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(file.get(), buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return fail(errno_error("writing " + tmp.string()));
      off += w;
    }
  }
  if (Status s = wait_migration(vm, what, deadline); !s.ok()) return fail(s.error());
  if (::fsync(file.get()) != 0 || ::close(file.release()) != 0) return fail(errno_error("closing " + tmp.string()));
  if (::rename(tmp.c_str(), out.c_str()) != 0) return fail(errno_error("renaming " + tmp.string()));
  return Status::Ok();
}

Status load_device_state(Vm& vm, const fs::path& in, Deadline deadline) {
  const std::string what = "loading the device state from " + in.string();
  ScopedFd file(::open(in.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) return make_error(ErrorKind::kInput, what + ": " + std::strerror(errno));
  RACERIG_TRY(set_ignore_shared(vm, deadline));
  const fs::path sock = vm.run_dir() / "migrate-in.sock";
  RACERIG_ASSIGN(sockaddr_un addr, unix_address(sock.string()));
  auto started = vm.qmp("migrate-incoming", "{\"uri\": " + qmp::json_quote("unix:" + sock.string()) + "}", deadline);
  if (!started.ok()) return started.error().wrap(what);
  ScopedFd conn(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!conn.valid()) return errno_error("socket");
  if (::connect(conn.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return errno_error(what + ": connecting to " + sock.string());
  timeval tv{1, 0};  // each send is bounded; the loop checks the deadline
  (void)::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  char buf[1 << 16];
  size_t total = 0;
  while (true) {
    ssize_t n = ::read(file.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading " + in.string());
    if (n == 0) break;
    total += static_cast<size_t>(n);
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::send(conn.get(), buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
        if (deadline.expired()) return make_error(ErrorKind::kTimeout, what + ": QEMU did not take the stream in time");
        vm.drain_events();
        if (vm.exited()) return qemu_failure(vm, what);
        continue;
      }
      if (w < 0) {
        vm.drain_events();
        if (vm.exited() || vm.wait_exit(Deadline::after(std::chrono::milliseconds(500))).ok())
          return qemu_failure(vm, what);
        return errno_error(what + ": sending the stream");
      }
      off += w;
    }
  }
  if (total == 0) return make_error(ErrorKind::kInput, what + ": the file is empty");
  ::shutdown(conn.get(), SHUT_WR);
  return wait_migration(vm, what, deadline);
}

}  // namespace racerig::qemu
