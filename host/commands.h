// The racerig subcommands. Each takes the arguments after its name and returns
// the process exit code: 0 success, 1 negative result, 2 usage or input
// error, 3 infrastructure error (commands may define more, see README).
#pragma once

#include <string>
#include <vector>

namespace racerig::host {

using Args = std::vector<std::string>;

constexpr int kExitOk = 0;
constexpr int kExitNegative = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInfra = 3;

int cmd_kernel(const Args& args);     // racerig kernel build|list
int cmd_guest(const Args& args);      // racerig guest run
int cmd_reproduce(const Args& args);  // racerig reproduce
int cmd_validate(const Args& args);   // racerig validate
int cmd_stress(const Args& args);     // racerig stress
int cmd_bench(const Args& args);      // racerig bench
int cmd_doctor(const Args& args);     // racerig doctor

// Repository paths (kernels/, scenarios/), found from the binary's location
// or RACERIG_ROOT.
std::string repo_root();

}  // namespace racerig::host
