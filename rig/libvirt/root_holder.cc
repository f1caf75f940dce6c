// Who holds an embedded libvirt root (see root_holder.h).
#include "rig/libvirt/root_holder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"
#include "rig/process/cancel.h"

namespace racerig::libvirt {

namespace {

std::filesystem::path lock_file(const std::filesystem::path& root) { return root / "run" / "qemu" / "driver.pid"; }

}  // namespace

std::optional<pid_t> embed_root_holder(const std::filesystem::path& root) {
  ScopedFd fd(::open(lock_file(root).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return std::nullopt;
  struct flock probe {};
  probe.l_type = F_WRLCK;  // conflicts with any lock, read or write
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 0;  // the whole file
  if (::fcntl(fd.get(), F_GETLK, &probe) != 0 || probe.l_type == F_UNLCK || probe.l_pid <= 0) return std::nullopt;
  return probe.l_pid;
}

std::string describe_holder(pid_t pid) {
  std::string out = "pid " + std::to_string(pid);
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline", 4096);
  if (!cmdline.ok() || cmdline->empty()) return out;
  std::string text = *cmdline;
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text)
    if (c == '\0' || static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return out + " (" + text + ")";
}

Status hold_embed_root(const std::filesystem::path& root, Deadline deadline,
                       const std::function<void(const std::string&)>& waiting) {
  // One descriptor per root for the process's life (see the header).
  static std::mutex* mu = new std::mutex();
  static std::map<std::string, int>* held = new std::map<std::string, int>();
  std::lock_guard<std::mutex> guard(*mu);
  const std::string key = root.lexically_normal().string();
  if (held->count(key) != 0) return Status::Ok();
  const std::filesystem::path file = lock_file(root);
  ScopedFd fd(::open(file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::Ok();  // never started: nobody holds it
    return errno_error("opening " + file.string() + " (the lock of libvirt's embedded root)");
  }
  bool said = false;
  for (;;) {
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    if (::fcntl(fd.get(), F_SETLK, &l) == 0) break;
    if (errno != EACCES && errno != EAGAIN) return errno_error("locking " + file.string());
    const auto holder = embed_root_holder(root);
    const std::string who = holder ? describe_holder(*holder) : "another process";
    if (!said && waiting) {
      waiting("libvirt's embedded root " + root.string() + " is in use by " + who + "; waiting for it (at most " +
              std::to_string(deadline.poll_timeout_ms() / 1000) + " s)");
      said = true;
    }
    if (process::cancelled())
      return make_error(ErrorKind::kCancelled,
                        "cancelled while waiting for libvirt's embedded root " + root.string() + " (in use by " + who + ")");
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout, "libvirt's embedded root " + root.string() + " stayed in use by " + who +
                                                 " (one process at a time per root; use another root or "
                                                 "qemu:///system)");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  (*held)[key] = fd.release();
  return Status::Ok();
}

}  // namespace racerig::libvirt
