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

// The ELF function (symbol table) whose code holds `addr`.
std::string elf_function(const Symbols& syms, GuestAddr addr) {
  auto s = syms.symbolize(addr);
  return s.has_value() ? s->function : "";
}

// Sorted, unique, and each address's line is the last statement starting there.
void expect_sorted_and_unique(const std::vector<WindowAddress>& w) {
  for (size_t i = 1; i < w.size(); ++i) EXPECT_LT(w[i - 1].addr, w[i].addr) << "at " << i;
  for (const WindowAddress& a : w) {
    ASSERT_FALSE(a.statements.empty()) << a.addr.hex();
    EXPECT_EQ(a.statements.back(), (SourceLine{a.file, a.line})) << a.addr.hex();
  }
}

// scaled() has an out-of-line copy and is inlined into scaled_caller and
// main: its window is the statements of all three copies, each named
// scaled at one of its own lines.
TEST_F(SymbolsTest, AFunctionsWindowCoversItsOutOfLineAndInlinedCopies) {
  auto w = syms_->window({"scaled"}, {});
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_FALSE(w->empty());
  expect_sorted_and_unique(*w);
  const int first = line_of("fixture.c: scaled first");
  const int second = line_of("fixture.c: scaled second");
  std::set<std::string> copies;
  std::set<uint32_t> lines;
  for (const WindowAddress& a : *w) {
    EXPECT_EQ(a.function, "scaled") << a.addr.hex();
    // "./fixture.c" under the CU's comp_dir (see CMakeLists.txt): relative, without "./".
    EXPECT_EQ(a.file, "fixture.c");
    EXPECT_GE(a.line, static_cast<uint32_t>(first - 1)) << a.addr.hex();  // from its opening line
    EXPECT_LE(a.line, static_cast<uint32_t>(second + 1)) << a.addr.hex();  // to its closing brace
    copies.insert(elf_function(*syms_, a.addr));
    lines.insert(a.line);
  }
  EXPECT_EQ(copies, (std::set<std::string>{"scaled", "scaled_caller", "main"}));
  // Each copy starts scaled's first statement; the out-of-line copy its
  // second too. (In the inlined copies GCC gives the second statement's
  // row to an address past the inlined range, where it belongs to the
  // caller's scope: that address is in a range's window, not scaled's.)
  for (const std::string& copy : copies) {
    std::set<uint32_t> in_copy;
    for (const WindowAddress& a : *w) {
      if (elf_function(*syms_, a.addr) == copy) in_copy.insert(a.line);
    }
    EXPECT_TRUE(in_copy.count(static_cast<uint32_t>(first))) << copy;
    if (copy == "scaled") {
      EXPECT_TRUE(in_copy.count(static_cast<uint32_t>(second)));
    }
  }
}

// The window of target_function is its own code, and the code inlined into
// it is named by the inlined callee (twice) at the callee's line.
TEST_F(SymbolsTest, AFunctionsWindowNamesTheCodeInlinedIntoIt) {
  auto w = syms_->window({"target_function"}, {});
  ASSERT_TRUE(w.ok()) << w.error().message;
  expect_sorted_and_unique(*w);
  const uint32_t twice_body = static_cast<uint32_t>(line_of("fixture.c: twice body"));
  const uint32_t check = static_cast<uint32_t>(line_of("fixture.c: the check"));
  bool saw_twice = false, saw_check = false;
  for (const WindowAddress& a : *w) {
    EXPECT_EQ(elf_function(*syms_, a.addr), "target_function") << a.addr.hex();
    saw_twice |= a.function == "twice" && a.line == twice_body;
    saw_check |= a.function == "target_function" && a.line == check;
  }
  EXPECT_TRUE(saw_twice);
  EXPECT_TRUE(saw_check);
}

std::set<GuestAddr> addresses(const std::vector<WindowAddress>& w) {
  std::set<GuestAddr> out;
  for (const WindowAddress& a : w) out.insert(a.addr);
  return out;
}

