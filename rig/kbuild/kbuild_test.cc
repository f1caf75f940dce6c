// Kernel cache pieces that need no kernel build: patch classification, the
// apply-failure message, build-log error extraction, keys, cache hits.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "rig/base/file.h"
#include "rig/kbuild/cache.h"
#include "rig/kbuild/patches.h"
#include "rig/kbuild/progress.h"
#include "rig/kbuild/store.h"
#include "rig/kbuild/tree.h"
#include "rig/kbuild/worker.h"
#include "rig/process/process.h"

namespace racerig::kbuild {
namespace {

namespace fs = std::filesystem;

const char* kDiff =
    "--- a/hello.c\n"
    "+++ b/hello.c\n"
    "@@ -1,3 +1,3 @@\n"
    " int main(void)\n"
    "-{ return 0; }\n"
    "+{ return 1; }\n"
    " /* end */\n";

std::string format_patch(const std::string& subject, const std::string& diff) {
  return "From 50b23e1edeacac3dcc8d69728d1e9e9cb5a753c5 Mon Sep 17 00:00:00 2001\n"
         "From: racerig <racerig@localhost>\n"
         "Subject: [PATCH] " + subject + "\n\n" + subject + "\n---\n hello.c | 2 +-\n\n" +
         "diff --git a/hello.c b/hello.c\n" + diff + "-- \n2.39.5\n\n";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/racerig-kbuild-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    fs::create_directories((path_ / name).parent_path());
    std::ofstream(path_ / name) << text;
  }

 private:
  fs::path path_;
};

// Runs git/patch in `dir` directly (the cache confines them; the parsing is
// what is tested here).
TreeRunner runner_in(const fs::path& dir) {
  return [dir](const std::vector<std::string>& argv, const std::string& input) -> Result<ToolRun> {
    process::Spec spec{argv, dir};
    spec.stdin_data = input;
    RACERIG_ASSIGN(process::Exit e, process::run(spec, process::Limits{}));
    return ToolRun{e.code, e.output};
  };
}

TEST(PatchTest, ClassifiesPlainDiffsFormatPatchesAndMboxes) {
  auto plain = parse_patch("p.diff", kDiff);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->kind, PatchKind::kPlainDiff);
  EXPECT_EQ(plain->parts.size(), 1u);

  auto one = parse_patch("0001.patch", format_patch("one", kDiff));
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->kind, PatchKind::kFormatPatch);

  auto two = parse_patch("series.mbox", format_patch("one", kDiff) + format_patch("two", kDiff));
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->kind, PatchKind::kMbox);
  EXPECT_EQ(two->parts.size(), 2u);
}

TEST(PatchTest, RejectsEmptyBinaryAndDifflessFiles) {
  auto empty = parse_patch("e.patch", "  \n\n");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::kInput);
  EXPECT_NE(empty.error().message.find("e.patch is empty"), std::string::npos);

  auto binary = parse_patch("b.patch", std::string("\x7f" "ELF\x02\x01\x01\x00\x00", 9));
  ASSERT_FALSE(binary.ok());
  EXPECT_NE(binary.error().message.find("binary"), std::string::npos) << binary.error().message;

  auto prose = parse_patch("notes.txt", "Please fix the race.\nThanks\n");
  ASSERT_FALSE(prose.ok());
  EXPECT_NE(prose.error().message.find("no unified diff"), std::string::npos);
}

TEST(PatchTest, AHunkThatDoesNotApplyIsNamed) {
  TempDir dir;
  dir.write("hello.c", "int main(void)\n{ return 2; }\n/* end */\n");
  auto patch = parse_patch(dir.path() / "bad.patch", format_patch("bad", kDiff));
  ASSERT_TRUE(patch.ok());
  Status s = apply_patch(*patch, runner_in(dir.path()));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kBuild);
  EXPECT_NE(s.error().message.find("bad.patch does not apply"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("Hunk #1 FAILED at 1"), std::string::npos) << s.error().message;
}

