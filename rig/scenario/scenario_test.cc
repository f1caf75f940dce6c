// Scenario loading, validation errors with file:line, and resolution.
#include <gtest/gtest.h>

#include <fstream>

#include "rig/scenario/scenario.h"

namespace racerig::scenario {
namespace {

// Scenario text in a file that is removed at the end of the test program.
class TempFiles {
 public:
  ~TempFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path write(const std::string& text) {
    std::filesystem::create_directories(dir_);
    auto p = dir_ / ("s" + std::to_string(n_++) + ".textproto");
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("racerig-scenario-test-" + std::to_string(getpid()));
  int n_ = 0;
};
TempFiles temp_files;

std::filesystem::path write_temp(const std::string& text) { return temp_files.write(text); }

const char* kGood = R"(name: "t"
workload {
  actors { name: "a" cpu: 0 ops { fsync { path: "/mnt/x" } } }
  actors { name: "b" cpu: 1 ops { fsync { path: "/mnt/x" } } }
}
schedule { hold { actor: "a" at { symbol: "f" } when { arg: 3 value: 1 } } }
schedule { run { actor: "b" until { symbol: "g+0x10" } } }
schedule { run { actor: "b" until_return: true } }
schedule { release {} }
expect { oops { function: "h" } }
)";

Result<ResolvedPoint> fake_resolve(const pb::CodePoint& point) {
  const std::string spec = point.symbol().empty() ? point.line() : point.symbol();
  if (spec == "f") return ResolvedPoint{GuestAddr(0x1000), "f", 0};
  if (spec == "g+0x10") return ResolvedPoint{GuestAddr(0x2010), "g", 0x10};
  return make_error(ErrorKind::kInput, "unknown symbol \"" + std::string(spec) + "\"; did you mean \"f\"?");
}

std::string load_error(const std::string& text) {
  auto r = load_scenario(write_temp(text), 2);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

std::string load_error_any(const std::string& text) {
  auto r = load_scenario(write_temp(text));
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

TEST(ScenarioTest, TheShippedSeedScenarioLoads) {
  auto path = find_scenario("xfs-dax-flip-vs-write-fault", RACERIG_SCENARIOS_DIR);
  ASSERT_TRUE(path.ok()) << path.error().message;
  auto s = load_scenario(*path, 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->scenario.schedule_size(), 5);
  EXPECT_EQ(s->scenario.workload().actors_size(), 2);
}

TEST(ScenarioTest, ResolvesPointsAndPredicates) {
  auto s = load_scenario(write_temp(kGood), 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto steps = resolve_schedule(*s, fake_resolve);
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 4u);
  EXPECT_EQ((*steps)[0].addr, GuestAddr(0x1000));
  ASSERT_EQ((*steps)[0].when.size(), 1u);
  EXPECT_EQ((*steps)[0].when[0].reg, "rdx");
  EXPECT_EQ((*steps)[0].text, "hold a at f when arg3 == 1");
  EXPECT_EQ((*steps)[1].func_offset, 0x10u);
  EXPECT_EQ((*steps)[2].kind, schedule::Step::Kind::kRunToReturn);
  EXPECT_EQ((*steps)[3].kind, schedule::Step::Kind::kRelease);
}

TEST(ScenarioTest, ParseErrorsCarryLineAndColumn) {
  std::string e = load_error("name: \"t\"\nworkload {\n  actors { nam: \"a\" }\n}\n");
  EXPECT_NE(e.find(".textproto:3:"), std::string::npos) << e;
  EXPECT_NE(e.find("nam"), std::string::npos) << e;
}

// Scenario.programs and exec ops: sources relative to the scenario file,
// names unique, exec naming a declared program.
std::string with_programs(const std::string& programs, const std::string& exec_program) {
  std::string text = kGood;
  const std::string fsync = "ops { fsync { path: \"/mnt/x\" } } }";
  text.replace(text.find(fsync), fsync.size(),
               "ops { exec { program: \"" + exec_program + "\" argv: \"-v\" } } }");
  return text + programs;
}

TEST(ScenarioTest, ProgramsResolveRelativeToTheScenarioFile) {
  std::filesystem::path scenario = write_temp("");
  std::ofstream(scenario.parent_path() / "hello.c") << "int main(void) { return 0; }\n";
  auto r = load_scenario(write_temp(with_programs("programs { name: \"hello\" source: \"hello.c\" }\n", "hello")), 2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->scenario.programs_size(), 1);
  EXPECT_EQ(program_source(*r, r->scenario.programs(0)), scenario.parent_path() / "hello.c");
  EXPECT_EQ(r->scenario.workload().actors(0).ops(0).exec().argv(0), "-v");
}

TEST(ScenarioTest, ExecOfAnUnknownProgramIsRejectedAtItsLine) {
  std::ofstream(write_temp("").parent_path() / "hello.c") << "int main(void) { return 0; }\n";
  std::string e = load_error(with_programs("programs { name: \"hello\" source: \"hello.c\" }\n", "helo"));
  EXPECT_NE(e.find(":3:"), std::string::npos) << e;
  EXPECT_NE(e.find("exec: unknown program \"helo\"; did you mean \"hello\"?"), std::string::npos) << e;
  e = load_error(with_programs("", "hello"));
  EXPECT_NE(e.find("the scenario has no `programs`"), std::string::npos) << e;
}

TEST(ScenarioTest, AMissingSourceIsRejectedNamingTheFileAndField) {
  std::string e = load_error(with_programs("programs { name: \"gone\" source: \"gone.c\" }\n", "gone"));
  EXPECT_NE(e.find(":11:"), std::string::npos) << e;
  EXPECT_NE(e.find("program \"gone\": source "), std::string::npos) << e;
  EXPECT_NE(e.find("gone.c is not a file"), std::string::npos) << e;
}

TEST(ScenarioTest, DuplicateProgramNamesAreRejected) {
  std::ofstream(write_temp("").parent_path() / "hello.c") << "int main(void) { return 0; }\n";
  std::string e = load_error(with_programs(
      "programs { name: \"hello\" source: \"hello.c\" }\nprograms { name: \"hello\" source: \"hello.c\" }\n", "hello"));
  EXPECT_NE(e.find(":12:"), std::string::npos) << e;
  EXPECT_NE(e.find("program \"hello\" is declared twice"), std::string::npos) << e;
  e = load_error(with_programs("programs { name: \"../x\" source: \"hello.c\" }\n", "../x"));
  EXPECT_NE(e.find("must be 1-64 of [A-Za-z0-9_.-]"), std::string::npos) << e;
}

// workload { setup { device mkfs mount_options } }: the guest's storage.
std::string with_setup(const std::string& setup) {
  std::string text = kGood;
  text.replace(text.find("workload {\n"), 11, "workload {\n  setup {\n" + setup + "\n  }\n");
  return text;
}

TEST(ScenarioTest, ASetupOfExt4OnVirtioBlkOrNoDiskLoads) {
  for (const std::string setup : {"device: virtio_blk mkfs: ext4 mount_options: \"noatime\"", "device: none",
                                  "device: pmem mkfs: ext4", "device: virtio_blk mkfs: none"}) {
    auto r = load_scenario(write_temp(with_setup(setup)), 2);
    ASSERT_TRUE(r.ok()) << setup << ": " << r.error().message;
  }
  auto r = load_scenario(write_temp(with_setup("device: virtio_blk mkfs: ext4")), 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scenario.workload().setup().device(), pb::SetupDevice::virtio_blk);
  EXPECT_EQ(r->scenario.workload().setup().mkfs(), pb::SetupMkfs::ext4);
}

TEST(ScenarioTest, ABadSetupIsRejectedNamingTheFileLineAndField) {
  // An unknown value: the text format's own error, with file, line and
  // field (protobuf places it at the token after the value: here the next
  // line's "}").
  std::string e = load_error(with_setup("    device: vdb"));
  EXPECT_NE(e.find(".textproto:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("\"vdb\""), std::string::npos) << e;
  EXPECT_NE(e.find("device"), std::string::npos) << e;
  e = load_error(with_setup("    mkfs: btrfs"));
  EXPECT_NE(e.find(".textproto:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("\"btrfs\""), std::string::npos) << e;
  // mkfs without a device, at the mkfs line.
  e = load_error(with_setup("    device: none\n    mkfs: ext4"));
  EXPECT_NE(e.find(".textproto:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("setup.mkfs: mkfs: ext4 needs a device, and device is none"), std::string::npos) << e;
  e = load_error(with_setup("    device: none\n    mount_options: \"noatime\""));
  EXPECT_NE(e.find(".textproto:5:"), std::string::npos) << e;
  EXPECT_NE(e.find("setup.mount_options: \"noatime\" but nothing is mounted"), std::string::npos) << e;
}

TEST(ScenarioTest, UnknownActorIsReportedAtItsLineWithASuggestion) {
  std::string text = kGood;
  text.replace(text.find("run { actor: \"b\" until {"), 17, "run { actor: \"bb\"");
  std::string e = load_error(text);
  EXPECT_NE(e.find(":7:"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown actor \"bb\"; did you mean \"b\"?"), std::string::npos) << e;
}

TEST(ScenarioTest, AnImpossibleCpuIsRejected) {
  std::string text = kGood;
  text.replace(text.find("cpu: 1"), 6, "cpu: 7");
  std::string e = load_error(text);
  EXPECT_NE(e.find(":4:"), std::string::npos) << e;
  EXPECT_NE(e.find("pinned to CPU 7 but the VM has 2 vCPUs"), std::string::npos) << e;
}

// The vCPU count belongs to the scenario: machine { cpus } or the highest
// actor CPU + 1, at least 2.
TEST(ScenarioTest, TheMachineComesFromTheScenario) {
  std::string text = kGood;
  text.replace(text.find("cpu: 1"), 6, "cpu: 2");
  auto three = load_scenario(write_temp(text));  // no count given: the scenario's
  ASSERT_TRUE(three.ok()) << three.error().message;
  EXPECT_EQ(machine_cpus(three->scenario), 3);
  EXPECT_EQ(machine_memory_mb(three->scenario), 512);
  auto two = load_scenario(write_temp(kGood));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(machine_cpus(two->scenario), 2);
  pb::Scenario one_actor;
  one_actor.mutable_workload()->add_actors()->set_cpu(0);
  EXPECT_EQ(machine_cpus(one_actor), 2) << "at least 2";
  auto big = load_scenario(write_temp(std::string(kGood) + "machine { cpus: 4 memory_mb: 768 }\n"));
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(machine_cpus(big->scenario), 4);
  EXPECT_EQ(machine_memory_mb(big->scenario), 768);
  // The count checked against is kept for the run: the scenario's, or the
  // one asked for.
  EXPECT_EQ(three->vcpus, 3);
  EXPECT_EQ(big->vcpus, 4);
  auto asked = load_scenario(write_temp(std::string(kGood) + "machine { cpus: 4 }\n"), 6);
  ASSERT_TRUE(asked.ok()) << asked.error().message;
  EXPECT_EQ(asked->vcpus, 6);
  // A machine too small for its actors is an input error at the actor's line.
  std::string e = load_error_any(text + "machine { cpus: 2 }\n");
  EXPECT_NE(e.find("pinned to CPU 2 but the VM has 2 vCPUs"), std::string::npos) << e;
}

TEST(ScenarioTest, ActorsSharingACpuCannotBothBeScheduled) {
  std::string text = kGood;
  text.replace(text.find("cpu: 1"), 6, "cpu: 0");
  EXPECT_NE(load_error(text).find("share CPU 0"), std::string::npos);
}

TEST(ScenarioTest, BadPredicatesAndPointsAreRejected) {
  std::string text = kGood;
  text.replace(text.find("arg: 3"), 6, "arg: 9");
  EXPECT_NE(load_error(text).find("arg 9 is out of range"), std::string::npos);
  text = kGood;
  text.replace(text.find("at { symbol: \"f\" }"), 18, "at { }");
  EXPECT_NE(load_error(text).find("needs exactly one of `symbol`"), std::string::npos);
  text = kGood;
  text.replace(text.find("arg: 3"), 6, "reg: \"rdxx\"");
  std::string e = load_error(text);
  EXPECT_NE(e.find("did you mean \"rdx\""), std::string::npos) << e;
}

TEST(ScenarioTest, RunUntilReturnNeedsAPriorStop) {
  std::string text = kGood;
  const std::string run_until = "schedule { run { actor: \"b\" until { symbol: \"g+0x10\" } } }";
  text.replace(text.find(run_until), run_until.size(), "");
  EXPECT_NE(load_error(text).find("must first be stopped"), std::string::npos);
}

TEST(ScenarioTest, AMissingExpectationIsRejected) {
  std::string text = kGood;
  text.replace(text.find("expect {"), std::string::npos, "");
  EXPECT_NE(load_error(text).find("no expectation"), std::string::npos);
}

TEST(ScenarioTest, UnknownSymbolsAreReportedAtTheirLine) {
  std::string text = kGood;
  text.replace(text.find("symbol: \"f\""), 11, "symbol: \"ff\"");
  auto s = load_scenario(write_temp(text), 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto steps = resolve_schedule(*s, fake_resolve);
  ASSERT_FALSE(steps.ok());
  EXPECT_NE(steps.error().message.find(":6:"), std::string::npos) << steps.error().message;
  EXPECT_NE(steps.error().message.find("did you mean \"f\""), std::string::npos);
}

TEST(ScenarioTest, UnknownScenarioNamesListTheKnownOnes) {
  auto r = find_scenario("xfs-dax-flip", RACERIG_SCENARIOS_DIR);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("xfs-dax-flip-vs-write-fault"), std::string::npos) << r.error().message;
}

// ---------------------------------------------------------------- explore

// kGood (10 lines) with an explore block from line 11: `explore {` 11:1,
// the first `actors:` 12:3, the second 13:3, `functions:` 14:3, `lines:` 15:3.
std::string with_explore(const std::string& actors0, const std::string& actors1, const std::string& function,
                         const std::string& lines) {
  return std::string(kGood) + "explore {\n  actors: \"" + actors0 + "\"\n  actors: \"" + actors1 +
         "\"\n  functions: \"" + function + "\"\n  lines: \"" + lines + "\"\n}\n";
}

TEST(ScenarioExploreTest, AWindowLoadsAndNamesItsActors) {
  auto s = load_scenario(write_temp(with_explore("b", "a", "__xfs_filemap_fault", "fs/xfs/xfs_file.c:1340-1376")), 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(explored_actors(s->scenario), (std::vector<std::string>{"b", "a"})) << "the list, in its order";
  // No list: every actor of the workload, in workload order.
  std::string three = kGood;
  three.replace(three.find("}\nschedule"), 1,
                "  actors { name: \"c\" cpu: 2 ops { fsync { path: \"/mnt/x\" } } }\n}");
  auto all = load_scenario(write_temp(three + "explore { lines: \"fs/xfs/xfs_file.c:1348\" }\n"));
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(explored_actors(all->scenario), (std::vector<std::string>{"a", "b", "c"}));
}

// The seed scenario with the window issue 22 names for it.
TEST(ScenarioExploreTest, TheSeedScenarioTakesAWindow) {
  auto path = find_scenario("xfs-dax-flip-vs-write-fault", RACERIG_SCENARIOS_DIR);
  ASSERT_TRUE(path.ok()) << path.error().message;
  std::ifstream in(*path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  if (text.find("\nexplore {") == std::string::npos)
    text += "explore {\n  functions: \"__xfs_filemap_fault\"\n  functions: \"xfs_filemap_fault\"\n}\n";
  auto s = load_scenario(write_temp(text), 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(explored_actors(s->scenario).size(), 2u);
}

TEST(ScenarioExploreTest, AnUnknownActorIsReportedAtItsEntryWithTheKnownNames) {
  std::string e = load_error(with_explore("a", "bb", "f", "x.c:1-2"));
  EXPECT_NE(e.find(".textproto:13:3: explore: unknown actor \"bb\"; did you mean \"b\"? (known: a, b)"),
            std::string::npos)
      << e;
}

TEST(ScenarioExploreTest, AnActorListedTwiceIsRejected) {
  std::string e = load_error(with_explore("a", "a", "f", "x.c:1-2"));
  EXPECT_NE(e.find(".textproto:13:3: explore: actor \"a\" is listed twice"), std::string::npos) << e;
}

TEST(ScenarioExploreTest, ItNeedsTwoActors) {
  // An explicit list of one.
  std::string e = load_error(std::string(kGood) + "explore {\n  actors: \"a\"\n  functions: \"f\"\n}\n");
  EXPECT_NE(e.find(".textproto:12:3: explore needs at least two actors"), std::string::npos) << e;
  EXPECT_NE(e.find("leave `actors` out"), std::string::npos) << e;
  // No list, and a workload of one actor.
  const std::string one_actor = R"(name: "t"
workload {
  actors { name: "a" cpu: 0 ops { fsync { path: "/mnt/x" } } }
}
expect { oops { function: "h" } }
explore { functions: "f" }
)";
  e = load_error(one_actor);
  EXPECT_NE(e.find(".textproto:6:1: explore needs at least two actors"), std::string::npos) << e;
  EXPECT_NE(e.find("the workload has 1"), std::string::npos) << e;
}

TEST(ScenarioExploreTest, ExploredActorsMustNotShareACpu) {
  // The schedule is dropped so that only explore sees the two on CPU 0.
  std::string text = kGood;
  text.replace(text.find("cpu: 1"), 6, "cpu: 0");
  text.erase(text.find("schedule {"), text.find("expect {") - text.find("schedule {"));
  std::string e = load_error(text + "explore {\n  actors: \"a\"\n  actors: \"b\"\n  functions: \"f\"\n}\n");
  EXPECT_NE(e.find(":9:3: explore: actors \"a\" and \"b\" share CPU 0"), std::string::npos) << e;
  e = load_error(text + "explore { functions: \"f\" }\n");
  EXPECT_NE(e.find(":7:1: explore: actors \"a\" and \"b\" share CPU 0"), std::string::npos) << e;
}

TEST(ScenarioExploreTest, ItNeedsAWindow) {
  std::string e = load_error(std::string(kGood) + "explore {\n  actors: \"a\"\n  actors: \"b\"\n}\n");
  EXPECT_NE(e.find(".textproto:11:1: explore needs a window: at least one `functions:"), std::string::npos) << e;
  e = load_error(std::string(kGood) + "explore { }\n");
  EXPECT_NE(e.find(".textproto:11:1: explore needs a window"), std::string::npos) << e;
  // Either kind of window is enough.
  EXPECT_TRUE(load_scenario(write_temp(std::string(kGood) + "explore { functions: \"f\" }\n"), 2).ok());
  EXPECT_TRUE(load_scenario(write_temp(std::string(kGood) + "explore { lines: \"f.c:3\" }\n"), 2).ok());
}

TEST(ScenarioExploreTest, FunctionNamesAreOneNonEmptyName) {
  std::string e = load_error(with_explore("a", "b", "", "x.c:1-2"));
  EXPECT_NE(e.find(".textproto:14:3: explore: function 1 is empty"), std::string::npos) << e;
  e = load_error(with_explore("a", "b", "xfs_filemap_fault __xfs_filemap_fault", "x.c:1-2"));
  EXPECT_NE(e.find(".textproto:14:3: explore: function \"xfs_filemap_fault __xfs_filemap_fault\" contains a space"),
            std::string::npos)
      << e;
  e = load_error(with_explore("a", "b", "f\t", "x.c:1-2"));
  EXPECT_NE(e.find("contains a space"), std::string::npos) << e;
}

TEST(ScenarioExploreTest, BadLineRangesAreReportedAtTheirEntry) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"fs/xfs/xfs_file.c", "has no ':'"}, Case{":1-2", "has no path"},
                        Case{"x.c:", "has no line numbers"}, Case{"x.c:a-b", "has no line numbers"},
                        Case{"x.c:1-", "has no line numbers"}, Case{"x.c:-3", "has no line numbers"},
                        Case{"x.c:1-2-3", "has no line numbers"}, Case{"x.c:+1-2", "has no line numbers"},
                        Case{"x.c: 1-2", "has no line numbers"}, Case{"x.c:99999999999", "has no line numbers"},
                        Case{"x.c:0-3", "starts at line 0"}, Case{"x.c:0", "starts at line 0"},
                        Case{"x.c:5-3", "ends before it starts (5 > 3)"}}) {
    std::string e = load_error(with_explore("a", "b", "f", c.text));
    EXPECT_NE(e.find(std::string(".textproto:15:3: explore: line range \"") + c.text + "\" " + c.why),
              std::string::npos)
        << c.text << ": " << e;
    EXPECT_NE(e.find("expected \"path:first-last\" or \"path:N\""), std::string::npos) << e;
  }
}

TEST(ScenarioExploreTest, LineRangesParse) {
  auto r = parse_line_range("fs/xfs/xfs_file.c:1340-1376");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->file, "fs/xfs/xfs_file.c");
  EXPECT_EQ(r->first, 1340);
  EXPECT_EQ(r->last, 1376);
  r = parse_line_range("fs/xfs/xfs_file.c:1348");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first, 1348);
  EXPECT_EQ(r->last, 1348) << "one line";
  r = parse_line_range("x.c:7-7");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first, 7);
  EXPECT_EQ(r->last, 7);
  r = parse_line_range("dir:odd/x.c:3-4");  // the last ':' separates the lines
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->file, "dir:odd/x.c");
  r = parse_line_range("x.c:4-3");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInput);
  EXPECT_EQ(r.error().message.rfind("line range \"x.c:4-3\" ends before it starts", 0), 0u) << r.error().message;
}

