// A scenario's guest programs on the host: each C source compiled statically
// with the host's gcc as the unprivileged build user in the build sandbox
// (the one kernel patches build in), and cached by content (source, compiler
// version, flags) under the work directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/process/identity.h"
#include "rig/scenario/scenario.h"

namespace racerig::programs {

// One compiled program.
struct Program {
  std::string name;              // Program.name: the guest's /racerig/programs/<name>
  std::filesystem::path binary;  // the cached, statically linked executable
  std::string key;               // its cache key (hex): what the ready state's key covers
};

struct CompileOptions {
  std::string compiler = "gcc";
  std::vector<std::string> flags = {"-static", "-O2", "-Wall"};
  // Where the binaries are cached: <work_dir>/programs/<key>.
  std::filesystem::path work_dir;
  // Who compiles (nullopt: racerig's own user; see process::worker_identity).
  std::optional<process::Identity> who;
  std::chrono::seconds time_limit{120};
};

// Compiles (or finds in the cache) every program of the scenario, in
// declaration order. A source that does not compile is a kInput error
// naming the scenario file, the program and its source, with the
// compiler's diagnostics; a compiler that cannot run or a cache that
// cannot be written is kIo. Blocks for the compiles (each bounded by
// time_limit).
Result<std::vector<Program>> compile_programs(const scenario::LoadedScenario& loaded, const CompileOptions& options);

// The compiler's identity for the key: the first line of `compiler --version`.
Result<std::string> compiler_version(const CompileOptions& options);

}  // namespace racerig::programs
