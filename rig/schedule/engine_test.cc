// Schedule engine against a scripted fake target: the seed's schedule,
// early arrivals, wrong-vCPU and wrong-task hits, false predicates, a hold
// point that is never reached, a deadline, and a crash mid-schedule.
#include <gtest/gtest.h>

#include "rig/schedule/engine.h"
#include "rig/schedule/fake_target.h"

namespace racerig::schedule {
namespace {

constexpr uint64_t kFault = 0xffffffff81300000;     // __xfs_filemap_fault
constexpr uint64_t kFileattr = 0xffffffff81310000;  // xfs_fileattr_set
constexpr uint64_t kReturn = 0xffffffff81200050;    // its caller, after the call
constexpr uint64_t kStack = 0xffffc90000010f00;

Visit at(int vcpu, uint64_t pc, std::string comm, std::map<std::string, uint64_t> regs = {}) {
  Visit v;
  v.vcpu = vcpu;
  v.pc = pc;
  v.comm = std::move(comm);
  v.regs = std::move(regs);
  return v;
}

EngineConfig seed_config() {
  EngineConfig c;
  c.actors = {{"faulter", 0, "faulter"}, {"flipper", 1, "flipper"}};
  Step hold;
  hold.kind = Step::Kind::kHold;
  hold.actor = "faulter";
  hold.addr = GuestAddr(kFault);
  hold.point = "__xfs_filemap_fault";
  hold.when = {Predicate{"rdx", pb::Predicate::EQ, 1, "arg3 == 1"}};
  Step run;
  run.kind = Step::Kind::kRun;
  run.actor = "flipper";
  run.addr = GuestAddr(kFileattr);
  run.point = "xfs_fileattr_set";
  Step ret;
  ret.kind = Step::Kind::kRunToReturn;
  ret.actor = "flipper";
  Step release;
  release.kind = Step::Kind::kRelease;
  c.steps = {hold, run, ret, release};
  c.task = FakeTarget::layout();
  c.symbolize = [](GuestAddr a) { return a.hex(); };
  return c;
}

Visit flipper_entry() {
  Visit v = at(1, kFileattr, "flipper", {{"rsp", kStack}});
  v.memory[kStack] = kReturn;
  return v;
}

int find_event(const google::protobuf::RepeatedPtrField<pb::TraceEvent>& trace, const std::string& what,
               const std::string& actor) {
  for (int i = 0; i < trace.size(); ++i)
    if (trace[i].what() == what && trace[i].actor() == actor) return i;
  return -1;
}

TEST(EngineTest, EnforcesTheSeedScheduleAndSkipsForeignHits) {
  FakeTarget fake(2, {
                         at(1, 0x1000, "flipper"),
                         at(0, kFault, "faulter", {{"rdx", 0}}),  // a read fault: predicate false
                         at(0, kFault, "kworker/0:1", {{"rdx", 1}}),  // another task on vCPU0
                         at(0, kFault, "faulter", {{"rdx", 1}}),      // the hold point
                         at(0, 0x2000, "faulter"),                   // after the hold: must wait
                         flipper_entry(),
                         at(1, 0x3000, "flipper"),
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                         at(1, 0x4000, "flipper"),
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, seed_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;

  // The faulter's instruction after the hold point ran only after the
  // flipper returned from xfs_fileattr_set.
  const auto& ex = fake.executed();
  auto pos = [&](int vcpu, uint64_t pc) {
    for (size_t i = 0; i < ex.size(); ++i)
      if (ex[i].first == vcpu && ex[i].second == pc) return static_cast<int>(i);
    return -1;
  };
  ASSERT_GE(pos(0, 0x2000), 0);
  EXPECT_LT(pos(1, 0x3000), pos(0, 0x2000)) << "the flipper ran inside xfs_fileattr_set while the faulter was held";
  EXPECT_LT(pos(0, kFault), pos(1, kFileattr)) << "the fault entry is passed only after release";
  EXPECT_EQ(engine.skipped_hits(), 2);
  EXPECT_EQ(fake.resumes_while_on_breakpoint(), 0);
  EXPECT_TRUE(fake.breakpoints().empty());
  EXPECT_TRUE(fake.running());

  int held = find_event(trace, "held", "faulter");
  int returned = find_event(trace, "returned", "flipper");
  ASSERT_GE(held, 0);
  ASSERT_GE(returned, 0);
  EXPECT_LT(held, returned);
  EXPECT_EQ(trace[held].vcpu(), 0);
  EXPECT_EQ(trace[held].pc(), kFault);
  int arrived = find_event(trace, "arrived", "faulter");
  ASSERT_GE(arrived, 0);
  EXPECT_EQ(trace[arrived].comm(), "faulter");
  EXPECT_EQ(trace[returned].vcpu(), 1);
  EXPECT_EQ(trace[returned].pc(), kReturn);
}

TEST(EngineTest, AnActorArrivingEarlyWaitsAtItsGate) {
  FakeTarget fake(2, {
                         flipper_entry(),  // the flipper gets there first
                         at(1, 0x3000, "flipper"),
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                         at(0, 0x1000, "faulter"),
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         at(0, 0x2000, "faulter"),
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, seed_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  EXPECT_GE(find_event(trace, "arrived_early", "flipper"), 0);
  const auto& ex = fake.executed();
  size_t fileattr = 0, fault = 0;
  for (size_t i = 0; i < ex.size(); ++i) {
    if (ex[i].second == kFileattr) fileattr = i;
    if (ex[i].second == kFault) fault = i;
  }
  EXPECT_LT(fileattr, fault) << "flipper ran while the faulter was held";
  EXPECT_EQ(fake.resumes_while_on_breakpoint(), 0);
}

TEST(EngineTest, AHitOnTheWrongVcpuIsSteppedOver) {
  FakeTarget fake(2, {
                         at(1, kFault, "faulter", {{"rdx", 1}}),  // right comm, wrong vCPU
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, seed_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  EXPECT_EQ(engine.skipped_hits(), 1);
  EXPECT_EQ(trace[find_event(trace, "held", "faulter")].vcpu(), 0);
}

TEST(EngineTest, RecursionReturnsOnlyFromTheRightFrame) {
  Visit inner = at(1, kReturn, "flipper", {{"rsp", kStack - 0x100}});  // a deeper frame returns there too
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),
                         inner,
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                         at(1, 0x5000, "flipper"),
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, seed_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  int returned = find_event(trace, "returned", "flipper");
  ASSERT_GE(returned, 0);
  EXPECT_EQ(engine.skipped_hits(), 1);
}

TEST(EngineTest, AHoldPointNeverReachedIsNotReached) {
  Visit done = at(0, 0x2000, "faulter");
  done.actor_done = "faulter";
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 0}}),  // only a read fault
                         done,
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, seed_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  EXPECT_EQ(out.kind, Outcome::Kind::kNotReached);
  EXPECT_EQ(out.step, 0);
  EXPECT_NE(out.reason.find("faulter finished its operations without reaching __xfs_filemap_fault"),
            std::string::npos)
      << out.reason;
  EXPECT_EQ(out.vcpus.size(), 2u);
}

TEST(EngineTest, AStepPastItsDeadlineStallsWithEveryVcpuDescribed) {
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         at(1, 0xffffffff81050000, "flipper"),  // spins, never reaches the point
                     });
  EngineConfig config = seed_config();
  config.step_timeout = std::chrono::milliseconds(50);
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, config, &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kStalled);
  EXPECT_EQ(out.step, 1);
  EXPECT_NE(out.reason.find("flipper did not reach xfs_fileattr_set"), std::string::npos) << out.reason;
  ASSERT_EQ(out.vcpus.size(), 2u);
  EXPECT_TRUE(out.vcpus[0].held());
  EXPECT_EQ(out.vcpus[0].pc(), kFault);
  EXPECT_EQ(out.vcpus[0].comm(), "faulter");
  EXPECT_FALSE(out.vcpus[1].held());
  EXPECT_EQ(out.vcpus[1].pc(), 0xffffffff81050000u);
}

TEST(EngineTest, AnOopsBeforeTheHoldIsReportedAsACrashNotAPass) {
  Visit crash = at(1, 0x6000, "flipper");
  crash.oops = true;
  FakeTarget fake(2, {crash, at(0, kFault, "faulter", {{"rdx", 1}})});
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  EngineConfig config = seed_config();
  Engine engine(fake, fake, config, &trace);
  ASSERT_TRUE(engine.arm().ok());
  // The faulter is held at step 0 (its stop raced with the crash report);
  // step 1 then cannot happen on a crashed kernel: never a silent pass.
  Outcome out = engine.execute();
  EXPECT_EQ(out.kind, Outcome::Kind::kGuestCrashed) << out.reason;
  EXPECT_EQ(out.step, 1);
  EXPECT_NE(out.reason.find("BUG: kernel NULL pointer dereference"), std::string::npos) << out.reason;
}

}  // namespace
}  // namespace racerig::schedule
