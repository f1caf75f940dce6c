// Kernel cache pieces that need no kernel build: patch classification, the
// apply-failure message, build-log error extraction, keys, cache hits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "rig/kbuild/cache.h"
#include "rig/kbuild/patches.h"
#include "rig/kbuild/subprocess.h"

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
  Status s = apply_patch(*patch, dir.path(), Deadline::after(std::chrono::seconds(30)));
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
  Status s = apply_patch(*patch, dir.path(), Deadline::after(std::chrono::seconds(30)));
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::ifstream in(dir.path() / "hello.c");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("return 1"), std::string::npos);
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

TEST(SubprocessTest, ADeadlineKillsTheChild) {
  auto r = run_command(Command{{"sleep", "30"}}, Deadline::after(std::chrono::milliseconds(200)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(r.error().message.find("sleep 30"), std::string::npos);
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
    void compile(const std::string&, const std::string&) override { ADD_FAILURE(); }
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
  EXPECT_NE(base_key(*old_src), base_key(*new_src)) << "one work tree per base";

  // A base's own fragment is part of its key, and of its variants' only.
  kernels.write("config-6.12.fragment", "CONFIG_XFS_FS=y\nCONFIG_FS_DAX=y\n");
  EXPECT_EQ(*c->key(*old_v), *old_key);
  EXPECT_NE(*c->key(*new_v), *new_key);
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
