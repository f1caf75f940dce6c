// Kept run logs (see kept_logs.h).
#include "rig/run/kept_logs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "rig/base/scoped_fd.h"
#include "rig/process/cancel.h"

namespace racerig::run {

namespace fs = std::filesystem;

namespace {

std::string safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '+' || c == '-';
    out += ok ? c : '_';
  }
  return out.empty() ? "_" : out;
}

Status write_new(int dir_fd, const fs::path& dir, const char* name, const std::string& text) {
  ScopedFd fd(::openat(dir_fd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("creating " + (dir / name).string());
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("writing " + (dir / name).string());
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), 0644) != 0) return errno_error("chmod " + (dir / name).string());
  return Status::Ok();
}

}  // namespace

bool keeps_logs(pb::Verdict verdict) { return verdict == pb::INFRA_ERROR || verdict == pb::STALLED; }

std::string kept_logs_name(std::time_t when, const std::string& scenario, const std::string& kernel, int run) {
  char stamp[32];
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(stamp) + "-" + safe(scenario) + "-" + safe(kernel) + "-run" + std::to_string(run);
}

Result<fs::path> keep_run_logs(const fs::path& root, const std::string& name, const RunLogs& logs) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return make_error(ErrorKind::kIo, "creating " + root.string() + ": " + ec.message());
  fs::path dir;
  for (int i = 1;; ++i) {
    dir = root / (i == 1 ? name : name + "-" + std::to_string(i));
    if (::mkdir(dir.c_str(), 0700) == 0) break;
    if (errno != EEXIST || i >= 100) return errno_error("creating " + dir.string());
  }
  auto fail = [&](Error e) {
    fs::remove_all(dir, ec);
    return e;
  };
  ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir_fd.valid()) return fail(errno_error("opening " + dir.string()));
  for (auto [file, text] : {std::pair{"console.log", &logs.console}, std::pair{"qemu.log", &logs.qemu},
                            std::pair{"agent.log", &logs.agent}})
    if (Status s = write_new(dir_fd.get(), dir, file, *text); !s.ok()) return fail(s.error());
  if (::fchmod(dir_fd.get(), 0755) != 0) return fail(errno_error("chmod " + dir.string()));
  return dir;
}

void keep_logs(const RunContext& ctx, const RunLogs& logs, pb::RunReport& report) {
  // A run the user interrupted (Ctrl-C) is not kept: nothing went wrong.
  if (!keeps_logs(report.verdict()) || ctx.options.logs_dir.empty() || process::cancelled()) return;
  auto kept =
      keep_run_logs(ctx.options.logs_dir,
                    kept_logs_name(std::time(nullptr), report.scenario(), report.kernel_variant(), report.run()), logs);
  if (kept.ok())
    report.set_kept_logs(kept->string());
  else
    report.set_reason(report.reason() + " (its logs could not be kept: " + kept.error().message + ")");
}

void keep_logs(const RunContext& ctx, const machine::Machine& vm, const std::string& console, pb::RunReport& report) {
  keep_logs(ctx, RunLogs{console, vm.qemu_log(), vm.agent_log()}, report);
}

}  // namespace racerig::run