// A file:first-last range is the statements of those lines only, in every
// copy of the code; together with a function the window is their union.
TEST_F(SymbolsTest, ARangesWindowIsItsLinesOnly) {
  const int first = line_of("fixture.c: scaled first");
  const int second = line_of("fixture.c: scaled second");
  const std::string range = "fixture.c:" + std::to_string(first) + "-" + std::to_string(second);
  auto w = syms_->window({}, {range});
  ASSERT_TRUE(w.ok()) << w.error().message;
  expect_sorted_and_unique(*w);
  std::set<std::string> copies;
  std::set<uint32_t> lines;
  for (const WindowAddress& a : *w) {
    EXPECT_GE(a.line, static_cast<uint32_t>(first));  // the range's statements have code of their own
    EXPECT_LE(a.line, static_cast<uint32_t>(second));
    const std::string copy = elf_function(*syms_, a.addr);
    // scaled's code, or the caller's where GCC's inlined range ended early.
    EXPECT_TRUE(a.function == "scaled" || a.function == copy) << a.function << " in " << copy;
    copies.insert(copy);
    lines.insert(a.line);
  }
  EXPECT_EQ(copies, (std::set<std::string>{"scaled", "scaled_caller", "main"}));
  EXPECT_EQ(lines, (std::set<uint32_t>{static_cast<uint32_t>(first), static_cast<uint32_t>(second)}));

  const int twice = line_of("fixture.c: twice body");
  const std::string twice_range = "./fixture.c:" + std::to_string(twice) + "-" + std::to_string(twice);
  auto one = syms_->window({}, {twice_range});
  ASSERT_TRUE(one.ok()) << one.error().message;
  std::set<std::string> twice_copies;
  for (const WindowAddress& a : *one) {
    EXPECT_EQ(a.line, static_cast<uint32_t>(twice));
    EXPECT_EQ(a.function, "twice");
    twice_copies.insert(elf_function(*syms_, a.addr));
  }
  EXPECT_EQ(twice_copies, (std::set<std::string>{"target_function", "main"}));

  auto fn = syms_->window({"scaled"}, {});
  auto both = syms_->window({"scaled"}, {range, twice_range});
  ASSERT_TRUE(fn.ok() && both.ok());
  std::set<GuestAddr> expected = addresses(*fn);
  for (GuestAddr a : addresses(*w)) expected.insert(a);
  for (GuestAddr a : addresses(*one)) expected.insert(a);
  EXPECT_EQ(addresses(*both), expected);
  EXPECT_EQ(both->size(), expected.size());
  auto twice_named = syms_->window({"scaled", "scaled"}, {});
  ASSERT_TRUE(twice_named.ok()) << twice_named.error().message;
  EXPECT_EQ(addresses(*twice_named), addresses(*fn));
}

// scaled_caller's own line has no code of its own: its statement starts
// where the inlined scaled() does. A range of that line is that address,
// named by the statement whose code runs there, the other in `statements`;
// every address resolve() gives for the line is in the range's window.
TEST_F(SymbolsTest, ALineWithoutCodeOfItsOwnIsWhereTheNextStatementStarts) {
  const int body = line_of("fixture.c: scaled_caller body");
  const std::string spec = "fixture.c:" + std::to_string(body);
  auto w = syms_->window({}, {spec + "-" + std::to_string(body)});
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_FALSE(w->empty());
  expect_sorted_and_unique(*w);
  for (const WindowAddress& a : *w) {
    bool starts_body = false;
    for (const SourceLine& l : a.statements) starts_body |= l.line == static_cast<uint32_t>(body);
    EXPECT_TRUE(starts_body) << a.addr.hex();
  }
  EXPECT_EQ(w->front().addr, *syms_->address_of("scaled_caller"));
  EXPECT_EQ(w->front().function, "scaled");
  EXPECT_EQ(w->front().line, static_cast<uint32_t>(line_of("fixture.c: scaled first")));
  auto p = syms_->resolve(spec);
  ASSERT_TRUE(p.ok()) << p.error().message;
  const std::set<GuestAddr> window = addresses(*w);
  for (GuestAddr a : p->addrs) EXPECT_TRUE(window.count(a)) << a.hex();
}

TEST_F(SymbolsTest, WindowErrorsNameTheSpec) {
  auto unknown = syms_->window({"scaled", "scaeld"}, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kInput);
  EXPECT_NE(unknown.error().message.find("\"scaeld\""), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("did you mean \"scaled\""), std::string::npos) << unknown.error().message;

  for (const char* bad : {"fixture.c", "fixture.c:36", "fixture.c:a-b", "fixture.c:37-36", ":1-2", "fixture.c:0-3",
                          "fixture.c:3-"}) {
    auto r = syms_->window({}, {bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kInput);
    EXPECT_NE(r.error().message.find(std::string("\"") + bad + "\""), std::string::npos) << r.error().message;
  }
  auto no_function_code = syms_->window({"no_code"}, {});
  ASSERT_FALSE(no_function_code.ok());
  EXPECT_EQ(no_function_code.error().kind, ErrorKind::kInput);
  EXPECT_NE(no_function_code.error().message.find("\"no_code\" has no code"), std::string::npos)
      << no_function_code.error().message;

  auto no_code = syms_->window({}, {"fixture.c:1-3"});
  ASSERT_FALSE(no_code.ok());
  EXPECT_EQ(no_code.error().kind, ErrorKind::kInput);
  EXPECT_NE(no_code.error().message.find("\"fixture.c:1-3\": no statement"), std::string::npos) << no_code.error().message;
  auto no_file = syms_->window({}, {"no_such_file.c:1-3"});
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.error().message.find("no file no_such_file.c"), std::string::npos) << no_file.error().message;
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
