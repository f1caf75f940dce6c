// The tracer against the fake target: the actors' arrivals at the window's
// addresses in order, other tasks' hits and other vCPUs' hits ignored.
#include "rig/schedule/tracer.h"

#include <gtest/gtest.h>

#include "rig/schedule/fake_target.h"

namespace racerig::schedule {
namespace {

constexpr uint64_t kA = 0xffffffff81300000, kB = 0xffffffff81300010, kC = 0xffffffff81310000;

Visit at(int vcpu, uint64_t pc, std::string comm) {
  Visit v;
  v.vcpu = vcpu;
  v.pc = pc;
  v.comm = std::move(comm);
  return v;
}

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

}  // namespace
}  // namespace racerig::schedule
