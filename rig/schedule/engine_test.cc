// Schedule engine against a scripted fake target: the seed's schedule,
// early arrivals, wrong-vCPU and wrong-task hits, false predicates, a hold
// point that is never reached, a deadline, and a crash mid-schedule.
#include <gtest/gtest.h>

#include <algorithm>

#include "rig/schedule/engine.h"
#include "rig/schedule/fake_target.h"

namespace racerig::schedule {
namespace {

constexpr uint64_t kFault = 0xffffffff81300000;     // __xfs_filemap_fault
constexpr uint64_t kFileattr = 0xffffffff81310000;  // xfs_fileattr_set
constexpr uint64_t kReturn = 0xffffffff81200050;    // its caller, after the call
constexpr uint64_t kStack = 0xffffc90000010f00;

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
  auto last = [&](int vcpu, uint64_t pc) {
    int at = -1;
    for (size_t i = 0; i < ex.size(); ++i)
      if (ex[i].first == vcpu && ex[i].second == pc) at = static_cast<int>(i);
    return at;
  };
  ASSERT_GE(pos(0, 0x2000), 0);
  EXPECT_LT(pos(1, 0x3000), pos(0, 0x2000)) << "the flipper ran inside xfs_fileattr_set while the faulter was held";
  // The faulter's hold visit (the last of the three at the fault entry; the
  // first two were stepped over) is passed only after its release, which
  // comes after the flipper ran everything up to its return. (A visit at a
  // breakpoint counts as executed when it is stepped over, so the flipper's
  // own return visit is consumed later, at the final resume.)
  ASSERT_EQ(std::count(ex.begin(), ex.end(), std::make_pair(0, kFault)), 3);
  EXPECT_GT(last(0, kFault), pos(1, 0x3000)) << "the fault entry is passed only after release";
  EXPECT_EQ(engine.skipped_hits(), 2);
  EXPECT_EQ(fake.resumes_while_on_breakpoint(), 0);
  EXPECT_TRUE(fake.breakpoints().empty());
  EXPECT_TRUE(fake.running());

