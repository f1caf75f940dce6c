// Confined build commands (see worker.h).
#include "rig/kbuild/worker.h"

#include <sys/stat.h>
#include <unistd.h>

#include "rig/process/sandbox.h"

namespace racerig::kbuild {

namespace fs = std::filesystem;

std::vector<std::string> build_environment() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          "HOME=/tmp",
          "LANG=C.UTF-8",
          "TERM=dumb",
          "KBUILD_BUILD_USER=racerig",
          "KBUILD_BUILD_HOST=racerig"};
}

process::Spec Worker::spec(const std::vector<std::string>& argv) const {
  process::Spec s;
  s.argv = argv;
  s.env = build_environment();
  s.identity = who_;
  return s;
}

Result<process::Exit> Worker::run(const fs::path& tree, const fs::path& cwd, const std::vector<std::string>& argv,
                                  const process::Limits& limits, const fs::path& log,
                                  const std::function<void(const std::string&)>& on_line,
                                  const std::string& stdin_data) const {
  fs::path inside = cwd;
  if (!mount_at_.empty()) inside = mount_at_ / cwd.lexically_relative(tree);
  process::Spec s = spec(process::build_sandbox_argv({tree, inside.lexically_normal(), mount_at_, hidden_, read_only_}, argv));
  s.cwd = cwd;
  s.stdin_data = stdin_data;
  process::Limits l = limits;
  if (l.what.empty()) l.what = "\"" + process::command_text(argv) + "\" in " + cwd.string();
  return process::run(s, l, log, on_line);
}

Result<std::string> Worker::run_checked(const fs::path& tree, const fs::path& cwd,
                                        const std::vector<std::string>& argv, const process::Limits& limits,
                                        const fs::path& log) const {
  RACERIG_ASSIGN(process::Exit e, run(tree, cwd, argv, limits, log));
  if (e.code != 0) {
    std::string tail = e.output.size() > 2000 ? e.output.substr(e.output.size() - 2000) : e.output;
    return make_error(ErrorKind::kIo, "\"" + process::command_text(argv) + "\" in " + cwd.string() + " failed (exit " +
                                          std::to_string(e.code) + "): " + tail);
  }
  return e.output;
}

Result<std::string> Worker::run_tool(const std::vector<std::string>& argv, const process::Limits& limits) const {
  process::Spec s = spec(argv);
  s.cwd = "/";
  return process::run_checked(s, limits);
}

Status Worker::make_dir(const fs::path& dir) const {
  std::error_code ec;
  // The parents this creates, and the one `dir` is in, must let the worker
  // through whatever our umask (racerigd's is 077): 0755, as the CLI's
  // umask makes them. Only directories of ours are changed.
  std::vector<fs::path> made;
  for (fs::path p = dir.parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    made.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec) return make_error(ErrorKind::kIo, "cannot create " + dir.string() + ": " + ec.message());
  if (made.empty() && !dir.parent_path().empty()) made.push_back(dir.parent_path());
  for (const fs::path& p : made) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 0055) == 0055) continue;
    if (::chmod(p.c_str(), (st.st_mode & 07777) | 0055) != 0) return errno_error("chmod go+rx " + p.string());
  }
  if (who_ && ::chown(dir.c_str(), who_->uid, who_->gid) != 0)
    return errno_error("giving " + dir.string() + " to the user " + who_->name);
  return Status::Ok();
}

}  // namespace racerig::kbuild
