// Where a job's scenario is (see job_env.h).
#include "rig/jobs/job_env.h"

#include "rig/scenario/scenario.h"

namespace racerig::jobs {

Result<std::filesystem::path> find_job_scenario(const JobEnv& env, const std::string& name_or_file,
                                                const std::filesystem::path& dir) {
  if (!env.catalogue_only) return scenario::find_scenario(name_or_file, dir);
  if (name_or_file.find('/') != std::string::npos) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(name_or_file, ec)) return std::filesystem::path(name_or_file);
    return make_error(ErrorKind::kInput, "no scenario file " + name_or_file);
  }
  return scenario::find_named_scenario(name_or_file, dir);
}

}  // namespace racerig::jobs
