// Guest programs on the host: a good source compiles once and is then found
// in the cache; a broken one is an input error with gcc's diagnostics.
#include "rig/programs/compile.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

#include "rig/process/process.h"

namespace racerig::programs {
namespace {

namespace fs = std::filesystem;

// Whether the ELF64 executable at `path` has a PT_INTERP program header (a
// dynamic loader). Read here rather than with file(1), which a minimal
// Debian install does not have.
bool has_interpreter(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  EXPECT_TRUE(in && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64)
      << path << " is not an ELF64 file";
  for (unsigned i = 0; in && i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize));
    in.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (in && ph.p_type == PT_INTERP) return true;
  }
  return false;
}

class CompileTest : public ::testing::Test {
 protected:
  CompileTest() {
    std::string tmpl = (fs::temp_directory_path() / "racerig-programs-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
    ::chmod(dir.c_str(), 0755);
    options.work_dir = dir / "work";
    auto who = process::worker_identity();
    EXPECT_TRUE(who.ok()) << who.error().message;
    if (who.ok()) options.who = *who;
  }
  ~CompileTest() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // A scenario with one program `name` whose source is `text`.
  scenario::LoadedScenario scenario_with(const std::string& name, const std::string& text) {
    std::ofstream(dir / (name + ".c")) << text;
    scenario::LoadedScenario s;
    s.path = dir / "s.textproto";
    pb::Program* p = s.scenario.add_programs();
    p->set_name(name);
    p->set_source(name + ".c");
    return s;
  }
  fs::path dir;
  CompileOptions options;
};

TEST_F(CompileTest, AGoodSourceCompilesStaticallyAndIsCachedByContent) {
  auto s = scenario_with("hello", "#include <stdio.h>\nint main(void) { puts(\"hello from a program\"); return 0; }\n");
  auto first = compile_programs(s, options);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 1u);
  const Program& p = first->front();
  EXPECT_EQ(p.name, "hello");
  EXPECT_EQ(p.binary, options.work_dir / "programs" / p.key);
  // It runs, and it needs no loader (static).
  process::Spec run;
  run.argv = {p.binary.string()};
  auto out = process::run_checked(run, {});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "hello from a program\n");
  EXPECT_FALSE(has_interpreter(p.binary)) << p.binary << " names a dynamic loader (PT_INTERP): not static";

  // Again: the same key and the same file, not rebuilt.
  struct stat before {};
  ASSERT_EQ(::stat(p.binary.c_str(), &before), 0);
  auto again = compile_programs(s, options);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->front().key, p.key);
  struct stat after {};
  ASSERT_EQ(::stat(p.binary.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

  // Another source or other flags: another key.
  auto changed = compile_programs(scenario_with("hello", "int main(void) { return 1; }\n"), options);
  ASSERT_TRUE(changed.ok()) << changed.error().message;
  EXPECT_NE(changed->front().key, p.key);
  options.flags.push_back("-g");
  auto flagged = compile_programs(s, options);
  ASSERT_TRUE(flagged.ok()) << flagged.error().message;
  EXPECT_NE(flagged->front().key, p.key);
}

TEST_F(CompileTest, ACompileErrorIsAnInputErrorWithTheCompilersMessage) {
  auto s = scenario_with("broken", "int main(void) {\n  return undeclared_thing;\n}\n");
  auto r = compile_programs(s, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInput);
  const std::string& m = r.error().message;
  EXPECT_NE(m.find((dir / "s.textproto").string() + ": program \"broken\" (" + (dir / "broken.c").string() +
                   ") does not compile"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("broken.c:2:10: error: "), std::string::npos) << m;
  EXPECT_NE(m.find("undeclared_thing"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(options.work_dir / "programs") && !fs::is_empty(options.work_dir / "programs"));
}

}  // namespace
}  // namespace racerig::programs