TEST(ScenarioExploreTest, AnExploringScenarioNeedsAnExpectation) {
  const std::string no_schedule = R"(name: "t"
workload {
  actors { name: "a" cpu: 0 ops { fsync { path: "/mnt/x" } } }
  actors { name: "b" cpu: 1 ops { fsync { path: "/mnt/x" } } }
}
explore { functions: "f" }
)";
  std::string e = load_error(no_schedule);
  EXPECT_NE(e.find("no expectation"), std::string::npos) << e;
  auto ok = load_scenario(write_temp(no_schedule + "expect { guest_check_fails: true }\n"), 2);
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

// ---------------------------------------------------------------- visits and until_done

// kGood's workload (lines 1-5), then `schedule` from line 6, then an
// expectation.
std::string with_schedule(const std::string& schedule) {
  std::string text = kGood;
  text.erase(text.find("schedule {"), text.find("expect {") - text.find("schedule {"));
  return text.insert(text.find("expect {"), schedule);
}

Result<std::vector<schedule::Step>> steps_of(const std::string& text) {
  auto s = load_scenario(write_temp(text), 2);
  if (!s.ok()) return s.error();
  return resolve_schedule(*s, fake_resolve);
}

TEST(ScenarioVisitTest, VisitsBecomeTheStepsVisitAndAreNamedInItsText) {
  auto steps = steps_of(with_schedule(
      "schedule { hold { actor: \"a\" at { symbol: \"f\" } when { arg: 3 value: 1 } visit: 3 } }\n"
      "schedule { run { actor: \"b\" until { symbol: \"g+0x10\" } visit: 2 } }\n"
      "schedule { run { actor: \"b\" until { symbol: \"f\" } visit: 1 } }\n"
      "schedule { hold { actor: \"a\" at { symbol: \"f\" } visit: 0 } }\n"
      "schedule { run { actor: \"b\" until { symbol: \"f\" } } }\n"
      "schedule { release {} }\n"));
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 6u);
  EXPECT_EQ((*steps)[0].visit, 3);
  EXPECT_EQ((*steps)[0].text, "hold a at f when arg3 == 1 (visit 3)");
  EXPECT_EQ((*steps)[1].visit, 2);
  EXPECT_EQ((*steps)[1].text, "run b until g+0x10 (visit 2)");
  EXPECT_EQ((*steps)[2].visit, 1);
  EXPECT_EQ((*steps)[2].text, "run b until f") << "the first visit is not spelled out";
  EXPECT_EQ((*steps)[3].visit, 1) << "0 is the first arrival";
  EXPECT_EQ((*steps)[3].text, "hold a at f");
  EXPECT_EQ((*steps)[4].visit, 1) << "no visit: the first arrival";
  EXPECT_EQ((*steps)[5].visit, 1);
}

