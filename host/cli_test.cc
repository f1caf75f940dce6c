// The command line as a user meets it: every option a command's help lists
// is one its parser accepts (read from the help text, not from the parser),
// -h/--help and `racerig help COMMAND` work everywhere, --version, `--`, and
// usage errors exit 2.
#include <gtest/gtest.h>

#include <sstream>

#include "host/cli.h"

namespace racerig::host {
namespace {

struct Parsed {
  const Command* command = nullptr;  // set when the parse chose a command
  int code = -1;                     // set when the parse ended the program
  std::string out, err;
};

Parsed parse(CommandLine& cli, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto r = parse_command_line(cli, args, out, err);
  Parsed p;
  if (auto* c = std::get_if<const Command*>(&r)) p.command = *c;
  else p.code = std::get<int>(r);
  p.out = out.str();
  p.err = err.str();
  return p;
}

// {"kernel", "build"} for the kernel build node.
std::vector<std::string> path_of(const CLI::App* app) {
  std::vector<std::string> path;
  for (; app->get_parent() != nullptr; app = app->get_parent()) path.insert(path.begin(), app->get_name());
  return path;
}

// One entry of a help text's "Options:" or "Positionals:" section.
struct HelpEntry {
  std::vector<std::string> names;  // "-h", "--help"; a positional's name
  std::string type;                // "N:1..100000=3", "FILE"; empty for a flag
  bool required = false;
};

std::vector<std::string> words_of(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Reads the entries the way a user would: the lines of a section that start
// with two spaces; the spec ends where two spaces separate it from the
// description.
std::vector<HelpEntry> read_help(const std::string& help, const std::string& section) {
  std::vector<HelpEntry> out;
  std::istringstream in(help);
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line == section + ":") {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.rfind("  ", 0) != 0) {
      if (!line.empty()) inside = false;
      continue;
    }
    const std::string spec = line.substr(2, line.find("  ", 2) == std::string::npos ? std::string::npos
                                                                                      : line.find("  ", 2) - 2);
    if (spec.empty() || spec[0] == ' ') continue;  // a wrapped description
    auto words = words_of(spec);
    HelpEntry e;
    std::istringstream names(words[0]);
    for (std::string n; std::getline(names, n, ',');) e.names.push_back(n);
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i] == "REQUIRED") e.required = true;
      else if (words[i] == "Excludes:" || words[i] == "Needs:") break;
      else if (i == 1 && words[i] != "...") e.type = words[i];
    }
    out.push_back(e);
  }
  return out;
}

// A value a parser of that type accepts.
std::string sample(const std::string& type) {
  // A set the parser checks ("ROWS:{explore}"): its first member.
  if (auto open = type.find(":{"); open != std::string::npos) {
    const std::string members = type.substr(open + 2, type.find('}', open) - open - 2);
    return members.substr(0, members.find(','));
  }
  return type.rfind("N", 0) == 0 || type.rfind("S", 0) == 0 ? "2" : "x";
}

TEST(CommandLine, EveryOptionInEachCommandsHelpParses) {
  auto cli = make_command_line();
  ASSERT_GE(cli->commands.size(), 10u)
      << "kernel build/list/path, guest run, reproduce, validate, stress, explore, bench, help";
  for (const Command& c : cli->commands) {
    const std::vector<std::string> path = path_of(c.app);
    std::string name;
    for (const auto& w : path) name += (name.empty() ? "" : " ") + w;
    const std::string help = help_for(*cli, path);
    ASSERT_FALSE(help.empty()) << name;
    EXPECT_NE(help.find("racerig " + name), std::string::npos) << "titled with the whole command:\n" << help;
    const auto options = read_help(help, "Options");
    const auto positionals = read_help(help, "Positionals");
    // The reading found every option (else this test would check nothing).
    EXPECT_EQ(options.size() + positionals.size(), c.app->get_options().size()) << name << ":\n" << help;

    std::vector<std::string> base = path;
    for (const auto& o : options)
      if (o.required) {
        base.push_back(o.names.back());
        base.push_back(sample(o.type));
      }
    for (const auto& p : positionals)
      if (p.required) base.push_back(sample(p.type));
    {
      auto fresh = make_command_line();
      Parsed p = parse(*fresh, base);
      ASSERT_NE(p.command, nullptr) << name << ": the required options alone: " << p.err;
      EXPECT_EQ(p.command->app->get_name(), c.app->get_name());
    }
    for (const auto& o : options) {
      for (const auto& n : o.names) {
        std::vector<std::string> args = base;
        args.push_back(n);
        if (!o.type.empty()) args.push_back(sample(o.type));
        auto fresh = make_command_line();
        Parsed p = parse(*fresh, args);
        if (n == "-h" || n == "--help") {
          EXPECT_EQ(p.code, kExitOk) << name << " " << n;
          EXPECT_EQ(p.out, help) << name << " " << n << ": the same help as `racerig help " << name << "`";
          continue;
        }
        EXPECT_NE(p.command, nullptr) << name << ": " << n << " is in the help but does not parse: " << p.err;
      }
    }
    // And the parser is no sieve: an option the help does not list is refused.
    std::vector<std::string> args = base;
    args.push_back("--no-such-option");
    auto fresh = make_command_line();
    Parsed p = parse(*fresh, args);
    EXPECT_EQ(p.code, kExitUsage) << name;
    EXPECT_NE(p.err.find("--no-such-option"), std::string::npos) << p.err;
  }
}

