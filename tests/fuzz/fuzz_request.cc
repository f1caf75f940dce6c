// libFuzzer target: racerigd's submit requests as they arrive from the
// network (a pb::SubmitRequest in its binary form). Each goes through the
// service's checks (rig/service's limits and catalog: names, inline
// scenarios parsed and checked, patches classified, kernels looked up), and
// a request they accept through its kind's one conversion (rig/jobs'
// from_wire, which writes its patches and inline scenarios to a job
// directory) and back (to_wire). Structure-aware: LLVMFuzzerCustomMutator
// changes the message field by field (proto_mutator.h); the catalogue is
// this checkout's scenarios/ and kernels/ with an empty kernel cache.
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "proto/racerig_service.pb.h"
#include "rig/jobs/explore_job.h"
#include "rig/jobs/reproduce_job.h"
#include "rig/jobs/stress_job.h"
#include "rig/jobs/validate_job.h"
#include "rig/service/catalog.h"
#include "rig/service/limits.h"
#include "tests/fuzz/proto_mutator.h"

namespace fs = std::filesystem;
namespace pb = racerig::pb;
namespace service = racerig::service;
namespace jobs = racerig::jobs;

namespace {

struct World {
  fs::path root;  // a private directory: the kernel cache and the job directories
  service::Catalog catalog;
  service::Limits limits;
};

World& world() {
  static World* w = [] {
    char tmpl[] = "/tmp/racerig-fuzz-request-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    jobs::JobEnv env;
    env.repo_root = RACERIG_SOURCE_DIR;
    env.cache_root = fs::path(tmpl) / "cache";
    env.work_dir = fs::path(tmpl) / "work";
    env.catalogue_only = true;  // as racerigd's
    return new World{tmpl, service::Catalog(env), service::Limits{}};
  }();
  return *w;
}

// The kind's conversion of an accepted request, as a worker makes it, and back.
template <typename Kind>
void convert(const typename Kind::Wire& wire) {
  const fs::path dir = world().root / "job";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  auto request = Kind::from_wire(wire, dir, racerig::run::RunOptions{});
  if (request.ok()) (void)Kind::to_wire(*request, wire.request_id());
}

}  // namespace

// protobuf logs every string field that is not UTF-8 as it refuses it;
// refusing is the behaviour under test, the log line only slows the run.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  return racerig::fuzz::mutate_serialized(pb::SubmitRequest::default_instance(), data, size, max_size, seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pb::SubmitRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  World& w = world();
  switch (request.request_case()) {
    case pb::SubmitRequest::kReproduce:
      if (!service::check_reproduce(request.reproduce(), w.limits, w.catalog))
        convert<jobs::ReproduceKind>(request.reproduce());
      break;
    case pb::SubmitRequest::kValidate:
      if (!service::check_validate(request.validate(), w.limits, w.catalog))
        convert<jobs::ValidateKind>(request.validate());
      break;
    case pb::SubmitRequest::kStress:
      if (!service::check_stress(request.stress(), w.limits, w.catalog)) convert<jobs::StressKind>(request.stress());
      break;
    case pb::SubmitRequest::kExplore:
      if (!service::check_explore(request.explore(), w.limits, w.catalog))
        convert<jobs::ExploreKind>(request.explore());
      break;
    default: break;
  }
  return 0;
}
