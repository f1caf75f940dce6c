// Kernel affinity's keys: a job's needs are the keys the cache would build
// under; a cache holds the kernels whose meta exists.
#include "rig/service/kernel_affinity.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

namespace racerig::service {
namespace {

namespace fs = std::filesystem;

class KernelAffinity : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("racerig-affinity-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(KernelAffinity, ACacheHoldsTheKernelsWhoseMetaExists) {
  EXPECT_TRUE(held_kernels(root_ / "missing").empty()) << "an unreadable cache holds nothing";
  fs::create_directories(root_ / "kernels" / "bbb");
  std::ofstream(root_ / "kernels" / "bbb" / "meta") << "x";
  fs::create_directories(root_ / "kernels" / "aaa");
  std::ofstream(root_ / "kernels" / "aaa" / "meta") << "x";
  fs::create_directories(root_ / "kernels" / "half-built");  // no meta: not held
  EXPECT_EQ(held_kernels(root_), (std::vector<std::string>{"aaa", "bbb"}));
}

TEST_F(KernelAffinity, AJobNeedsItsVariantsKeysAndAValidateJobItsCandidatesToo) {
  auto cache = kbuild::Cache::open(fs::path(RACERIG_SOURCE_DIR) / "kernels", root_);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  auto buggy = cache->variant("buggy");
  ASSERT_TRUE(buggy.ok());
  auto base_key = cache->key(*buggy);
  if (!base_key.ok()) GTEST_SKIP() << "no key here (a source package missing): " << base_key.error().message;

  pb::Job reproduce;
  reproduce.mutable_reproduce()->set_kernel("buggy");
  EXPECT_EQ(kernel_needs(*cache, reproduce), std::vector<std::string>{*base_key});

  const std::string diff = "--- a/f.c\n+++ b/f.c\n@@ -1 +1 @@\n-a\n+b\n";
  pb::Job validate;
  auto* p = validate.mutable_validate()->add_patches();
  p->set_name("fix.patch");
  p->set_content(diff);  // base empty: buggy
  auto patch = kbuild::parse_patch("fix.patch", diff);
  ASSERT_TRUE(patch.ok()) << patch.error().message;
  auto candidate_key = cache->key(*buggy, {*patch});
  ASSERT_TRUE(candidate_key.ok());
  std::vector<std::string> want = {*base_key, *candidate_key};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(kernel_needs(*cache, validate), want);

  pb::Job unknown;
  unknown.mutable_stress()->set_kernel("no-such-variant");
  EXPECT_TRUE(kernel_needs(*cache, unknown).empty()) << "what cannot be keyed is needed by no one";
  pb::Job garbage = validate;
  garbage.mutable_validate()->mutable_patches(0)->set_content(std::string("\0\1binary", 8));
  EXPECT_EQ(kernel_needs(*cache, garbage), std::vector<std::string>{*base_key}) << "the base only";
}

}  // namespace
}  // namespace racerig::service
