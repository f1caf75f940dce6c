// What the server offers: its scenarios and kernel variants, and the checks
// of a request's references to them (known names, an inline scenario that
// parses and validates).
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proto/racerig_service.pb.h"
#include "rig/base/result.h"
#include "rig/jobs/job_env.h"
#include "rig/kbuild/cache.h"

namespace racerig::service {

class Catalog {
 public:
  explicit Catalog(jobs::JobEnv env) : env_(std::move(env)) {}

  Result<pb::ListScenariosResponse> scenarios() const;
  Result<pb::ListKernelsResponse> kernels() const;
  // nullopt when `name` is a scenario under `dir` (empty: scenarios/), else why not.
  std::optional<std::string> check_scenario_name(const std::string& name, const std::filesystem::path& dir = {}) const;
  // nullopt when `name` is a kernel variant, else why not (listing them).
  std::optional<std::string> check_variant(const std::string& name) const;
  // nullopt when the text is a valid Scenario (parsed and checked as a
  // scenario file would be), else the problem with its line.
  std::optional<std::string> check_scenario_text(const std::string& text, int vcpus) const;

  const jobs::JobEnv& env() const { return env_; }

 private:
  // The kernel cache, opened once (opening asks dpkg for the source version).
  Result<const kbuild::Cache*> cache() const;

  jobs::JobEnv env_;
  mutable std::mutex mu_;
  mutable std::optional<kbuild::Cache> cache_;
};

}  // namespace racerig::service
