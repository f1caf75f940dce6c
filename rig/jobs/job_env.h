// What a reproduce or validate job needs from its surroundings: where the
// repository's kernels/ and scenarios/ are, the kernel cache, and what a job
// reports while it runs (kernel build stages, run progress, each verdict).
#pragma once

#include <filesystem>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/kbuild/cache.h"

namespace racerig::jobs {

struct JobEnv {
  std::filesystem::path repo_root;   // holds kernels/ and scenarios/
  std::filesystem::path cache_root;  // the kernel cache (kbuild::default_cache_root())
  std::filesystem::path work_dir;    // initramfs images, NVDIMM templates
  std::string racerig_version;       // recorded in every report (host::racerig_version())
  std::string qemu_version;          // recorded in every report (host::qemu_version())
  // racerigd: a scenario name is one of scenarios/ (its catalogue) only,
  // never a file in the daemon's working directory; a path (with a '/') is
  // one of the daemon's own inline files (names with '/' are refused at
  // submit). The CLI (false) takes a file first, then a name.
  bool catalogue_only = false;

  std::filesystem::path kernels_dir() const { return repo_root / "kernels"; }
  std::filesystem::path scenarios_dir() const { return repo_root / "scenarios"; }
};

// The default environment for a checkout at `repo_root`.
JobEnv default_env(const std::filesystem::path& repo_root);

// The scenario file `name_or_file` means in `env`, looking names up under
// `dir` (scenarios/ or a folder of it): scenario::find_scenario, or with
// env.catalogue_only a file only when it has a '/' and else
// scenario::find_named_scenario. kInput as those.
Result<std::filesystem::path> find_job_scenario(const JobEnv& env, const std::string& name_or_file,
                                                const std::filesystem::path& dir);

// Receives a job's progress as it happens, on the job's thread. Every
// method has an empty default; kernel build progress comes through
// kbuild::ProgressSink's stage() and compile().
class JobObserver : public kbuild::ProgressSink {
 public:
  void stage(const std::string& /*variant*/, const std::string& /*what*/) override {}
  void compile(const std::string& /*variant*/, const std::string& /*line*/,
               const kbuild::BuildProgress& /*progress*/) override {}
  // A step of the job itself ("loading symbols from ...").
  virtual void note(const std::string& /*line*/) {}
  // A progress line of run `index` (boot, schedule steps, the attach line).
  virtual void run_progress(int /*index*/, const std::string& /*line*/) {}
  // A finished run. `label` names the kernel's role in the job (a validate
  // job's "buggy (control)"); `report` is complete.
  virtual void run_done(const std::string& /*label*/, const pb::RunReport& /*report*/) {}
};

}  // namespace racerig::jobs
