// racerig's command line: the CLI11 tree of every subcommand, `help COMMAND`,
// `--version`, and the mapping of parse outcomes to exit codes. main() and
// the help-vs-parser unit test both use it; parsing never runs a command.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/commands.h"

namespace racerig::host {

// The whole command line. Not copyable: the commands' actions point into it.
struct CommandLine {
  std::unique_ptr<CLI::App> app;
  std::vector<Command> commands;  // every runnable subcommand
};

// Builds the tree (no side effects: nothing runs, nothing is read).
std::unique_ptr<CommandLine> make_command_line();

// Parses `args` (without the program name). Returns the command to run, or
// the exit code when the parse itself ends the program: 0 after printing
// help or the version to `out`; 2 (kExitUsage) after printing the error and
// a pointer to --help to `err`.
std::variant<const Command*, int> parse_command_line(CommandLine& cli, const std::vector<std::string>& args,
                                                      std::ostream& out, std::ostream& err);

// The text of `racerig --version`: racerig's version and the QEMU it uses.
std::string version_text();

// Full help of the subcommand at `path` ({"kernel", "build"}), titled with
// its whole command line; empty `path`: the top-level help. An empty string
// when no such command exists.
std::string help_for(const CommandLine& cli, const std::vector<std::string>& path);

}  // namespace racerig::host
