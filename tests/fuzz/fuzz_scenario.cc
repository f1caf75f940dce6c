// libFuzzer target: scenario textprotos from users (proto's text-format
// parsing with located errors, and rig/scenario's checks: load_scenario,
// the same path `racerig reproduce --scenario FILE` and racerigd's inline
// scenarios take). The input's first byte picks the vCPU count checked
// against (0: the scenario's own); the rest is the file. A scenario that
// loads also goes through what a run asks of it before resolving points.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "rig/base/file.h"
#include "rig/scenario/scenario.h"

namespace fs = std::filesystem;
namespace scenario = racerig::scenario;

namespace {

const fs::path& scenario_file() {
  static const fs::path* file = [] {
    char tmpl[] = "/tmp/racerig-fuzz-scenario-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    return new fs::path(fs::path(tmpl) / "fuzz.textproto");
  }();
  return *file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int vcpus = data[0] % 10;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!racerig::write_file(scenario_file(), text).ok()) std::abort();
  auto loaded = scenario::load_scenario(scenario_file(), vcpus);
  if (!loaded.ok()) return 0;
  const racerig::pb::Scenario& s = loaded->scenario;
  if (scenario::machine_cpus(s) < 2) __builtin_trap();  // "at least 2"
  (void)scenario::machine_memory_mb(s);
  (void)scenario::explored_actors(s);
  (void)scenario::actors_of(s);
  for (const auto& program : s.programs()) (void)scenario::program_source(*loaded, program);
  // Resolution with a resolver that places every point at one address: what
  // the checks let through must resolve or fail with an error, never crash.
  auto resolve = [](const racerig::pb::CodePoint&) -> racerig::Result<scenario::ResolvedPoint> {
    scenario::ResolvedPoint point;
    point.addr = racerig::GuestAddr(0xffffffff81000000ull);
    return point;
  };
  (void)scenario::resolve_schedule(*loaded, resolve);
  return 0;
}