TEST(PatchTest, AGoodPatchApplies) {
  TempDir dir;
  dir.write("hello.c", "int main(void)\n{ return 0; }\n/* end */\n");
  auto patch = parse_patch("good.patch", format_patch("good", kDiff));
  ASSERT_TRUE(patch.ok());
  Status s = apply_patch(*patch, runner_in(dir.path()));
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::ifstream in(dir.path() / "hello.c");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("return 1"), std::string::npos);
}

TEST(PatchTest, TouchedPathsAreTreeRelativeAndNeverLeaveTheTree) {
  auto patch = parse_patch("good.patch", format_patch("good", kDiff));
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(touched_paths(*patch), std::vector<std::string>{"hello.c"});
  auto created = parse_patch("new.patch", "--- /dev/null\n+++ b/fs/new.c\t2026-01-01\n@@ -0,0 +1 @@\n+int x;\n");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(touched_paths(*created), std::vector<std::string>{"fs/new.c"});
  auto renamed = parse_patch("mv.patch",
                             "diff --git a/a.c b/b.c\nsimilarity index 90%\nrename from a.c\nrename to b.c\n"
                             "--- a/a.c\n+++ b/b.c\n@@ -1 +1 @@\n-int a;\n+int b;\n");
  ASSERT_TRUE(renamed.ok());
  EXPECT_EQ(touched_paths(*renamed), (std::vector<std::string>{"a.c", "b.c"}));
  auto up = parse_patch("up.patch", "--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-x\n+y\n");
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(touched_paths(*up), std::nullopt);
  auto inner = parse_patch("in.patch", "--- a/fs/../../x\n+++ b/fs/../../x\n@@ -1 +1 @@\n-x\n+y\n");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(touched_paths(*inner), std::nullopt);
}

// A trial on a scratch tree holding only the touched files: a hunk that
// does not apply is named as on the full tree; a good patch leaves the
// scratch tree with just its (patched) files.
TEST(TreeTest, ATrialApplyCopiesOnlyTheTouchedFiles) {
  ::setenv("RACERIG_SANDBOX", "off", 1);
  TempDir from, scratch;
  from.write("hello.c", "int main(void)\n{ return 0; }\n/* end */\n");
  from.write("other/big.c", "unrelated\n");
  const Worker worker(std::nullopt, {});
  auto good = parse_patch("good.patch", format_patch("good", kDiff));
  ASSERT_TRUE(good.ok());
  Status s = trial_apply(Tree{scratch.path() / "ok"}, from.path(), worker, {*good});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_NE(read_file(scratch.path() / "ok/src/hello.c").value_or("").find("return 1"), std::string::npos);
  EXPECT_FALSE(fs::exists(scratch.path() / "ok/src/other"));
  EXPECT_NE(read_file(from.path() / "hello.c").value_or("").find("return 0"), std::string::npos) << "the source is untouched";

  from.write("hello.c", "int main(void)\n{ return 2; }\n/* end */\n");
  s = trial_apply(Tree{scratch.path() / "bad"}, from.path(), worker, {*good});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kBuild);
  EXPECT_NE(s.error().message.find("Hunk #1 FAILED at 1"), std::string::npos) << s.error().message;
  ::unsetenv("RACERIG_SANDBOX");
}

TEST(BuildLogTest, ExtractsCompilerErrorsWithContext) {
  std::string log =
      "  CC      fs/xfs/xfs_file.o\n"
      "fs/xfs/xfs_file.c: In function 'xfs_filemap_fault':\n"
      "fs/xfs/xfs_file.c:1392:9: error: expected ';' before 'return'\n"
      " 1392 |         return __xfs_filemap_fault(vmf, PE_SIZE_PTE,\n"
      "      |         ^~~~~~\n"
      "make[3]: *** [scripts/Makefile.build:250: fs/xfs/xfs_file.o] Error 1\n"
      "  CC      fs/xfs/xfs_iops.o\n";
  std::string lines = build_error_lines(log);
  EXPECT_NE(lines.find("xfs_file.c:1392:9: error: expected ';'"), std::string::npos) << lines;
  EXPECT_NE(lines.find("Error 1"), std::string::npos);
  EXPECT_EQ(lines.find("xfs_iops.o"), std::string::npos);
}

