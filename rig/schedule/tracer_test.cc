// The tracer against the fake target: the actors' arrivals at the window's
// addresses in order, other tasks' hits and other vCPUs' hits ignored.
#include "rig/schedule/tracer.h"

#include <gtest/gtest.h>

#include "rig/schedule/fake_target.h"

namespace racerig::schedule {
namespace {

constexpr uint64_t kA = 0xffffffff81300000, kB = 0xffffffff81300010, kC = 0xffffffff81310000;

TraceConfig config() {
  TraceConfig c;
  c.actors = {{"faulter", 0, "faulter"}, {"flipper", 1, "flipper"}};
  c.addrs = {GuestAddr(kA), GuestAddr(kB), GuestAddr(kC)};
  c.task = FakeTarget::layout();
  c.symbolize = [](GuestAddr a) { return a.hex(); };
  return c;
}

TEST(TracerTest, RecordsEachActorsArrivalsInOrderAndIgnoresOtherTasks) {
  Visit faulter_done = at(0, 0x2000, "faulter");
  faulter_done.actor_done = "faulter";
  Visit flipper_done = at(1, 0x3000, "flipper");
  flipper_done.actor_done = "flipper";
  FakeTarget fake(2, {
                         at(0, kA, "faulter"),
                         at(1, kC, "flipper"),
                         at(0, kB, "kworker/0:1"),  // another task in the window
                         at(0, kB, "faulter"),
                         at(0, 0x1000, "faulter"),  // outside the window
                         at(0, kA, "faulter"),      // a second visit
                         at(1, kA, "flipper"),      // the flipper passes a faulter point too
                         faulter_done,
                         flipper_done,
                     });
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Tracer tracer(fake, config(), &trace);
  ASSERT_TRUE(tracer.arm().ok());
  auto done = [&] { return fake.poll().actors_done.size() == 2; };
  auto r = tracer.run(Deadline::after(std::chrono::seconds(5)), done, std::chrono::milliseconds(1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r);
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& e : trace) got.emplace_back(e.actor(), e.pc());
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"faulter", kA}, {"flipper", kC}, {"faulter", kB}, {"faulter", kA}, {"flipper", kA}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(tracer.recorded(), 5);
  EXPECT_EQ(tracer.foreign(), 1);
  ASSERT_TRUE(tracer.disarm().ok());
  EXPECT_TRUE(fake.breakpoints().empty());
  EXPECT_EQ(fake.resumes_while_on_breakpoint(), 0) << "every hit was stepped over before resuming";
}

// QEMU now and then answers a single step with the vCPU still on the
// breakpoint: the step is repeated, and the trace has one arrival there,
// not two (a second one shifted explore's whole map).
TEST(TracerTest, AStepThatDidNotMoveTheVcpuIsRepeatedNotASecondArrival) {
  Visit faulter_done = at(0, 0x2000, "faulter");
  faulter_done.actor_done = "faulter";
  FakeTarget fake(2, {at(0, kA, "faulter"), at(0, kB, "faulter"), faulter_done});
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Tracer tracer(fake, config(), &trace);
  ASSERT_TRUE(tracer.arm().ok());
  fake.stall_next_steps(1);
  auto done = [&] { return fake.poll().actors_done.size() == 1; };
  auto r = tracer.run(Deadline::after(std::chrono::seconds(5)), done, std::chrono::milliseconds(1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r);
  std::vector<uint64_t> got;
  for (const auto& e : trace) got.push_back(e.pc());
  EXPECT_EQ(got, (std::vector<uint64_t>{kA, kB}));
  EXPECT_EQ(fake.resumes_while_on_breakpoint(), 0);
}

TEST(TracerTest, ARunawayWindowIsAnErrorNotAnEndlessTrace) {
  std::vector<Visit> timeline;
  for (int i = 0; i < 10; ++i) timeline.push_back(at(0, kA, "faulter"));
  FakeTarget fake(2, timeline);
  TraceConfig c = config();
  c.max_hits = 5;
  Tracer tracer(fake, c, nullptr);
  ASSERT_TRUE(tracer.arm().ok());
  auto r = tracer.run(Deadline::after(std::chrono::seconds(5)), [] { return false; }, std::chrono::milliseconds(1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 5 times"), std::string::npos) << r.error().message;
}

// The flipper arrives in the window first, but the faulter is traced alone
// first: the flipper is parked at its first arrival until the faulter's
// task exited (its agent could not say so), then goes on.
TEST(TracerTest, TheFirstActorIsTracedAloneWhileTheOthersAreParkedAtTheirFirstArrival) {
  Visit faulter_exit = at(0, 0x2000, "faulter");
  faulter_exit.exits = true;
  Visit flipper_done = at(1, 0x3000, "flipper");
  flipper_done.actor_done = "flipper";
  FakeTarget fake(2, {
                         at(1, kC, "flipper"),  // parked here
                         at(1, kA, "flipper"),
                         at(0, kA, "faulter"),
                         at(0, kB, "faulter"),
                         faulter_exit,
                         flipper_done,
                     });
  TraceConfig c = config();
  c.first = "faulter";
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Tracer tracer(fake, c, &trace);
  ASSERT_TRUE(tracer.arm().ok());
  auto done = [&] { return fake.poll().actors_done.count("flipper") != 0; };
  auto r = tracer.run(Deadline::after(std::chrono::seconds(5)), done, std::chrono::milliseconds(1),
                      [] { return false; });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r);
  std::vector<std::pair<std::string, uint64_t>> got;
  for (const auto& e : trace)
    if (e.what() == "trace") got.emplace_back(e.actor(), e.pc());
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"flipper", kC}, {"faulter", kA}, {"faulter", kB}, {"flipper", kA}};
  EXPECT_EQ(got, want) << "the flipper's second arrival comes after the faulter's whole window";
  bool released = false;
  for (const auto& e : trace) released |= e.what() == "trace_released";
  EXPECT_TRUE(released);
  const auto& ex = fake.executed();
  const auto exit_at = std::find(ex.begin(), ex.end(), std::make_pair(0, uint64_t{0x2000})) - ex.begin();
  const auto flipper_on = std::find(ex.begin(), ex.end(), std::make_pair(1, kA)) - ex.begin();
  EXPECT_LT(exit_at, flipper_on);
}

// The deadlock candidate's shape: the traced actor sleeps on a lock that the
// parked one holds. The parked actors are let go once the lock wait is
// confirmed, not at the park limit (here longer than the test's deadline).
TEST(TracerTest, ParkedActorsAreLetGoWhenTheFirstSleepsOnALock) {
  constexpr uint64_t kSchedule = 0xffffffff81a00010, kRwsem = 0xffffffff81a11020, kIlock = 0xffffffff81320030;
  Visit faulter_sleeps = at(0, kB, "faulter");
  faulter_sleeps.waits_for = 3;  // the flipper's second arrival: after it was let go
  faulter_sleeps.stack = {kSchedule, kRwsem, kIlock};
  Visit faulter_done = at(0, 0x2000, "faulter");
  faulter_done.actor_done = "faulter";
  Visit flipper_done = at(1, 0x3000, "flipper");
  flipper_done.actor_done = "flipper";
  FakeTarget fake(2, {
                         at(1, kC, "flipper"),  // 0: parked here, holding the lock
                         at(0, kA, "faulter"),  // 1
                         faulter_sleeps,        // 2: asleep until 3 ran
                         at(1, kA, "flipper"),  // 3
                         faulter_done,
                         flipper_done,
                     });
  TraceConfig c = config();
  c.first = "faulter";
  c.symbolize = [&](GuestAddr a) -> std::string {
    if (a.value() == kSchedule) return "__schedule+0x10/0x100";
    if (a.value() == kRwsem) return "rwsem_down_read_slowpath+0x20/0x400";
    if (a.value() == kIlock) return "xfs_ilock+0x30/0x80";
    return a.hex();
  };
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Tracer tracer(fake, c, &trace);
  ASSERT_TRUE(tracer.arm().ok());
  auto done = [&] { return fake.poll().actors_done.size() == 2; };
  auto r = tracer.run(Deadline::after(std::chrono::seconds(20)), done, std::chrono::milliseconds(1),
                      [] { return false; }, /*park_limit=*/std::chrono::hours(1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r) << "the parked flipper was never let go";
  std::string released;
  for (const auto& e : trace)
    if (e.what() == "trace_released") released = e.detail();
  EXPECT_NE(released.find("faulter sleeps on a lock at rwsem_down_read_slowpath"), std::string::npos) << released;
}

// Dirty COW's shape: the traced writer's COW fault flushes the TLB of the
// parked mapper's CPU and spins in csd_lock_wait until that vCPU answered
// the IPI. The parked vCPU services its interrupt and stops at its park
// point again; the writer's trace goes on without letting the mapper go.
TEST(TracerTest, AParkedVcpuAnswersTheFirstActorsIpiAndStaysParked) {
  constexpr uint64_t kCsdWait = 0xffffffff81a20000, kFlush = 0xffffffff81a40000;
  Visit spin = at(0, kCsdWait, "faulter");
  spin.sleeps = false;  // spins on its CPU
  spin.waits_for = 3;   // until the IPI's handler ran on vCPU 1
  Visit ipi = at(1, kFlush, "faulter");
  ipi.interrupt = true;
  ipi.waits_for = 1;  // raised by the faulter's first arrival
  Visit faulter_done = at(0, 0x2000, "faulter");
  faulter_done.exits = true;
  Visit flipper_done = at(1, 0x3000, "flipper");
  flipper_done.actor_done = "flipper";
  FakeTarget fake(2, {
                         at(1, kC, "flipper"),  // 0: parked here
                         at(0, kA, "faulter"),  // 1: sends the IPI
                         spin,                  // 2
                         ipi,                   // 3
                         at(0, kB, "faulter"),  // 4
                         faulter_done,          // 5
                         at(1, kA, "flipper"),  // 6: only after the faulter finished
                         flipper_done,
                     });
  TraceConfig c = config();
  c.first = "faulter";
  c.symbolize = [&](GuestAddr a) -> std::string {
    if (a.value() == kCsdWait) return "smp_call_function_many_cond+0x120/0x300";
    return a.hex();
  };
  google::protobuf::RepeatedPtrField<pb::TraceEvent> trace;
  Tracer tracer(fake, c, &trace);
  ASSERT_TRUE(tracer.arm().ok());
  auto done = [&] { return fake.poll().actors_done.count("flipper") != 0; };
  auto r = tracer.run(Deadline::after(std::chrono::seconds(20)), done, std::chrono::milliseconds(1),
                      [] { return false; }, /*park_limit=*/std::chrono::hours(1));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r) << "the faulter never got past its IPI wait";
  std::vector<std::pair<std::string, uint64_t>> got;
  int serviced = 0;
  std::string released;
  for (const auto& e : trace) {
    if (e.what() == "trace") got.emplace_back(e.actor(), e.pc());
    if (e.what() == "trace_serviced" && e.vcpu() == 1 && e.pc() == kC) ++serviced;
    if (e.what() == "trace_released") released = e.detail();
  }
  EXPECT_GE(serviced, 1);
  const std::vector<std::pair<std::string, uint64_t>> want = {
      {"flipper", kC}, {"faulter", kA}, {"faulter", kB}, {"flipper", kA}};
  EXPECT_EQ(got, want) << "the flipper stays parked until the faulter finished";
  EXPECT_NE(released.find("faulter finished its operations"), std::string::npos) << released;
}

}  // namespace
}  // namespace racerig::schedule
