// Symbols against a small ELF built with DWARF for the purpose.
#include <gtest/gtest.h>

#include <set>

#include <fstream>
#include <sstream>

#include "rig/dwarf/symbols.h"

namespace racerig::dwarf {
namespace {

class SymbolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = Symbols::open(RACERIG_FIXTURE);
    ASSERT_TRUE(s.ok()) << s.error().message;
    syms_ = std::move(*s).release();
  }
  static void TearDownTestSuite() { delete syms_; }
  static Symbols* syms_;
};
Symbols* SymbolsTest::syms_ = nullptr;

int line_of(const std::string& marker) {
  std::ifstream in(RACERIG_FIXTURE_SOURCE);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find(marker) != std::string::npos) return n;
  }
  return -1;
}

TEST_F(SymbolsTest, LooksUpFunctionsObjectsAndStatics) {
  auto f = syms_->address_of("target_function");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_NE(f->value(), 0u);
  EXPECT_TRUE(syms_->address_of("init_task").ok());
  EXPECT_TRUE(syms_->address_of("helper_static").ok());
  EXPECT_FALSE(syms_->build_id().empty());
}

TEST_F(SymbolsTest, UnknownSymbolsSuggestNearNames) {
  auto r = syms_->address_of("target_functoin");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInput);
  EXPECT_NE(r.error().message.find("did you mean \"target_function\""), std::string::npos) << r.error().message;
}

TEST_F(SymbolsTest, ResolvesOffsetsAndRejectsBadOnes) {
  auto base = syms_->address_of("target_function");
  auto p = syms_->resolve("target_function+0x4");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->addr.value(), base->value() + 4);
  EXPECT_EQ(p->offset, 4u);
  EXPECT_EQ(p->function, "target_function");
  EXPECT_FALSE(syms_->resolve("target_function+zz").ok());
  auto past = syms_->resolve("target_function+0x100000");
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message.find("past the end"), std::string::npos);
}

TEST_F(SymbolsTest, ResolvesFileLineThroughDwarf) {
  int line = line_of("fixture.c: twice body");
  ASSERT_GT(line, 0);
  auto p = syms_->resolve("fixture.c:" + std::to_string(line));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->function, "target_function");  // twice() is inlined there
  auto none = syms_->resolve("fixture.c:1");
  EXPECT_FALSE(none.ok());
  auto bad = syms_->resolve("fixture.c:abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line number"), std::string::npos);
}

// A line resolves like gdb's "break file:line": every is_stmt start of the
// line, sorted, each symbolizing back to that line; a symbol has one.
TEST_F(SymbolsTest, ALineResolvesToEveryStatementAddressOfIt) {
  for (const char* marker : {"fixture.c: twice body", "fixture.c: the check"}) {
    int line = line_of(marker);
    ASSERT_GT(line, 0) << marker;
    auto p = syms_->resolve("fixture.c:" + std::to_string(line));
    ASSERT_TRUE(p.ok()) << p.error().message;
    ASSERT_FALSE(p->addrs.empty());
    EXPECT_EQ(p->addr, p->addrs.front());
    for (size_t i = 0; i < p->addrs.size(); ++i) {
      if (i > 0) {
        EXPECT_LT(p->addrs[i - 1], p->addrs[i]);
      }
      auto s = syms_->symbolize(p->addrs[i]);
      ASSERT_TRUE(s.has_value());
      EXPECT_EQ(s->line, static_cast<uint32_t>(line)) << marker << " at " << p->addrs[i].hex();
    }
  }
  // twice() is inlined into target_function and main: a copy in each.
  int twice = line_of("fixture.c: twice body");
  auto p = syms_->resolve("fixture.c:" + std::to_string(twice));
  ASSERT_TRUE(p.ok());
  std::set<std::string> functions;
  for (GuestAddr a : p->addrs) functions.insert(syms_->symbolize(a)->function);
  EXPECT_GE(functions.size(), 2u) << "every inlined copy";
  auto sym = syms_->resolve("target_function");
  ASSERT_TRUE(sym.ok());
  ASSERT_EQ(sym->addrs.size(), 1u);
  EXPECT_EQ(sym->addrs[0], sym->addr);
}

TEST_F(SymbolsTest, SymbolizesWithFileLineAndInlining) {
  int line = line_of("fixture.c: twice body");
  auto p = syms_->resolve("fixture.c:" + std::to_string(line));
  ASSERT_TRUE(p.ok());
  auto s = syms_->symbolize(p->addr);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->function, "target_function");
  EXPECT_NE(s->text.find("target_function+0x"), std::string::npos) << s->text;
  EXPECT_NE(s->file.find("fixture.c"), std::string::npos);
  EXPECT_EQ(s->line, static_cast<uint32_t>(line));
  ASSERT_FALSE(s->inlined.empty());
  EXPECT_NE(s->inlined[0].find("twice inlined by target_function"), std::string::npos) << s->inlined[0];
  EXPECT_FALSE(syms_->symbolize(GuestAddr(1)).has_value());
}

TEST_F(SymbolsTest, MemberOffsetsLookThroughAnonymousUnions) {
  auto pid = syms_->member_offset("task_like", "pid");
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(*pid, 12u);
  auto b = syms_->member_offset("task_like", "b");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(*b, 10u);
  EXPECT_EQ(*syms_->member_offset("task_like", "comm"), 16u);
  EXPECT_FALSE(syms_->member_offset("task_like", "nope").ok());
  EXPECT_FALSE(syms_->member_offset("no_such_struct", "x").ok());
}

TEST(SymbolsOpenTest, MissingAndNonElfFilesAreErrors) {
  auto missing = Symbols::open("/nonexistent/vmlinux");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/vmlinux"), std::string::npos);
  std::string path = "/tmp/racerig-symbols-not-elf-" + std::to_string(getpid());
  std::ofstream(path) << "not an elf file\n";
  auto bad = Symbols::open(path);
  std::remove(path.c_str());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(path), std::string::npos);
}

}  // namespace
}  // namespace racerig::dwarf
