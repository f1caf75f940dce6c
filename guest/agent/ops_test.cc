// Guest ops against a temp dir on the host.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "guest/agent/ops.h"
#include "guest/agent/test_util.h"

namespace racerig::agent {
namespace {

using testing::op;
using testing::slurp;
using testing::TempDir;

class OpsTest : public ::testing::Test {
 protected:
  std::string f() const { return dir_ / "foo"; }
  pb::AgentEvent run(const std::string& text) {
    // Paths in the text are written as "F" and mean the test file.
    std::string t = text;
    for (size_t at; (at = t.find("\"F\"")) != std::string::npos;) t.replace(at, 3, "\"" + f() + "\"");
    return runner_.run(op(t));
  }
  TempDir dir_;
  OpRunner runner_{OpEnv{dir_ / "drop_caches"}};
};

TEST_F(OpsTest, CreateWritesThePattern) {
  auto e = run(R"(create { path: "F" size: 10000 pattern: 0x5a })");
  ASSERT_EQ(e.kind(), pb::AgentEvent::OP_OK) << e.message();
  EXPECT_EQ(e.op(), "create");
  EXPECT_EQ(e.path(), f());
  EXPECT_EQ(slurp(f()), std::string(10000, '\x5a'));
}

TEST_F(OpsTest, PwriteThenPreadChecks) {
  run(R"(create { path: "F" size: 8192 pattern: 1 })");
  ASSERT_EQ(run(R"(pwrite { path: "F" offset: 100 length: 50 pattern: 2 })").kind(), pb::AgentEvent::OP_OK);
  EXPECT_EQ(run(R"(pread { path: "F" offset: 100 length: 50 check: true pattern: 2 })").kind(), pb::AgentEvent::OP_OK);
  auto bad = run(R"(pread { path: "F" offset: 90 length: 50 check: true pattern: 2 })");
  EXPECT_EQ(bad.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_TRUE(bad.check_failed());
  EXPECT_EQ(bad.err_no(), 0);
  EXPECT_NE(bad.message().find("10 of 50 bytes differ from 0x02; the first, at file offset 0x5a, is 0x01"),
            std::string::npos)
      << bad.message();
}

TEST_F(OpsTest, PreadPastEofFailsOnlyWhenChecking) {
  run(R"(create { path: "F" size: 100 pattern: 7 })");
  auto loose = run(R"(pread { path: "F" offset: 50 length: 100 })");
  EXPECT_EQ(loose.kind(), pb::AgentEvent::OP_OK);
  EXPECT_NE(loose.message().find("read 50 of 100 bytes"), std::string::npos);
  auto strict = run(R"(pread { path: "F" offset: 50 length: 100 check: true pattern: 7 })");
  EXPECT_EQ(strict.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_TRUE(strict.check_failed());
}

TEST_F(OpsTest, MmapWriteAndReadAtAnUnalignedOffset) {
  run(R"(create { path: "F" size: 20000 pattern: 0 })");
  ASSERT_EQ(run(R"(mmap_write { path: "F" offset: 5000 length: 3000 pattern: 0xab })").kind(), pb::AgentEvent::OP_OK);
  std::string data = slurp(f());
  EXPECT_EQ(data.substr(5000, 3000), std::string(3000, '\xab'));
  EXPECT_EQ(data[4999], '\0');
  EXPECT_EQ(data[8000], '\0');
  EXPECT_EQ(run(R"(mmap_read { path: "F" offset: 5000 length: 3000 check: true pattern: 0xab })").kind(),
            pb::AgentEvent::OP_OK);
  auto bad = run(R"(mmap_read { path: "F" offset: 4000 length: 3000 check: true pattern: 0xab })");
  EXPECT_EQ(bad.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_TRUE(bad.check_failed());
}

TEST_F(OpsTest, MmapPastEofIsRefusedNotASigbus) {
  run(R"(create { path: "F" size: 4096 pattern: 0 })");
  auto e = run(R"(mmap_write { path: "F" offset: 4096 length: 4096 pattern: 1 })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_NE(e.message().find("ends past EOF"), std::string::npos) << e.message();
}

TEST_F(OpsTest, FailuresNameTheErrno) {
  auto e = run(R"(pwrite { path: "F" offset: 0 length: 1 pattern: 1 })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(e.err_no(), ENOENT);
  EXPECT_NE(e.message().find(f()), std::string::npos);
  EXPECT_NE(e.message().find("No such file or directory"), std::string::npos);
  EXPECT_FALSE(e.check_failed());
}

TEST_F(OpsTest, BadArgumentsAreFailuresWithoutErrno) {
  run(R"(create { path: "F" size: 10 pattern: 0 })");
  auto e = run(R"(pwrite { path: "F" offset: 0 length: 1 pattern: 300 })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_NE(e.message().find("pattern 300"), std::string::npos);
  EXPECT_EQ(run(R"(pread { path: "F" offset: 0 length: 0 })").kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(run(R"(flip_loop { path: "F" })").kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(runner_.run(pb::Op()).kind(), pb::AgentEvent::OP_FAILED);
}

TEST_F(OpsTest, FlipLoopKeepsGoingOnlyWhenAsked) {
  // /dev/null has no FS_IOC_FS[GS]ETXATTR: every flip fails with ENOTTY.
  auto stop = run(R"(flip_loop { path: "/dev/null" iterations: 3 })");
  EXPECT_EQ(stop.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_NE(stop.message().find("(cycle 0)"), std::string::npos) << stop.message();
  auto go_on = run(R"(flip_loop { path: "/dev/null" iterations: 3 keep_going: true })");
  EXPECT_EQ(go_on.kind(), pb::AgentEvent::OP_OK) << go_on.message();
  EXPECT_NE(go_on.message().find("3 clear/set cycles"), std::string::npos) << go_on.message();
  EXPECT_NE(go_on.message().find("6 failed, kept going"), std::string::npos) << go_on.message();
}

TEST_F(OpsTest, TruncateFsyncAndDropCaches) {
  run(R"(create { path: "F" size: 10 pattern: 0 })");
  EXPECT_EQ(run(R"(truncate { path: "F" size: 12345 })").kind(), pb::AgentEvent::OP_OK);
  struct stat st {};
  ASSERT_EQ(::stat(f().c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 12345);
  EXPECT_EQ(run(R"(fsync { path: "F" })").kind(), pb::AgentEvent::OP_OK);
  testing::spit(dir_ / "drop_caches", "");
  EXPECT_EQ(run("drop_caches {}").kind(), pb::AgentEvent::OP_OK);
  EXPECT_EQ(slurp(dir_ / "drop_caches"), "3\n");
}

TEST_F(OpsTest, OpenHoldsTheFileUntilClose) {
  run(R"(create { path: "F" size: 10 pattern: 0 })");
  EXPECT_EQ(run(R"(open { path: "F" })").kind(), pb::AgentEvent::OP_OK);
  EXPECT_EQ(runner_.held_files(), 1u);
  EXPECT_EQ(run(R"(open { path: "F" })").kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_EQ(run(R"(close { path: "F" })").kind(), pb::AgentEvent::OP_OK);
  EXPECT_EQ(runner_.held_files(), 0u);
  auto e = run(R"(close { path: "F" })");
  EXPECT_EQ(e.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_NE(e.message().find("not held open"), std::string::npos);
}

TEST_F(OpsTest, ReportDaxOnAFilesystemWithoutDax) {
  run(R"(create { path: "F" size: 10 pattern: 0 })");
  auto any = run(R"(report_dax { path: "F" })");
  ASSERT_EQ(any.kind(), pb::AgentEvent::OP_OK) << any.message();
  EXPECT_FALSE(any.statx_dax());
  EXPECT_NE(any.message().find("STATX_ATTR_DAX=0"), std::string::npos);
  auto want = run(R"(report_dax { path: "F" expect: DAX })");
  EXPECT_EQ(want.kind(), pb::AgentEvent::OP_FAILED);
  EXPECT_TRUE(want.check_failed());
  EXPECT_NE(want.message().find("expected DAX"), std::string::npos);
  EXPECT_EQ(run(R"(report_dax { path: "F" expect: NOT_DAX })").kind(), pb::AgentEvent::OP_OK);
}

TEST_F(OpsTest, DescribeMismatch) {
  uint8_t data[] = {1, 1, 2, 1, 3};
  EXPECT_EQ(describe_mismatch(data, 2, 1, 0), "");
  EXPECT_EQ(describe_mismatch(data, 5, 1, 0x1000), "2 of 5 bytes differ from 0x01; the first, at file offset 0x1002, is 0x02");
}

}  // namespace
}  // namespace racerig::agent