  int held = find_event(trace, "held", "faulter");
  int returned = find_event(trace, "returned", "flipper");
  ASSERT_GE(held, 0);
  ASSERT_GE(returned, 0);
  EXPECT_LT(held, returned);
  int released = find_event(trace, "released", "faulter");
  ASSERT_GE(released, 0);
  EXPECT_GT(released, returned) << "the faulter is released only after the flipper returned";
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

// A file:line point with several addresses (each is_stmt start of the
// line, inlined copies): a hit on any of them is the arrival.
TEST(EngineTest, APointWithSeveralAddressesIsReachedAtAnyOfThem) {
  constexpr uint64_t kLineA = kFault + 52, kLineB = kFault + 121;
  EngineConfig c = seed_config();
  c.steps[0].addr = GuestAddr(kLineA);
  c.steps[0].addrs = {GuestAddr(kLineA), GuestAddr(kLineB)};
  c.steps[0].func_offset = 52;
  c.steps[0].when.clear();
  c.steps[0].point = "fs/xfs/xfs_file.c:1355";
  FakeTarget fake(2, {
                         at(0, kLineB, "faulter"),  // the write path's copy of the line
                         flipper_entry(),
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                         at(0, kLineA, "faulter"),  // must not count twice
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, c, &trace);
  ASSERT_TRUE(engine.arm().ok());
  EXPECT_EQ(fake.breakpoints().count(kLineA) + fake.breakpoints().count(kLineB), 2u) << "both armed";
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  int held = find_event(trace, "held", "faulter");
  ASSERT_GE(held, 0);
  EXPECT_EQ(trace[held].pc(), kLineB);
  EXPECT_TRUE(fake.breakpoints().empty());
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

// ------------------------------------------------ blocked actors

namespace racerig::schedule {
namespace {

constexpr uint64_t kSchedule = 0xffffffff81a00010;   // __schedule, after the switch
constexpr uint64_t kRwsemWrite = 0xffffffff81a10020;  // rwsem_down_write_slowpath
constexpr uint64_t kRwsemRead = 0xffffffff81a11020;   // rwsem_down_read_slowpath
constexpr uint64_t kIlock = 0xffffffff81320030;       // xfs_ilock
constexpr uint64_t kInFileattr = 0xffffffff81310040;  // xfs_fileattr_set, after a call
constexpr uint64_t kInFault = 0xffffffff81300040;     // __xfs_filemap_fault, after a call
constexpr uint64_t kCsdWait = 0xffffffff81a20000;     // csd_lock_wait
constexpr uint64_t kRcuWait = 0xffffffff81a30010;     // __wait_rcu_gp
constexpr uint64_t kSyncRcu = 0xffffffff81a31010;     // synchronize_rcu
constexpr uint64_t kRead = 0xffffffff81330000;        // xfs_file_read_iter

std::string fake_symbol(GuestAddr a) {
  static const std::map<uint64_t, std::string> names = {
      {kFault, "__xfs_filemap_fault+0x0/0x1c4"},     {kFileattr, "xfs_fileattr_set+0x0/0x400"},
      {kSchedule, "__schedule+0x10/0x500"},          {kRwsemWrite, "rwsem_down_write_slowpath+0x20/0x300"},
      {kRwsemRead, "rwsem_down_read_slowpath+0x20/0x300"}, {kIlock, "xfs_ilock+0x30/0x80"},
      {kInFileattr, "xfs_fileattr_set+0x40/0x400"},  {kInFault, "__xfs_filemap_fault+0x40/0x1c4"},
      {kCsdWait, "csd_lock_wait+0x0/0x20"},          {kRcuWait, "__wait_rcu_gp+0x10/0x100"},
      {kSyncRcu, "synchronize_rcu+0x10/0x80"},       {kRead, "xfs_file_read_iter+0x0/0x100"},
      {FakeTarget::kIdlePc, "default_idle+0x0/0x10"}};
  auto it = names.find(a.value());
  return it != names.end() ? it->second : a.hex();
}

EngineConfig blocking_config() {
  EngineConfig c = seed_config();
  c.symbolize = fake_symbol;
  c.step_timeout = std::chrono::milliseconds(2000);
  c.block_check_interval = std::chrono::milliseconds(1);
  return c;
}

// The flipper's lock wait inside xfs_fileattr_set: asleep until visit `until` ran.
Visit flipper_sleeps_on_mmaplock(int until) {
  Visit v = at(1, kInFileattr, "flipper");
  v.waits_for = until;
  v.stack = {kSchedule, kRwsemWrite, kIlock, kInFileattr, kReturn};
  return v;
}

TEST(EngineBlockedTest, ALockWaitBehindTheHeldActorSerializesAndReleasesInScheduleOrder) {
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),  // 0: held, with the MMAPLOCK
                         flipper_entry(),                         // 1
                         flipper_sleeps_on_mmaplock(3),           // 2: asleep until the faulter ran on
                         at(0, 0x2000, "faulter"),                // 3: the faulter after its release
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, blocking_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kSerialized) << out.reason;
  EXPECT_EQ(out.step, 2);  // while the flipper ran to its return
  ASSERT_EQ(out.blocked.size(), 1u);
  const pb::BlockedTask& b = out.blocked[0];
  EXPECT_EQ(b.actor(), "flipper");
  EXPECT_EQ(b.wait(), "lock");
  EXPECT_EQ(b.state(), 2u);
  EXPECT_EQ(b.where(), "rwsem_down_write_slowpath \u2190 xfs_ilock \u2190 xfs_fileattr_set \u2190 0xffffffff81200050");
  ASSERT_EQ(b.stack_size(), 5);
  EXPECT_EQ(b.stack(0), "__schedule+0x10/0x500");
  ASSERT_EQ(b.behind_size(), 1);
  EXPECT_EQ(b.behind(0), "faulter held at __xfs_filemap_fault (vCPU 0)");
  EXPECT_NE(out.reason.find("serialized: flipper blocked at rwsem_down_write_slowpath"), std::string::npos)
      << out.reason;
  // Everyone went on as the kernel allowed: the faulter first, then the flipper.
  const auto& ex = fake.executed();
  ASSERT_GE(ex.size(), 5u);
  EXPECT_EQ(ex[ex.size() - 3], std::make_pair(0, uint64_t{0x2000}));
  EXPECT_EQ(ex[ex.size() - 2], std::make_pair(1, kInFileattr));
  EXPECT_TRUE(fake.breakpoints().empty());
  EXPECT_TRUE(fake.running());
  EXPECT_GE(find_event(trace, "blocked", "flipper"), 0);
  EXPECT_GE(find_event(trace, "released", "faulter"), 0);
}

TEST(EngineBlockedTest, ActorsThatStillCannotFinishAfterTheReleaseAreADeadlockWithBothStacks) {
  Visit faulter_on = at(0, kInFault, "faulter");
  faulter_on.waits_for = 2;  // needs the IOLOCK the flipper holds
  faulter_on.stack = {kSchedule, kRwsemRead, kIlock, kInFault};
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),
                         flipper_sleeps_on_mmaplock(3),  // needs the MMAPLOCK the faulter holds
                         faulter_on,
                     });
  EngineConfig config = blocking_config();
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, config, &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kSerialized) << out.reason;
  std::vector<pb::BlockedTask> dead;
  int calls = 0;
  while (dead.empty() && calls < 10) {
    auto r = engine.check_deadlock({});
    ASSERT_TRUE(r.ok()) << r.error().message;
    dead = *r;
    ++calls;
  }
  EXPECT_EQ(calls, config.deadlock_confirmations) << "confirmed on consecutive samples, not on the first";
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].actor(), "faulter");
  EXPECT_EQ(dead[0].where(), "rwsem_down_read_slowpath \u2190 xfs_ilock \u2190 __xfs_filemap_fault");
  EXPECT_EQ(dead[1].actor(), "flipper");
  EXPECT_NE(dead[1].where().find("rwsem_down_write_slowpath"), std::string::npos);
  ASSERT_EQ(dead[0].behind_size(), 1);
  EXPECT_NE(dead[0].behind(0).find("flipper asleep at rwsem_down_write_slowpath"), std::string::npos);
  EXPECT_TRUE(fake.running());
}

