// fsx against a temp dir: it passes on a sane filesystem, is reproducible by
// seed, and reports the seed it picked.
#include <gtest/gtest.h>

#include "guest/agent/fsx.h"
#include "guest/agent/ops.h"
#include "guest/agent/test_util.h"

namespace racerig::agent {
namespace {

using testing::TempDir;

TEST(FsxTest, PassesOnTheHostFilesystem) {
  TempDir dir;
  pb::Fsx spec;
  spec.set_path(dir / "fsx");
  spec.set_seed(42);
  spec.set_ops(2000);
  spec.set_max_size(128 << 10);
  FsxResult r = run_fsx(spec);
  EXPECT_TRUE(r.status.ok) << r.status.message;
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.ops_done, 2000u);
  EXPECT_NE(r.status.message.find("seed 42"), std::string::npos);
}

TEST(FsxTest, SameSeedSameFile) {
  TempDir dir;
  pb::Fsx spec;
  spec.set_path(dir / "a");
  spec.set_seed(7);
  spec.set_ops(300);
  ASSERT_TRUE(run_fsx(spec).status.ok);
  spec.set_path(dir / "b");
  ASSERT_TRUE(run_fsx(spec).status.ok);
  EXPECT_EQ(testing::slurp(dir / "a"), testing::slurp(dir / "b"));
}

TEST(FsxTest, PicksAndReportsASeed) {
  TempDir dir;
  OpRunner runner;
  pb::Op op;
  op.mutable_fsx()->set_path(dir / "x");
  op.mutable_fsx()->set_ops(50);
  pb::AgentEvent e = runner.run(op);
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_OK) << e.message();
  EXPECT_NE(e.seed(), 0u);
  EXPECT_NE(e.message().find("seed " + std::to_string(e.seed())), std::string::npos);
}

TEST(FsxTest, RefusesAHugeShadow) {
  TempDir dir;
  pb::Fsx spec;
  spec.set_path(dir / "x");
  spec.set_max_size(kFsxLimitMaxSize + 1);
  FsxResult r = run_fsx(spec);
  EXPECT_FALSE(r.status.ok);
  EXPECT_NE(r.status.message.find("above the limit"), std::string::npos);
}

TEST(FsxTest, MissingDirectoryIsAnErrno) {
  pb::Fsx spec;
  spec.set_path("/nonexistent-dir/fsx");
  FsxResult r = run_fsx(spec);
  EXPECT_FALSE(r.status.ok);
  EXPECT_EQ(r.status.err_no, ENOENT);
}

}  // namespace
}  // namespace racerig::agent