TEST(ProgressTest, LinesComeAtMostEveryIntervalWithAnEta) {
  ProgressLines lines(std::chrono::seconds(12));
  EXPECT_FALSE(lines.update("buggy", {10, 100, 5}));
  auto first = lines.update("buggy", {25, 100, 12});
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "kernel buggy: 25 make steps of ~100 (25%), 12s elapsed, ETA 36s");
  EXPECT_FALSE(lines.update("buggy", {30, 100, 20}));
  auto second = lines.update("buggy", {120, 100, 25});
  ASSERT_TRUE(second);
  EXPECT_NE(second->find("more than the estimated 100"), std::string::npos) << *second;
  EXPECT_NE(second->find("ETA unknown"), std::string::npos) << *second;
  EXPECT_EQ(format_duration(3725), "1h02m");
  EXPECT_EQ(format_duration(272), "4m32s");
  EXPECT_TRUE(is_make_step("  CC      fs/xfs/xfs_file.o"));
  EXPECT_FALSE(is_make_step("make[1]: Entering directory"));
}

TEST(PatchTest, MissingDirectoryAndHugeFilesAreRefusedBeforeAnythingBuilds) {
  TempDir dir;
  auto missing = read_patch(dir.path() / "nope.patch");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kInput);
  EXPECT_NE(missing.error().message.find("nope.patch does not exist"), std::string::npos) << missing.error().message;
  auto directory = read_patch(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos);
}

TEST(TreeTest, AnInterruptedBuildIsUndoneFilesWrittenSinceItsStartAreDeleted) {
  TempDir dir;
  Tree tree{dir.path()};
  fs::create_directories(tree.src() / "fs" / "xfs");
  fs::create_directories(tree.src() / ".git");
  dir.write("src/fs/xfs/old.o", "whole");
  dir.write("src/.git/index", "git");
  const auto before = fs::file_time_type::clock::now() - std::chrono::seconds(10);
  fs::last_write_time(tree.src() / "fs/xfs/old.o", before);
  fs::last_write_time(tree.src() / ".git/index", before - std::chrono::seconds(1));
  dir.write(".building", "1\n");
  fs::last_write_time(tree.dir / ".building", before + std::chrono::seconds(1));
  dir.write("src/fs/xfs/truncated.o", "half");
  dir.write("src/.git/ORIG_HEAD", "new but git's own");
  auto undone = undo_interrupted_build(tree);
  ASSERT_TRUE(undone.ok()) << undone.error().message;
  EXPECT_EQ(*undone, 1);
  EXPECT_FALSE(fs::exists(tree.src() / "fs/xfs/truncated.o"));
  EXPECT_TRUE(fs::exists(tree.src() / "fs/xfs/old.o"));
  EXPECT_TRUE(fs::exists(tree.src() / ".git/ORIG_HEAD"));
  EXPECT_FALSE(fs::exists(tree.dir / ".building"));
  // Without the marker nothing is touched.
  EXPECT_EQ(*undo_interrupted_build(tree), 0);
}

TEST(TreeTest, OutputsAreNeverReadThroughALink) {
  TempDir dir, out;
  Tree tree{dir.path()};
  fs::create_directories(tree.src() / "arch/x86");
  dir.write("secret", "not for the cache");
  // A hostile build links its "outputs" to files it cannot read itself.
  fs::create_directory_symlink(dir.path(), tree.src() / "arch/x86/boot");
  dir.write("src/vmlinux", "elf");
  dir.write("src/System.map", "map");
  dir.write("src/.config", "config");
  Status s = copy_outputs(tree, out.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("arch/x86/boot/bzImage"), std::string::npos) << s.error().message;
  fs::remove(tree.src() / "arch/x86/boot");
  fs::create_directories(tree.src() / "arch/x86/boot");
  fs::create_symlink(dir.path() / "secret", tree.src() / "arch/x86/boot/bzImage");
  EXPECT_FALSE(copy_outputs(tree, out.path()).ok());
  EXPECT_FALSE(fs::exists(out.path() / "bzImage"));
}