TEST(EngineBlockedTest, ASerializedRunWhoseActorsFinishIsNoDeadlock) {
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),
                         flipper_sleeps_on_mmaplock(3),
                         at(0, 0x2000, "faulter"),
                     });
  Engine engine(fake, fake, blocking_config(), nullptr);
  ASSERT_TRUE(engine.arm().ok());
  ASSERT_EQ(engine.execute().kind, Outcome::Kind::kSerialized);
  for (int i = 0; i < 5; ++i) {
    auto r = engine.check_deadlock({});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty());
  }
}

TEST(EngineBlockedTest, AnIpiWaitForTheHeldVcpuIsNamedAndIsNotSerialization) {
  Visit spin = at(1, kCsdWait, "flipper");
  spin.waits_for = 3;
  spin.sleeps = false;  // on its CPU, spinning in csd_lock_wait
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),
                         spin,
                         at(0, 0x2000, "faulter"),
                     });
  Engine engine(fake, fake, blocking_config(), nullptr);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kStalled) << out.reason;
  ASSERT_EQ(out.blocked.size(), 1u);
  EXPECT_EQ(out.blocked[0].wait(), "cpu");
  EXPECT_EQ(out.blocked[0].where(), "csd_lock_wait");
  EXPECT_NE(out.reason.find("IPI"), std::string::npos) << out.reason;
  EXPECT_NE(out.reason.find("not serialization"), std::string::npos) << out.reason;
  EXPECT_NE(out.reason.find("faulter held at __xfs_filemap_fault"), std::string::npos) << out.reason;
}