TEST(CommandLine, TopLevelHelpAndVersion) {
  for (const char* flag : {"-h", "--help"}) {
    auto cli = make_command_line();
    Parsed p = parse(*cli, {flag});
    EXPECT_EQ(p.code, kExitOk);
    for (const char* command : {"kernel", "guest", "reproduce", "validate", "stress", "explore", "bench", "help"})
      EXPECT_NE(p.out.find(command), std::string::npos) << command << " in\n" << p.out;
    EXPECT_TRUE(p.err.empty()) << p.err;
  }
  auto cli = make_command_line();
  Parsed v = parse(*cli, {"--version"});
  EXPECT_EQ(v.code, kExitOk);
  EXPECT_EQ(v.out.rfind("racerig ", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("\nqemu-system-x86_64: "), std::string::npos) << "and the QEMU it runs: " << v.out;
}

TEST(CommandLine, HelpCommandShowsACommandsHelp) {
  auto cli = make_command_line();
  Parsed p = parse(*cli, {"help", "validate"});
  ASSERT_NE(p.command, nullptr) << p.err;
  testing::internal::CaptureStdout();
  EXPECT_EQ(p.command->run(), kExitOk);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), help_for(*cli, {"validate"}));

  auto nested = make_command_line();
  Parsed k = parse(*nested, {"help", "kernel", "path"});
  ASSERT_NE(k.command, nullptr) << k.err;
  testing::internal::CaptureStdout();
  EXPECT_EQ(k.command->run(), kExitOk);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("--vmlinux"), std::string::npos);

  auto unknown = make_command_line();
  Parsed u = parse(*unknown, {"help", "nope"});
  ASSERT_NE(u.command, nullptr) << u.err;
  testing::internal::CaptureStderr();
  EXPECT_EQ(u.command->run(), kExitUsage);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("\"nope\""), std::string::npos);
}

TEST(CommandLine, UsageErrorsExit2AndSaySo) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "subcommand"},
           {{"nope"}, "nope"},
           {{"reproduce", "--kernel", "buggy"}, "--scenario"},
           {{"reproduce", "--scenario", "x", "--kernel", "buggy", "--runs", "0"}, "got \"0\""},
           {{"reproduce", "--scenario", "x", "--kernel", "buggy", "--runs"}, "--runs"},
           {{"reproduce", "--scenario", "x", "--kernel", "buggy", "extra"}, "extra"},
           {{"validate"}, "--patch"},
           {{"validate", "--patch", "a", "--cold=yes"}, "cold"},
           {{"kernel"}, "subcommand"},
           {{"kernel", "build"}, "variants"},
           {{"kernel", "path", "buggy", "--vmlinux", "--bzimage"}, "excludes"},
           {{"guest", "run", "--kernel", "buggy"}, "--workload"},
           {{"explore", "--kernel", "buggy"}, "--scenario"},
           {{"explore", "--scenario", "x", "--kernel", "buggy", "--max-schedules", "-1"}, "got \"-1\""},
           {{"explore", "--scenario", "x", "--kernel", "buggy", "--max-schedules", "many"}, "--max-schedules"},
       }) {
    auto cli = make_command_line();
    Parsed p = parse(*cli, c.args);
    std::string args;
    for (const auto& a : c.args) args += " " + a;
    EXPECT_EQ(p.code, kExitUsage) << "racerig" << args;
    EXPECT_NE(p.err.find(c.says), std::string::npos) << "racerig" << args << ":\n" << p.err;
    EXPECT_TRUE(p.out.empty()) << p.out;
  }
}

TEST(CommandLine, ValuesRepeatAndDoubleDashEndsOptions) {
  auto cli = make_command_line();
  Parsed p = parse(*cli, {"validate", "--patch", "a.patch", "--patch=b.patch", "--scenario", "s1", "--scenario", "s2",
                          "--json", "-"});
  ASSERT_NE(p.command, nullptr) << p.err;
  EXPECT_EQ(p.command->app->get_option("--patch")->as<std::vector<std::string>>(),
            (std::vector<std::string>{"a.patch", "b.patch"}));
  EXPECT_EQ(p.command->app->get_option("--scenario")->as<std::vector<std::string>>(),
            (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(p.command->app->get_option("--json")->as<std::string>(), "-");

  auto e = make_command_line();
  Parsed x = parse(*e, {"explore", "--scenario", "s", "--kernel", "buggy", "--max-schedules", "0"});
  ASSERT_NE(x.command, nullptr) << x.err;
  EXPECT_EQ(x.command->app->get_option("--max-schedules")->as<int>(), 0) << "0: every schedule";

  // After --, a variant named like an option is a variant.
  auto k = make_command_line();
  Parsed b = parse(*k, {"kernel", "build", "--", "--weird"});
  ASSERT_NE(b.command, nullptr) << b.err;
  EXPECT_EQ(b.command->app->get_option("variants")->as<std::vector<std::string>>(),
            (std::vector<std::string>{"--weird"}));
}

}  // namespace
}  // namespace racerig::host
