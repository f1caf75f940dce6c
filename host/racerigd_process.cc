// A racerigd started by `racerig bench` (see racerigd_process.h).
#include "host/racerigd_process.h"

#include <fcntl.h>
#include <poll.h>

#include <algorithm>

#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"
#include "rig/process/cancel.h"

namespace racerig::host {

namespace fs = std::filesystem;

std::string log_tail(const fs::path& path, size_t max_bytes) {
  auto text = read_file(path, size_t{16} << 20);
  if (!text.ok()) return "(no log: " + text.error().message + ")";
  std::string s = std::move(*text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() <= max_bytes) return s;
  s = s.substr(s.size() - max_bytes);
  if (size_t nl = s.find('\n'); nl != std::string::npos && nl + 1 < s.size()) s = s.substr(nl + 1);
  return "..." + s;
}

Result<std::unique_ptr<RacerigdProcess>> RacerigdProcess::start(const std::string& name, const fs::path& binary,
                                                                const std::vector<std::string>& args,
                                                                const fs::path& log, const std::string& ready,
                                                                Deadline deadline) {
  ScopedFd out(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!out.valid()) return errno_error("opening " + name + "'s log " + log.string());
  process::Spec spec;
  spec.argv = {binary.string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.output_fd = out.get();
  auto child = process::Child::spawn(spec);
  if (!child.ok()) return child.error().wrap("starting " + name);
  std::unique_ptr<RacerigdProcess> p(new RacerigdProcess(name, std::move(*child), log));
  // From here on, returning an error destroys `p`, which stops it.
  for (;;) {
    if (auto text = read_file(log, size_t{16} << 20); text.ok() && text->find(ready) != std::string::npos) return p;
    if (p->child_.try_reap())
      return make_error(ErrorKind::kIo, name + " (" + process::command_text(spec.argv) + ") " +
                                            p->child_.describe_exit() + " before it was ready; its log " +
                                            log.string() + ":\n" + log_tail(log));
    if (process::cancelled()) return make_error(ErrorKind::kCancelled, "interrupted while " + name + " started");
    if (deadline.expired())
      return make_error(ErrorKind::kTimeout, name + " did not say \"" + ready + "\" in time; its log " + log.string() +
                                                 ":\n" + log_tail(log));
    pollfd fds[2] = {{p->child_.pidfd(), POLLIN, 0}, {process::cancel_fd(), POLLIN, 0}};
    (void)::poll(fds, fds[1].fd >= 0 ? 2 : 1, std::min(deadline.poll_timeout_ms(), 100));
  }
}

RacerigdProcess::~RacerigdProcess() { stop(); }

Status RacerigdProcess::check_running() {
  if (!child_.try_reap()) return Status::Ok();
  return make_error(ErrorKind::kIo, name_ + " " + child_.describe_exit() + " while the bench ran; its log " +
                                        log_.string() + ":\n" + log_tail(log_));
}

void RacerigdProcess::stop(std::chrono::milliseconds grace) { child_.stop(grace); }

}  // namespace racerig::host