TEST(EngineBlockedTest, AnRcuGracePeriodWaitIsNamedAndIsNotSerialization) {
  Visit rcu = at(1, kInFileattr, "flipper");
  rcu.waits_for = 3;
  rcu.stack = {kSchedule, kRcuWait, kSyncRcu, kInFileattr};
  FakeTarget fake(2, {at(0, kFault, "faulter", {{"rdx", 1}}), flipper_entry(), rcu, at(0, 0x2000, "faulter")});
  Engine engine(fake, fake, blocking_config(), nullptr);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kStalled) << out.reason;
  ASSERT_EQ(out.blocked.size(), 1u);
  EXPECT_EQ(out.blocked[0].wait(), "rcu");
  EXPECT_NE(out.reason.find("RCU grace period at __wait_rcu_gp \u2190 synchronize_rcu"), std::string::npos)
      << out.reason;
}

TEST(EngineBlockedTest, AnActorParkedEarlyThatHoldsTheLockIsNamed) {
  // Three actors: the flipper reaches its point (inside the inode lock)
  // before the schedule gets to it and waits there; the reader, scheduled
  // meanwhile, sleeps on that lock.
  constexpr uint64_t kReaderStack = 0xffffc90000020f00;
  EngineConfig c = blocking_config();
  c.actors = {{"faulter", 0, "faulter"}, {"flipper", 1, "flipper"}, {"reader", 2, "reader"}};
  Step hold = c.steps[0];
  Step run_reader;
  run_reader.kind = Step::Kind::kRun;
  run_reader.actor = "reader";
  run_reader.addr = GuestAddr(kRead);
  run_reader.point = "xfs_file_read_iter";
  Step run_flipper = c.steps[1];
  Step release;
  release.kind = Step::Kind::kRelease;
  c.steps = {hold, run_reader, run_flipper, release};
  Visit reader_sleeps = at(2, 0x7000, "reader");
  reader_sleeps.waits_for = 3;  // the flipper's return from xfs_fileattr_set
  reader_sleeps.stack = {kSchedule, kRwsemRead, 0xffffffff81a40000};
  Visit reader_at = at(2, kRead, "reader", {{"rsp", kReaderStack}});
  FakeTarget fake(3, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),  // 1: parks early
                         reader_sleeps,    // 2
                         at(1, 0x3000, "flipper"),  // 3
                         reader_at,
                     });
  Engine engine(fake, fake, c, nullptr);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kSerialized) << out.reason;
  EXPECT_EQ(out.step, 1);
  ASSERT_EQ(out.blocked.size(), 1u);
  EXPECT_EQ(out.blocked[0].actor(), "reader");
  ASSERT_EQ(out.blocked[0].behind_size(), 2);
  EXPECT_EQ(out.blocked[0].behind(1), "flipper parked early at xfs_fileattr_set (vCPU 1)");
  EXPECT_NE(out.reason.find("flipper parked early at xfs_fileattr_set"), std::string::npos) << out.reason;
  // Three vCPUs, all resumed at the end.
  EXPECT_TRUE(fake.running());
  EXPECT_EQ(fake.cursor(2), 5u) << "the reader finished";
}

// --attach: the oops path is armed before the last release and a stop
// there leaves the VM stopped in the faulting context.
TEST(EngineBlockedTest, ACrashTrapArmedAtTheLastReleaseStopsInTheFaultingContext) {
  constexpr uint64_t kOopsPath = 0xffffffff81a50000;  // page_fault_oops
  EngineConfig c = blocking_config();
  c.crash_traps = {GuestAddr(kOopsPath)};
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),
                         flipper_entry(),
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                         at(0, kOopsPath, "faulter"),  // the faulter crashes after its release
                         at(0, 0x9000, "faulter"),
                     });
  Engine engine(fake, fake, c, nullptr);
  ASSERT_TRUE(engine.arm().ok());
  EXPECT_EQ(fake.breakpoints().count(kOopsPath), 0u) << "not armed while the schedule runs";
  ASSERT_EQ(engine.execute().kind, Outcome::Kind::kEnforced);
  EXPECT_EQ(fake.breakpoints().count(kOopsPath), 1u) << "armed before the last release";
  auto ev = engine.wait(Deadline::after(std::chrono::milliseconds(100)));
  ASSERT_TRUE(ev.ok());
  ASSERT_TRUE(engine.crash_vcpu().has_value());
  EXPECT_EQ(*engine.crash_vcpu(), 0);
  EXPECT_FALSE(engine.running());
  // A deadlock check does not resume a VM stopped at the crash.
  auto d = engine.check_deadlock({});
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(fake.running());
  EXPECT_EQ(fake.cursor(0), 3u) << "the faulter is still at the oops path";
}

