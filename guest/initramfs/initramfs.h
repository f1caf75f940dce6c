// The guest's initramfs: a base image (the agent as /init, mkfs.xfs and
// mke2fs with their
// libraries and loader, the directories and device nodes the agent needs),
// cached by content, plus a small per-run archive with the plan, appended
// after it (the kernel unpacks concatenated newc archives in order).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"

namespace racerig::initramfs {

struct BaseInputs {
  std::filesystem::path agent;                  // must be statically linked
  std::filesystem::path mkfs = "/sbin/mkfs.xfs";
  std::filesystem::path mke2fs = "/sbin/mke2fs";   // packed at /sbin/mke2fs (ext4)
  std::vector<std::string> library_dirs;        // empty: default_library_dirs()
};

// Where the agent binary is: $RACERIG_AGENT if set, else racerig-agent next
// to the running executable (build/bin), else the path it was built at.
// kInput naming the places tried if none exists.
Result<std::filesystem::path> find_agent();

// The base archive, in memory: /init, /sbin/mkfs.xfs, /sbin/mke2fs, their loader and
// libraries at the paths the loader searches, /dev/console (5:1),
// /dev/ttyS0 (4:64), /dev/ttyS1 (4:65), /dev/null, and the directories
// /proc /sys /dev /mnt /racerig /tmp. A dynamically linked agent, a missing
// mkfs.xfs or library is kInput naming it.
Result<std::string> build_base_initramfs(const BaseInputs& inputs);

// The base archive cached in `cache_dir` (created if missing) under a name
// that is a hash of every input file's guest path, mode and content: an
// unchanged agent, mkfs.xfs and libraries reuse the file. Written
// atomically (temp file + rename). Returns the file's path.
Result<std::filesystem::path> cached_base_initramfs(const BaseInputs& inputs, const std::filesystem::path& cache_dir);

// cached_base_initramfs(find_agent(), /sbin/mkfs.xfs) in <work_dir>/initramfs.
Result<std::filesystem::path> base_initramfs(const std::filesystem::path& work_dir);

// A small archive holding /racerig/plan.pb (the binary GuestPlan), to be
// concatenated after the base.
std::string plan_archive(const pb::GuestPlan& plan);

// One run's initrd file: base + plan archive. Removes the file when it goes.
class RunInitramfs {
 public:
  explicit RunInitramfs(std::filesystem::path path) : path_(std::move(path)) {}
  RunInitramfs(RunInitramfs&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  RunInitramfs& operator=(RunInitramfs&& other) noexcept;
  RunInitramfs(const RunInitramfs&) = delete;
  RunInitramfs& operator=(const RunInitramfs&) = delete;
  ~RunInitramfs();

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A host file packed into the run's archive (a scenario's program).
struct RunFile {
  std::string guest_path;       // absolute, under /racerig (e.g. /racerig/programs/pgrp)
  std::filesystem::path source;  // read when the archive is written
  uint32_t mode = 0755;
};

// plan_archive plus `files` (and their parent directories) in one archive.
// kIo naming a file that cannot be read; kInput for a bad guest path.
Result<std::string> run_archive(const pb::GuestPlan& plan, const std::vector<RunFile>& files);

// Writes base + run_archive(plan, files) to a new file in the temp
// directory ($TMPDIR or /tmp). kIo naming the file on failure.
Result<RunInitramfs> write_run_initramfs(const std::filesystem::path& base, const pb::GuestPlan& plan,
                                         const std::vector<RunFile>& files = {});

}  // namespace racerig::initramfs
