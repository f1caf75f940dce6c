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

Result<ResolvedPoint> fake_resolve(std::string_view spec) {
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

TEST(ScenarioTest, GarbageNeverCrashes) {
  for (std::string junk : {std::string("\x01\x02\xff{{{"), std::string("schedule { hold { } }"), std::string("")}) {
    auto r = load_scenario(write_temp(junk), 2);
    EXPECT_FALSE(r.ok());
  }
}

}  // namespace
}  // namespace racerig::scenario