// The flipper is scheduled first, then the faulter, no run-to-return; the
// faulter's point is armed from the start but the faulter finishes (the
// agent says so) at 0x2000 without reaching it. `flipper_first`: the
// flipper arrives at its point before that; else afterwards, at an address
// that is not its point.
Outcome run_faulter_finishing_early(bool flipper_first) {
  Visit faulter_done = at(0, 0x2000, "faulter");
  faulter_done.actor_done = "faulter";
  EngineConfig c = blocking_config();
  std::swap(c.steps[0], c.steps[1]);
  c.steps.erase(c.steps.begin() + 2);  // no run-to-return
  FakeTarget fake(2, flipper_first ? std::vector<Visit>{flipper_entry(), faulter_done}
                                   : std::vector<Visit>{faulter_done, at(1, 0x1000, "flipper")});
  Engine engine(fake, fake, c, nullptr);
  if (Status armed = engine.arm(); !armed.ok()) {
    Outcome failed;
    failed.kind = Outcome::Kind::kError;
    failed.reason = "arm: " + armed.error().message;
    return failed;
  }
  return engine.execute();
}

TEST(EngineBlockedTest, AnotherActorFinishingWithoutReachingItsPointIsNotReachedAtOnce) {
  Outcome out = run_faulter_finishing_early(false);
  ASSERT_EQ(out.kind, Outcome::Kind::kNotReached) << out.reason;
  EXPECT_NE(out.reason.find("faulter finished its operations without reaching __xfs_filemap_fault"),
            std::string::npos)
      << out.reason;
}

// The agent's report that an actor finished can come before its task's
// exit is seen (CI, 2026-12-03): the reason names who stands held, as the
// exit's does.
TEST(EngineBlockedTest, AnActorFinishingWithoutReachingItsPointNamesTheActorsHeld) {
  Outcome out = run_faulter_finishing_early(true);
  ASSERT_EQ(out.kind, Outcome::Kind::kNotReached) << out.reason;
  EXPECT_NE(out.reason.find("faulter finished its operations without reaching __xfs_filemap_fault while flipper held "
                            "at xfs_fileattr_set (vCPU 1)"),
            std::string::npos)
      << out.reason;
}

// ------------------------------------------------ explore's steps

constexpr uint64_t kFlushHandler = 0xffffffff81a40000;  // the TLB flush IPI's handler

// The faulter held at __xfs_filemap_fault; the flipper (vCPU 1) sends a TLB
// shootdown IPI to vCPU 0 and spins in csd_lock_wait until vCPU 0's handler
// ran. Servicing the held vCPU's interrupts lets it go on; the faulter's
// task does not advance before its release.
TEST(EngineExploreTest, AHeldVcpuAnswersAnIpiAndItsTaskDoesNotAdvance) {
  Visit spin = at(1, kCsdWait, "flipper");
  spin.waits_for = 3;
  spin.sleeps = false;
  Visit ipi = at(0, kFlushHandler, "flipper");
  ipi.interrupt = true;
  ipi.waits_for = 1;  // raised by the flipper's entry
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}, {"rsp", 0x5000}}),  // 0
                         flipper_entry(),                                         // 1: sends the IPI
                         spin,                                                    // 2
                         ipi,                                                     // 3
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),        // 4
                         at(0, 0x2000, "faulter"),                                // 5
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, blocking_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  const int serviced = find_event(trace, "serviced", "faulter");
  ASSERT_GE(serviced, 0);
  EXPECT_EQ(trace[serviced].pc(), kFault);
  EXPECT_LT(serviced, find_event(trace, "returned", "flipper"));
  EXPECT_LT(find_event(trace, "returned", "flipper"), find_event(trace, "released", "faulter"));
  // The handler ran on vCPU 0 before the flipper's return; the faulter's own
  // next visit only after it.
  const auto& ex = fake.executed();
  auto pos = [&](uint64_t pc) {
    return std::find_if(ex.begin(), ex.end(), [&](const auto& e) { return e.second == pc; }) - ex.begin();
  };
  EXPECT_LT(pos(kFlushHandler), pos(kReturn));
  EXPECT_LT(pos(kReturn), pos(0x2000));
  EXPECT_TRUE(fake.breakpoints().empty());
}

