// racerig's command line (see cli.h).
#include "host/cli.h"

#include <cstdio>
#include <ostream>

#include "host/version.h"
#include "rig/run/run.h"

namespace racerig::host {

namespace {

// The subcommand named `name` of `app`, or nullptr.
const CLI::App* find_subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == name) return sub;
  return nullptr;
}

// "racerig kernel build" for the kernel build node.
std::string full_name(const CLI::App* app) {
  std::string name = app->get_name();
  for (const CLI::App* p = app->get_parent(); p != nullptr; p = p->get_parent()) name = p->get_name() + " " + name;
  return name;
}

// The innermost subcommand the parse selected (the root when none).
const CLI::App* selected(const CLI::App& root) {
  const CLI::App* at = &root;
  for (;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) return at;
    at = subs.front();
  }
}

}  // namespace

std::string version_text() {
  const std::string qemu = run::RunOptions{}.qemu;
  return std::string("racerig ") + racerig_version() + "\n" + qemu + ": " + qemu_version(qemu);
}

std::string help_for(const CommandLine& cli, const std::vector<std::string>& path) {
  const CLI::App* at = cli.app.get();
  for (const auto& word : path) {
    at = find_subcommand(*at, word);
    if (at == nullptr) return {};
  }
  return at->get_formatter()->make_help(at, full_name(at), CLI::AppFormatMode::Normal);
}

std::unique_ptr<CommandLine> make_command_line() {
  auto cli = std::make_unique<CommandLine>();
  cli->app = std::make_unique<CLI::App>(
      "Forced-interleaving reproduction of kernel races under QEMU: boots a kernel, holds one vCPU at a\n"
      "breakpoint while another runs to a chosen point, and judges whether the race's oops appears.",
      "racerig");
  CLI::App& root = *cli->app;
  root.require_subcommand(1);
  // As before CLI11: a repeated option's last value counts, and a flag takes no value.
  root.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)->disable_flag_override();
  root.set_version_flag("--version", version_text, "print racerig's version and the QEMU it uses, and exit");
  root.footer(
      "Run 'racerig help COMMAND' or 'racerig COMMAND --help' for a command's options.\n"
      "exit codes: 0 success, 1 negative result, 2 usage or input error, 3 infrastructure error");
  for (Command& c : add_kernel_commands(root)) cli->commands.push_back(std::move(c));
  cli->commands.push_back(add_guest_command(root));
  cli->commands.push_back(add_reproduce_command(root));
  cli->commands.push_back(add_validate_command(root));
  cli->commands.push_back(add_stress_command(root));
  cli->commands.push_back(add_explore_command(root));
  cli->commands.push_back(add_bench_command(root));
  for (Command& c : add_cache_commands(root)) cli->commands.push_back(std::move(c));
  for (Command& c : add_job_commands(root)) cli->commands.push_back(std::move(c));
  cli->commands.push_back(add_doctor_command(root));
  cli->commands.push_back(add_workers_command(root));

  // racerig help [COMMAND [SUBCOMMAND]]
  CLI::App* help = root.add_subcommand("help", "show the options of a command (racerig help validate)");
  auto words = std::make_shared<std::vector<std::string>>();
  help->add_option("command", *words, "the command, e.g. validate or kernel build")->type_name("COMMAND");
  CommandLine* self = cli.get();
  cli->commands.push_back(Command{help, [self, words] {
                                    std::string text = help_for(*self, *words);
                                    if (text.empty()) {
                                      std::string joined;
                                      for (const auto& w : *words) joined += (joined.empty() ? "" : " ") + w;
                                      std::fprintf(stderr, "racerig: help: no command \"%s\" (racerig --help lists them)\n",
                                                   joined.c_str());
                                      return kExitUsage;
                                    }
                                    std::fputs(text.c_str(), stdout);
                                    return kExitOk;
                                  }});
  return cli;
}

std::variant<const Command*, int> parse_command_line(CommandLine& cli, const std::vector<std::string>& args,
                                                      std::ostream& out, std::ostream& err) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    cli.app->parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << cli.app->help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    out << cli.app->help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion& v) {
    out << v.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    const CLI::App* at = selected(*cli.app);
    if (at == cli.app.get() && !args.empty() && args[0].rfind('-', 0) != 0)
      err << "racerig: unknown command \"" << args[0] << "\"\n";
    else
      err << full_name(at) << ": " << e.what() << "\n";
    if (at == cli.app.get() && args.empty())
      err << cli.app->help();
    else
      err << "Run '" << full_name(at) << " --help' for its options.\n";
    return kExitUsage;
  }
  const CLI::App* leaf = selected(*cli.app);
  for (const Command& c : cli.commands)
    if (c.app == leaf) return &c;
  // A group without its subcommand (require_subcommand makes this unreachable).
  err << full_name(leaf) << ": a subcommand is required\n" << leaf->help();
  return kExitUsage;
}

}  // namespace racerig::host
