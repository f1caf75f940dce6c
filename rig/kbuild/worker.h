// Build commands as the unprivileged worker, confined: every command that
// touches a kernel tree runs through here, as the worker user (when racerig
// is root) in the build sandbox with only that tree writable, a fixed
// environment, and a deadline; Ctrl-C stops it (see rig/process).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rig/base/result.h"
#include "rig/process/identity.h"
#include "rig/process/process.h"

namespace racerig::kbuild {

class Worker {
 public:
  // `hidden`: directories the sandbox replaces by an empty tmpfs (the cache
  // root: a build sees no other tree and no published kernel).
  // `mount_at`: where every tree appears inside the sandbox (empty: at its
  // own path); a candidate's copy is shown at the trusted tree's path.
  // `read_only`: host files shown read-only at their own path (the source
  // tarball); the sandbox shows nothing else of the host beyond the
  // toolchain (see rig/process/sandbox.h).
  Worker(std::optional<process::Identity> who, std::vector<std::filesystem::path> hidden,
         std::filesystem::path mount_at = {}, std::vector<std::filesystem::path> read_only = {})
      : who_(std::move(who)),
        hidden_(std::move(hidden)),
        mount_at_(std::move(mount_at)),
        read_only_(std::move(read_only)) {}

  // Runs `argv` with `cwd` (a host path inside `tree`) in `tree`, the only
  // writable place. Output is
  // appended to `log` (if any) and passed to `on_line`. Errors as process::run.
  Result<process::Exit> run(const std::filesystem::path& tree, const std::filesystem::path& cwd,
                            const std::vector<std::string>& argv, const process::Limits& limits,
                            const std::filesystem::path& log = {},
                            const std::function<void(const std::string&)>& on_line = {},
                            const std::string& stdin_data = {}) const;
  // The same; a non-zero exit is a kIo error quoting the output's tail.
  Result<std::string> run_checked(const std::filesystem::path& tree, const std::filesystem::path& cwd,
                                  const std::vector<std::string>& argv, const process::Limits& limits,
                                  const std::filesystem::path& log = {}) const;
  // Runs a trusted tool (cp, rm, readelf) as the worker, without the sandbox.
  Result<std::string> run_tool(const std::vector<std::string>& argv, const process::Limits& limits) const;

  // Creates `dir` (and parents) and makes it the worker's. The parents it
  // creates and `dir`'s parent, when ours, get group and others' r-x added
  // whatever the umask, so that the worker can reach `dir`.
  Status make_dir(const std::filesystem::path& dir) const;

  const std::optional<process::Identity>& identity() const { return who_; }

 private:
  process::Spec spec(const std::vector<std::string>& argv) const;

  std::optional<process::Identity> who_;
  std::vector<std::filesystem::path> hidden_;
  std::filesystem::path mount_at_;
  std::vector<std::filesystem::path> read_only_;
};

// The environment of every build command: nothing of the caller's.
std::vector<std::string> build_environment();

}  // namespace racerig::kbuild
