// Limits on what a client may submit, and the checks of a submit request:
// each problem is INVALID_ARGUMENT with a message that names the field
// ("patches[1].content: ...", "runs: ...").
#pragma once

#include <cstddef>
#include <optional>

#include "proto/racerig_service.pb.h"
#include "rig/service/catalog.h"
#include "rig/service/status.h"

namespace racerig::service {

struct Limits {
  int max_runs = 20;
  int max_duration_s = 3600;  // a stress run's
  int max_schedules = 10000;  // an explore job's max_schedules (0, every schedule, is allowed)
  int max_patches = 16;
  size_t max_patch_bytes = 1 << 20;
  int max_scenarios = 8;
  size_t max_textproto_bytes = 64 << 10;
  size_t max_request_id_bytes = 128;
  int vcpus = 0;  // what inline scenarios are checked against (0: each scenario's own, machine_cpus)
  // An inline scenario's machine and deadlines (racerigd --max-scenario-*);
  // the catalogue's scenarios are the server's own and not checked.
  int max_cpus = 8;
  int max_memory_mb = 4096;
  int max_deadline_s = 600;  // each of boot_s, step_s, finish_s
};

// An inline scenario's machine {} and deadlines {} against `limits`:
// INVALID_ARGUMENT naming `field` ("scenario.textproto"), the scenario's
// field and the limit; nullopt when within them.
std::optional<ServiceError> check_scenario_bounds(const pb::Scenario& scenario, const std::string& field,
                                                  const Limits& limits);

// nullopt when the request is acceptable.
std::optional<ServiceError> check_reproduce(const pb::SubmitReproduceRequest& request, const Limits& limits,
                                            const Catalog& catalog);
std::optional<ServiceError> check_validate(const pb::SubmitValidateRequest& request, const Limits& limits,
                                           const Catalog& catalog);
// A stress scenario's name is looked up under scenarios/stress/.
std::optional<ServiceError> check_stress(const pb::SubmitStressRequest& request, const Limits& limits,
                                         const Catalog& catalog);
// An explore job's scenario is any scenario (its explore {} block is checked
// when the job runs).
std::optional<ServiceError> check_explore(const pb::SubmitExploreRequest& request, const Limits& limits,
                                          const Catalog& catalog);

}  // namespace racerig::service
