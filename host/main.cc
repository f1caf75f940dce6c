// racerig: the command-line entry point. Parses with the tree of host/cli.cc
// and runs the chosen subcommand (host/cmd_*.cc).
#include <string>

#include <iostream>
#include <vector>

#include "host/cli.h"
#include "host/commands.h"

int main(int argc, char** argv) {
  using namespace racerig::host;
  auto cli = make_command_line();
  auto parsed = parse_command_line(*cli, std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
  std::cout.flush();
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  return std::get<const Command*>(parsed)->run();
}