// Both bases' packages are installed on every racerig machine (./dev).
const char* kBase61 =
    "base { name: \"6.1\" source_package: \"linux-source-6.1\" config_fragment: \"config.fragment\" }\n";
const char* kBase612 =
    "base { name: \"6.12\" source_package: \"linux-source-6.12\" config_fragment: \"config-6.12.fragment\" }\n";

TEST(CacheTest, KeysFollowContentAndACachedBuildCompilesNothing) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("p1.patch", format_patch("one", kDiff));
  kernels.write("variants.textproto", std::string(kBase61) +
                                          "variant { name: \"a\" base: \"6.1\" }\n"
                                          "variant { name: \"b\" base: \"6.1\" patches: \"p1.patch\" }\n");
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto a = c->variant("a");
  auto b = c->variant("b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto ka = c->key(*a), kb = c->key(*b);
  ASSERT_TRUE(ka.ok() && kb.ok());
  EXPECT_NE(*ka, *kb);
  EXPECT_EQ(*ka, *c->key(*a));

  // A pre-populated output dir is a hit: build() returns at once.
  fs::create_directories(cache.path() / "kernels" / *kb);
  std::ofstream(cache.path() / "kernels" / *kb / "meta") << "variant=b\nbuild_id=abc\n";
  struct NoProgress : ProgressSink {
    void stage(const std::string&, const std::string& what) override { ADD_FAILURE() << "stage " << what; }
    void compile(const std::string&, const std::string&, const BuildProgress&) override { ADD_FAILURE(); }
  } none;
  auto built = c->build(*b, none);
  ASSERT_TRUE(built.ok()) << built.error().message;
  EXPECT_TRUE(built->cached);
  EXPECT_EQ(built->build_id, "abc");

  // Changing the fragment changes every key.
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\nCONFIG_FS_DAX=y\n");
  auto c2 = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c2.ok());
  EXPECT_NE(*c2->key(*b), *kb);
}

// Kept run dirs (logs/runs/*, see run/kept_logs.h) are listed and pruned
// one by one, by their own age; build logs as before.
TEST(StoreTest, KeptRunLogsArePrunedOneByOne) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("variants.textproto", std::string(kBase61) + "variant { name: \"a\" base: \"6.1\" }\n");
  cache.write("logs/a-123.log", "build log\n");
  cache.write("logs/runs/20261101T000000Z-s-buggy-run1/console.log", "old\n");
  cache.write("logs/runs/20261125T000000Z-s-buggy-run2/console.log", "new\n");
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(24 * 30);
  fs::last_write_time(cache.path() / "logs/runs/20261101T000000Z-s-buggy-run1", old_time);
  fs::last_write_time(cache.path() / "logs/a-123.log", old_time);
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto listed = list_entries(*c);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::set<std::string> runs;
  for (const auto& e : *listed) {
    EXPECT_NE(e.path, cache.path() / "logs" / "runs");  // never the whole directory
    if (e.kind == "run log") runs.insert(e.name);
  }
  EXPECT_EQ(runs, (std::set<std::string>{"20261101T000000Z-s-buggy-run1", "20261125T000000Z-s-buggy-run2"}));
  auto pruned = prune(*c, std::chrono::hours(24 * 14), false);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_FALSE(fs::exists(cache.path() / "logs/runs/20261101T000000Z-s-buggy-run1"));
  EXPECT_FALSE(fs::exists(cache.path() / "logs/a-123.log"));
  EXPECT_TRUE(fs::exists(cache.path() / "logs/runs/20261125T000000Z-s-buggy-run2/console.log"));
}