TEST(ScenarioVisitTest, AVisitAboveTheLimitIsAnInputErrorAtTheField) {
  // Lines 6-12: the hold's `visit:` on line 10, column 5.
  const std::string hold_visit =
      "schedule {\n"
      "  hold {\n"
      "    actor: \"a\"\n"
      "    at { symbol: \"f\" }\n"
      "    visit: ";
  std::string e = load_error(with_schedule(hold_visit + "100001\n  }\n}\n"));
  EXPECT_NE(e.find(".textproto:10:5: hold `visit` 100001 is above 100000"), std::string::npos) << e;
  auto limit = steps_of(with_schedule(hold_visit + "100000\n  }\n}\n"));
  ASSERT_TRUE(limit.ok()) << limit.error().message;
  EXPECT_EQ((*limit)[0].visit, kMaxVisit);
  e = load_error(with_schedule(
      "schedule {\n"
      "  run {\n"
      "    actor: \"b\"\n"
      "    until { symbol: \"f\" }\n"
      "    visit: 4294967295\n"
      "  }\n"
      "}\n"));
  EXPECT_NE(e.find(".textproto:10:5: run `visit` 4294967295 is above 100000"), std::string::npos) << e;
}

TEST(ScenarioVisitTest, UntilDoneRunsTheActorToItsEnd) {
  auto steps = steps_of(with_schedule(
      "schedule { hold { actor: \"a\" at { symbol: \"f\" } } }\n"
      "schedule { run { actor: \"b\" until_done: true } }\n"
      "schedule { release { actor: \"a\" } }\n"));
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  ASSERT_EQ(steps->size(), 3u);
  const schedule::Step& run = (*steps)[1];
  EXPECT_EQ(run.kind, schedule::Step::Kind::kRunToEnd);
  EXPECT_EQ(run.actor, "b");
  EXPECT_EQ(run.text, "run b until it finished its operations");
  EXPECT_TRUE(run.addrs.empty()) << "no point";
  EXPECT_TRUE(run.point.empty());
  EXPECT_EQ(run.visit, 1);
}

