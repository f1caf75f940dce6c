// The racerig subcommands. Each registers itself on the root CLI11 app
// (options bound to its own settings, help generated from them) and returns
// what runs it once the command line parsed. A run returns the process exit
// code: 0 success, 1 negative result, 2 usage or input error, 3
// infrastructure error (commands may define more, see README).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace racerig::host {

constexpr int kExitOk = 0;
constexpr int kExitNegative = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInfra = 3;

// One runnable (leaf) subcommand: its CLI11 node and its action, which reads
// the values the parse stored.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

std::vector<Command> add_kernel_commands(CLI::App& root);  // racerig kernel build|list|path
Command add_guest_command(CLI::App& root);                 // racerig guest run
Command add_reproduce_command(CLI::App& root);             // racerig reproduce
Command add_validate_command(CLI::App& root);              // racerig validate
Command add_stress_command(CLI::App& root);                // racerig stress
Command add_explore_command(CLI::App& root);               // racerig explore
Command add_bench_command(CLI::App& root);                 // racerig bench
std::vector<Command> add_cache_commands(CLI::App& root);   // racerig cache list|prune
std::vector<Command> add_job_commands(CLI::App& root);     // racerig jobs|job|watch|cancel (racerigd's jobs)
Command add_doctor_command(CLI::App& root);                // racerig doctor
Command add_workers_command(CLI::App& root);               // racerig workers (racerigd's workers)

// Repository paths (kernels/, scenarios/), found from the binary's location
// or RACERIG_ROOT.
std::string repo_root();

}  // namespace racerig::host