TEST(EngineExploreTest, AnIpiToAVcpuHeldWithInterruptsDisabledStallsAndSaysWhy) {
  Visit spin = at(1, kCsdWait, "flipper");
  spin.waits_for = 3;
  spin.sleeps = false;
  Visit ipi = at(0, kFlushHandler, "flipper");
  ipi.interrupt = true;
  ipi.waits_for = 1;
  FakeTarget fake(2, {at(0, kFault, "faulter", {{"rdx", 1}, {"eflags", 0x2}}), flipper_entry(), spin, ipi,
                      at(1, kReturn, "flipper", {{"rsp", kStack + 8}})});
  Engine engine(fake, fake, blocking_config(), nullptr);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kStalled) << out.reason;
  EXPECT_NE(out.reason.find("interrupts are disabled on vCPU 0"), std::string::npos) << out.reason;
  ASSERT_EQ(out.blocked.size(), 1u);
  EXPECT_EQ(out.blocked[0].wait(), "cpu");
}

TEST(EngineExploreTest, AHoldWithAVisitCountLetsEarlierArrivalsThrough) {
  EngineConfig c = seed_config();
  c.steps[0].visit = 3;
  FakeTarget fake(2, {
                         at(0, kFault, "faulter", {{"rdx", 1}}),  // visit 1
                         at(0, 0x1000, "faulter"),
                         at(0, kFault, "faulter", {{"rdx", 0}}),  // predicate false: not a visit
                         at(0, kFault, "faulter", {{"rdx", 1}}),  // visit 2
                         at(0, kFault, "faulter", {{"rdx", 1}}),  // visit 3: held
                         flipper_entry(),
                         at(1, kReturn, "flipper", {{"rsp", kStack + 8}}),
                         at(0, 0x2000, "faulter"),
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, c, &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  int passed = 0;
  for (const auto& e : trace) passed += e.what() == "passed" && e.actor() == "faulter";
  EXPECT_EQ(passed, 2);
  // The flipper ran while the faulter sat at its third visit.
  const auto& ex = fake.executed();
  int faults_before_flipper = 0;
  for (const auto& e : ex) {
    if (e.second == kFileattr) break;
    faults_before_flipper += e.second == kFault;
  }
  EXPECT_EQ(faults_before_flipper, 3) << "visits 1 and 2 and the false-predicate hit ran; visit 3 was held";
}

// The explore schedule: hold A at its point, run B to the end of its
// operations, release A.
EngineConfig run_to_end_config() {
  EngineConfig c = blocking_config();
  Step hold = c.steps[0];
  Step end;
  end.kind = Step::Kind::kRunToEnd;
  end.actor = "flipper";
  end.text = "run flipper until it finished its operations";
  Step release;
  release.kind = Step::Kind::kRelease;
  release.actor = "faulter";
  c.steps = {hold, end, release};
  return c;
}

TEST(EngineExploreTest, RunToEndWaitsForTheAgentsDoneWhileTheOtherIsHeld) {
  Visit flipper_done = at(1, 0x3000, "flipper");
  flipper_done.actor_done = "flipper";
  FakeTarget fake(2, {at(0, kFault, "faulter", {{"rdx", 1}}), at(1, kFileattr, "flipper"), flipper_done,
                      at(0, 0x2000, "faulter")});
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, run_to_end_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  ASSERT_GE(find_event(trace, "ran_to_end", "flipper"), 0);
  EXPECT_LT(find_event(trace, "ran_to_end", "flipper"), find_event(trace, "released", "faulter"));
  const auto& ex = fake.executed();
  EXPECT_EQ(ex.back(), std::make_pair(0, uint64_t{0x2000})) << "the faulter went on last";
}

TEST(EngineExploreTest, RunToEndSeesTheTaskExitWhenTheAgentCannotSaySo) {
  Visit flipper_exit = at(1, 0x3000, "flipper");
  flipper_exit.exits = true;  // no ACTOR_DONE: the agent would run on the held vCPU
  FakeTarget fake(2, {at(0, kFault, "faulter", {{"rdx", 1}}), at(1, kFileattr, "flipper"), flipper_exit,
                      at(0, 0x2000, "faulter")});
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Engine engine(fake, fake, run_to_end_config(), &trace);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kEnforced) << out.reason;
  EXPECT_GE(find_event(trace, "exited", "flipper"), 0);
  EXPECT_LT(find_event(trace, "exited", "flipper"), find_event(trace, "released", "faulter"));
}

// Measured on 6.1: a pwrite actor held for a point it never calls, the other
// parked early; the task exits, the agent cannot say so (its CPU is held),
// and the run waited out the step deadline. Now: not reached at once.
TEST(EngineExploreTest, AnActorThatExitsBeforeItsPointWhileAnotherIsParkedIsNotReachedAtOnce) {
  EngineConfig c = blocking_config();
  c.step_timeout = std::chrono::milliseconds(20000);  // the deadline would say "did not reach"
  std::swap(c.steps[0], c.steps[1]);  // the flipper's point first; the faulter is parked early
  c.steps.erase(c.steps.begin() + 2);
  c.steps[0].kind = Step::Kind::kHold;
  Visit flipper_exit = at(1, 0x3000, "flipper");
  flipper_exit.exits = true;
  FakeTarget fake(2, {at(0, kFault, "faulter", {{"rdx", 1}}), at(1, 0x1000, "flipper"), flipper_exit});
  Engine engine(fake, fake, c, nullptr);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kNotReached) << out.reason;
  EXPECT_NE(out.reason.find("flipper exited without reaching xfs_fileattr_set"), std::string::npos) << out.reason;
  EXPECT_NE(out.reason.find("faulter parked early at __xfs_filemap_fault"), std::string::npos) << out.reason;
}