TEST(ScenarioVisitTest, UntilDoneCombinesWithNoPointField) {
  // Lines 6-11: `until_done:` on line 9, the other field on line 10, column 5.
  struct Case {
    const char* field;
    const char* name;
  };
  for (const Case& c : {Case{"until { symbol: \"f\" }", "until"}, Case{"until_return: true", "until_return"},
                        Case{"when { arg: 1 value: 2 }", "when"}, Case{"visit: 2", "visit"}}) {
    std::string e = load_error(with_schedule(std::string("schedule {\n  run {\n    actor: \"b\"\n"
                                                         "    until_done: true\n    ") +
                                             c.field + "\n  }\n}\n"));
    EXPECT_NE(e.find(std::string(".textproto:10:5: `until_done` cannot be combined with `") + c.name + "`"),
              std::string::npos)
        << c.name << ": " << e;
  }
}

TEST(ScenarioVisitTest, UntilReturnCombinesWithNoPointField) {
  const std::string stop = "schedule { hold { actor: \"b\" at { symbol: \"f\" } } }\n";  // line 6
  struct Case {
    const char* field;
    const char* name;
  };
  for (const Case& c : {Case{"until { symbol: \"f\" }", "until"}, Case{"when { arg: 1 value: 2 }", "when"},
                        Case{"visit: 2", "visit"}}) {
    std::string e = load_error(with_schedule(stop + "schedule {\n  run {\n    actor: \"b\"\n"
                                                    "    until_return: true\n    " +
                                             c.field + "\n  }\n}\n"));
    EXPECT_NE(e.find(std::string(".textproto:11:5: `until_return` cannot be combined with `") + c.name + "`"),
              std::string::npos)
        << c.name << ": " << e;
  }
}