// libvirt's per-domain logs in the default embedded root are listed and
// pruned by age, except those of a racerig that still runs.
TEST(StoreTest, DomainLogsArePrunedUnlessTheirRacerigRuns) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("variants.textproto", std::string(kBase61) + "variant { name: \"a\" base: \"6.1\" }\n");
  const std::string mine = "racerig-" + std::to_string(::getpid()) + "-1-ab12.log";
  for (const std::string& name : {mine, std::string("racerig-2147483647-3-cd34.log"), std::string("racerig-x.log"),
                                 std::string("other-domain.log")}) {
    cache.write("libvirt/log/qemu/" + name, "shutting down, reason=destroyed\n");
    fs::last_write_time(cache.path() / "libvirt/log/qemu" / name,
                        fs::file_time_type::clock::now() - std::chrono::hours(24 * 30));
  }
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto listed = list_entries(*c);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  std::set<std::string> logs;
  for (const auto& e : *listed)
    if (e.kind == "domain log") logs.insert(e.name);
  EXPECT_EQ(logs, (std::set<std::string>{mine, "racerig-2147483647-3-cd34.log", "racerig-x.log"}))
      << "only racerig's domains";
  auto pruned = prune(*c, std::chrono::hours(24 * 14), false);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_TRUE(fs::exists(cache.path() / "libvirt/log/qemu" / mine)) << "its racerig (this test) runs";
  ASSERT_EQ(pruned->skipped.size(), 1u);
  EXPECT_NE(pruned->skipped[0].find("is running"), std::string::npos) << pruned->skipped[0];
  EXPECT_FALSE(fs::exists(cache.path() / "libvirt/log/qemu/racerig-2147483647-3-cd34.log"));
  EXPECT_FALSE(fs::exists(cache.path() / "libvirt/log/qemu/racerig-x.log"));
  EXPECT_TRUE(fs::exists(cache.path() / "libvirt/log/qemu/other-domain.log"));
}

// racerigd runs with umask 077: the directories make_dir creates on the way
// (and the one the new directory is in, when ours) must still let the
// worker user through, or its build cannot enter its own tree.
TEST(WorkerTest, MakeDirKeepsTheWayInOpenUnderAStrictUmask) {
  const fs::path root = fs::temp_directory_path() / ("racerig-worker-dir-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "existing");
  fs::permissions(root / "existing", fs::perms::owner_all, fs::perm_options::replace);
  const mode_t old = ::umask(077);
  const Worker worker(std::nullopt, {});
  const Status a = worker.make_dir(root / "new" / "parents" / "leaf");
  const Status b = worker.make_dir(root / "existing" / "leaf");
  ::umask(old);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  };
  EXPECT_EQ(mode(root / "new"), 0755u);
  EXPECT_EQ(mode(root / "new" / "parents"), 0755u);
  EXPECT_EQ(mode(root / "existing"), 0755u);
  EXPECT_EQ(mode(root / "new" / "parents" / "leaf"), 0700u) << "the leaf is the worker's; its mode is left alone";
  fs::remove_all(root);
}

TEST(CacheTest, VariantFileErrorsCarryLineNumbersAndUnknownNamesListKnownOnes) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("variants.textproto", std::string(kBase61) + "variant { name: \"a\" base: \"6.1\" }\nvariant { nme: \"b\" }\n");
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok());
  auto v = c->variants();
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("variants.textproto:3:"), std::string::npos) << v.error().message;

  kernels.write("variants.textproto", std::string(kBase61) + "variant { name: \"a\" base: \"6.1\" }\n");
  auto unknown = c->variant("zz");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("known: a"), std::string::npos);
}