TEST(EngineExploreTest, ARunnerSpinningOnASpinlockTheHeldActorHoldsIsSerialized) {
  constexpr uint64_t kSpinSlow = 0xffffffff81a50000;  // queued_spin_lock_slowpath
  Visit spin = at(1, kSpinSlow, "flipper");
  spin.waits_for = 2;  // until the faulter left its critical section
  spin.sleeps = false;
  FakeTarget fake(2, {at(0, kFault, "faulter", {{"rdx", 1}}), flipper_entry(), at(0, 0x2000, "faulter"), spin,
                      at(1, kReturn, "flipper", {{"rsp", kStack + 8}})});
  EngineConfig c = blocking_config();
  c.symbolize = [](GuestAddr a) {
    return a.value() == kSpinSlow ? std::string("queued_spin_lock_slowpath+0x0/0x200") : fake_symbol(a);
  };
  Engine engine(fake, fake, c, nullptr);
  ASSERT_TRUE(engine.arm().ok());
  Outcome out = engine.execute();
  ASSERT_EQ(out.kind, Outcome::Kind::kSerialized) << out.reason;
  ASSERT_EQ(out.blocked.size(), 1u);
  EXPECT_EQ(out.blocked[0].wait(), "lock");
  EXPECT_EQ(out.blocked[0].where(), "queued_spin_lock_slowpath");
}

}  // namespace
}  // namespace racerig::schedule