TEST(ScenarioVisitTest, ARunNeedsExactlyOneTarget) {
  std::string e = load_error(with_schedule("schedule {\n  run { actor: \"b\" }\n}\n"));
  EXPECT_NE(e.find(".textproto:7:3: a run needs exactly one of `until { ... }`, `until_return: true` or "
                   "`until_done: true`"),
            std::string::npos)
      << e;
  // A `when` or `visit` alone is not a target either.
  e = load_error(with_schedule("schedule { run { actor: \"b\" visit: 2 } }\n"));
  EXPECT_NE(e.find("a run needs exactly one of"), std::string::npos) << e;
}

TEST(ScenarioVisitTest, AFinishedActorCannotBeHeldOrRunAgain) {
  const std::string done = "schedule { run { actor: \"b\" until_done: true } }\n";  // line 6
  std::string e = load_error(with_schedule(done + "schedule { hold { actor: \"b\" at { symbol: \"f\" } } }\n"));
  EXPECT_NE(e.find(".textproto:7:19: \"b\" already finished its operations (run until_done, step 1): it cannot be "
                   "held or run again"),
            std::string::npos)
      << e;
  e = load_error(with_schedule(done + "schedule { run { actor: \"b\" until_done: true } }\n"));
  EXPECT_NE(e.find(":7:18: \"b\" already finished"), std::string::npos) << e;
  // until_done needs no earlier stop of its actor, and the other actor can
  // be held across it and released after it.
  auto ok = steps_of(with_schedule("schedule { hold { actor: \"a\" at { symbol: \"f\" } } }\n" + done +
                                   "schedule { release {} }\n"));
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(ScenarioTest, GarbageNeverCrashes) {
  for (std::string junk : {std::string("\x01\x02\xff{{{"), std::string("schedule { hold { } }"), std::string("")}) {
    auto r = load_scenario(write_temp(junk), 2);
    EXPECT_FALSE(r.ok());
  }
}

}  // namespace
}  // namespace racerig::scenario