// The base is part of every key: the same patches on another base (another
// package, or another fragment) are another kernel, built in another tree.
TEST(CacheTest, TheBaseIsPartOfTheKey) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("config-6.12.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("p1.patch", format_patch("one", kDiff));
  kernels.write("variants.textproto", std::string(kBase61) + kBase612 +
                                          "variant { name: \"old\" base: \"6.1\" patches: \"p1.patch\" }\n"
                                          "variant { name: \"new\" base: \"6.12\" patches: \"p1.patch\" }\n");
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto old_v = c->variant("old"), new_v = c->variant("new");
  ASSERT_TRUE(old_v.ok() && new_v.ok());
  EXPECT_EQ(new_v->base(), "6.12");
  auto old_key = c->key(*old_v), new_key = c->key(*new_v);
  ASSERT_TRUE(old_key.ok()) << old_key.error().message;
  ASSERT_TRUE(new_key.ok()) << new_key.error().message;
  EXPECT_NE(*old_key, *new_key);
  auto old_src = c->base_of(*old_v), new_src = c->base_of(*new_v);
  ASSERT_TRUE(old_src.ok() && new_src.ok());
  EXPECT_EQ(new_src->base.source_package(), "linux-source-6.12");
  EXPECT_FALSE(new_src->version.empty());
  EXPECT_NE(Cache::tree_key(*old_src), Cache::tree_key(*new_src)) << "one work tree per base";
  EXPECT_NE(c->tree_dir(*old_src), c->tree_dir(*new_src));

  // A base's own fragment is part of its key, and of its variants' only.
  kernels.write("config-6.12.fragment", "CONFIG_XFS_FS=y\nCONFIG_FS_DAX=y\n");
  EXPECT_EQ(*c->key(*old_v), *old_key);
  EXPECT_NE(*c->key(*new_v), *new_key);
}

TEST(CacheTest, AVariantsOwnFragmentIsInItsKeyOnly) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("fragments/lkdtm.fragment", "# LKDTM for a test\nCONFIG_DEBUG_FS=y\nCONFIG_LKDTM=y\n");
  kernels.write("variants.textproto", std::string(kBase61) +
                                          "variant { name: \"plain\" base: \"6.1\" }\n"
                                          "variant { name: \"lkdtm\" base: \"6.1\" "
                                          "config_fragment: \"fragments/lkdtm.fragment\" }\n");
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto plain = c->variant("plain"), lkdtm = c->variant("lkdtm");
  ASSERT_TRUE(plain.ok() && lkdtm.ok());
  auto kp = c->key(*plain), kl = c->key(*lkdtm);
  ASSERT_TRUE(kp.ok() && kl.ok()) << (kl.ok() ? "" : kl.error().message);
  EXPECT_NE(*kp, *kl);
  // The plain variant's key is what it was before variants had fragments:
  // the base and its (no) patches only.
  auto src = c->base_of(*plain);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(*kp, Cache::key_of(*src, {}, VariantFragment{}));
  auto frag = c->variant_fragment(*lkdtm);
  ASSERT_TRUE(frag.ok());
  EXPECT_EQ(frag->file, "fragments/lkdtm.fragment");
  // Its content, not its name, is in the key.
  kernels.write("fragments/lkdtm.fragment", "CONFIG_DEBUG_FS=y\nCONFIG_LKDTM=y\nCONFIG_ZRAM=y\n");
  EXPECT_NE(*c->key(*lkdtm), *kl);
  EXPECT_EQ(*c->key(*plain), *kp);
}

