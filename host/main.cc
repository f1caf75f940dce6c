// racerig: the command-line entry point. Dispatches to the subcommands in
// host/cmd_*.cc.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "host/commands.h"

namespace racerig::host {

std::string repo_root() {
  if (const char* env = std::getenv("RACERIG_ROOT"); env != nullptr && *env != '\0') return env;
  // build/bin/racerig -> the checkout is two levels up.
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::filesystem::path p(self);
    for (int up = 0; up < 4 && p.has_parent_path(); ++up) {
      p = p.parent_path();
      std::error_code ec;
      if (std::filesystem::exists(p / "kernels" / "variants.textproto", ec)) return p.string();
    }
  }
  return std::filesystem::current_path().string();
}

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: racerig <command> [options]\n"
               "\n"
               "commands:\n"
               "  kernel build VARIANT...   build kernel variants (cached by content)\n"
               "  kernel list               show the variants and whether each is built\n"
               "  kernel path VARIANT       print where a built variant's files are\n"
               "  guest run --kernel V --workload FILE\n"
               "                            boot a kernel and run a workload, no schedule\n"
               "  reproduce --scenario NAME|FILE --kernel VARIANT [--runs N] [--json FILE] [--attach]\n"
               "                            force a scenario's interleaving and report verdicts\n"
               "  validate --patch FILE... [--base VARIANT] [--scenario NAME|FILE...|all] [--runs N]\n"
               "           [--json FILE] [--junit FILE]\n"
               "                            judge a candidate fix on the forced interleavings\n"
               "  stress --kernel VARIANT [--duration S] [--runs N] [--seed S] [--json FILE]\n"
               "                            the unforced baseline: fsx vs a DAX flag flip loop\n"
               "  bench [--runs N] [--stress-runs M] [--stress-duration S] [--json FILE]\n"
               "                            forced vs stress, phase timings, build timings -> BENCHMARKS.md\n"
               "\n"
               "exit codes: 0 success, 1 negative result, 2 usage or input error, 3 infrastructure error\n");
}

}  // namespace
}  // namespace racerig::host

int main(int argc, char** argv) {
  using namespace racerig::host;
  if (argc < 2) {
    usage(stderr);
    return kExitUsage;
  }
  std::string cmd = argv[1];
  Args args(argv + 2, argv + argc);
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    usage(stdout);
    return kExitOk;
  }
  if (cmd == "kernel") return cmd_kernel(args);
  if (cmd == "guest") return cmd_guest(args);
  if (cmd == "reproduce") return cmd_reproduce(args);
  if (cmd == "validate") return cmd_validate(args);
  if (cmd == "stress") return cmd_stress(args);
  if (cmd == "bench") return cmd_bench(args);
  if (cmd == "doctor") return cmd_doctor(args);
  std::fprintf(stderr, "racerig: unknown command \"%s\"\n\n", cmd.c_str());
  usage(stderr);
  return kExitUsage;
}
