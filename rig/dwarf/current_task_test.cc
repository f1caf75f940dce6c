// find_current_task against small ELFs shaped like a 6.1 kernel (a
// current_task variable), a 6.2+ kernel (pcpu_hot.current_task) and one with
// neither.
#include "rig/dwarf/current_task.h"

#include <gtest/gtest.h>

namespace racerig::dwarf {
namespace {

std::unique_ptr<Symbols> open_fixture(const char* path) {
  auto s = Symbols::open(path);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(CurrentTaskTest, FindsTheVariableOfItsOwn) {
  auto syms = open_fixture(RACERIG_FIXTURE_CURRENT_TASK);
  ASSERT_NE(syms, nullptr);
  auto slot = find_current_task(*syms);
  ASSERT_TRUE(slot.ok()) << slot.error().message;
  EXPECT_EQ(slot->found_as, "current_task");
  EXPECT_EQ(slot->per_cpu_offset, syms->address_of("current_task")->value());
}

TEST(CurrentTaskTest, FindsTheMemberOfPcpuHotThroughItsType) {
  auto syms = open_fixture(RACERIG_FIXTURE_PCPU_HOT);
  ASSERT_NE(syms, nullptr);
  ASSERT_FALSE(syms->address_of("current_task").ok());
  auto slot = find_current_task(*syms);
  ASSERT_TRUE(slot.ok()) << slot.error().message;
  EXPECT_EQ(slot->found_as, "pcpu_hot.current_task");
  // hot_first (8) + preempt_count (4) + cpu_number (4), inside an anonymous
  // struct in an anonymous union, behind a typedef and volatile.
  EXPECT_EQ(slot->per_cpu_offset, syms->address_of("pcpu_hot")->value() + 16);
}

TEST(CurrentTaskTest, NeitherIsAnErrorNamingBothAndTheFile) {
  auto syms = open_fixture(RACERIG_FIXTURE_NEITHER);
  ASSERT_NE(syms, nullptr);
  auto slot = find_current_task(*syms);
  ASSERT_FALSE(slot.ok());
  EXPECT_EQ(slot.error().kind, ErrorKind::kInput);
  EXPECT_NE(slot.error().message.find(RACERIG_FIXTURE_NEITHER), std::string::npos) << slot.error().message;
  EXPECT_NE(slot.error().message.find("current_task"), std::string::npos) << slot.error().message;
  EXPECT_NE(slot.error().message.find("pcpu_hot"), std::string::npos) << slot.error().message;
}

TEST(CurrentTaskTest, VariableMemberOffsetNamesWhatIsMissing) {
  auto syms = open_fixture(RACERIG_FIXTURE_PCPU_HOT);
  ASSERT_NE(syms, nullptr);
  auto no_member = syms->variable_member_offset("pcpu_hot", "no_such_member");
  ASSERT_FALSE(no_member.ok());
  EXPECT_NE(no_member.error().message.find("struct pcpu_hot) has no member no_such_member"), std::string::npos)
      << no_member.error().message;
  auto no_var = syms->variable_member_offset("no_such_variable", "current_task");
  ASSERT_FALSE(no_var.ok());
  EXPECT_NE(no_var.error().message.find("no symbol \"no_such_variable\""), std::string::npos)
      << no_var.error().message;
  auto comm = syms->variable_member_offset("init_task", "comm");
  ASSERT_TRUE(comm.ok()) << comm.error().message;
  EXPECT_EQ(*comm, 4u);
}

}  // namespace
}  // namespace racerig::dwarf