TEST(CacheTest, AVariantFragmentOutsideKernelsMissingOrEmptyIsAnInputErrorNamingIt) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("empty.fragment", "# nothing\n");
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok());
  kernels.write("variants.textproto",
                std::string(kBase61) + "variant { name: \"v\" base: \"6.1\" config_fragment: \"../etc/passwd\" }\n");
  auto bad = c->variants();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInput);
  EXPECT_NE(bad.error().message.find("variant \"v\": config_fragment \"../etc/passwd\" is not a path inside kernels/"),
            std::string::npos)
      << bad.error().message;
  for (const auto& [file, says] : std::vector<std::pair<std::string, std::string>>{
           {"none.fragment", "variant v: cannot read its config_fragment"},
           {"empty.fragment", "variant v: its config_fragment empty.fragment sets no CONFIG_ option"}}) {
    kernels.write("variants.textproto",
                  std::string(kBase61) + "variant { name: \"v\" base: \"6.1\" config_fragment: \"" + file + "\" }\n");
    auto v = c->variant("v");
    ASSERT_TRUE(v.ok()) << v.error().message;
    auto key = c->key(*v);
    ASSERT_FALSE(key.ok()) << file;
    EXPECT_EQ(key.error().kind, ErrorKind::kInput);
    EXPECT_NE(key.error().message.find(says), std::string::npos) << key.error().message;
  }
}

TEST(TreeTest, FragmentLinesThatDidNotStickAreNamedByLine) {
  const std::string config =
      "#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_64BIT=y\nCONFIG_XFS_FS=y\n"
      "# CONFIG_EXT4_FS is not set\nCONFIG_LOG_BUF_SHIFT=17\n";
  const std::string fragment =
      "# a comment\n"
      "CONFIG_XFS_FS=y\n"
      "CONFIG_EXT4_FS=y\n"         // line 3: not set
      "CONFIG_RANDOMIZE_BASE=n\n"  // absent: fine
      "CONFIG_64BIT=n\n"           // line 5: still on
      "CONFIG_LOG_BUF_SHIFT=17\n"
      "CONFIG_LOG_BUF_SHIFT=1\n";  // line 7: another value
  auto misses = fragment_misses(config, fragment);
  ASSERT_EQ(misses.size(), 3u);
  EXPECT_EQ(misses[0].line, 3);
  EXPECT_EQ(misses[0].text, "CONFIG_EXT4_FS=y");
  EXPECT_EQ(misses[1].line, 5);
  EXPECT_EQ(misses[2].line, 7);
  // A later fragment's options are its own to check.
  EXPECT_EQ(fragment_misses(config, fragment, {"CONFIG_EXT4_FS", "CONFIG_64BIT", "CONFIG_LOG_BUF_SHIFT"}).size(), 0u);
  EXPECT_EQ(fragment_options(fragment),
            (std::vector<std::string>{"CONFIG_XFS_FS", "CONFIG_EXT4_FS", "CONFIG_RANDOMIZE_BASE", "CONFIG_64BIT",
                                      "CONFIG_LOG_BUF_SHIFT", "CONFIG_LOG_BUF_SHIFT"}));
}

TEST(CacheTest, ABaseThatIsMissingOrNotInstalledIsNamed) {
  TempDir kernels, cache;
  kernels.write("config.fragment", "CONFIG_XFS_FS=y\n");
  kernels.write("variants.textproto", std::string(kBase61) + "variant { name: \"a\" base: \"6.99\" }\n");
  auto c = Cache::open(kernels.path(), cache.path());
  ASSERT_TRUE(c.ok());
  auto v = c->variants();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().kind, ErrorKind::kInput);
  EXPECT_NE(v.error().message.find("variant \"a\" names base \"6.99\""), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("bases: 6.1"), std::string::npos) << v.error().message;

  kernels.write("variants.textproto",
                "base { name: \"x\" source_package: \"linux-source-0.1\" config_fragment: \"config.fragment\" }\n"
                "variant { name: \"a\" base: \"x\" }\n");
  auto a = c->variant("a");
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto key = c->key(*a);
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.error().message.find("linux-source-0.1 is not installed"), std::string::npos) << key.error().message;

  kernels.write("variants.textproto",
                "base { name: \"x\" source_package: \"../etc\" config_fragment: \"config.fragment\" }\n");
  auto bad = c->bases();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not a Debian linux-source-X.Y package"), std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace racerig::kbuild
