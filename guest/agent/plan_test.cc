// Plan decoding and validation.
#include <gtest/gtest.h>

#include <google/protobuf/text_format.h>

#include "guest/agent/plan.h"

namespace racerig::agent {
namespace {

pb::GuestPlan plan_from_text(const std::string& text) {
  pb::GuestPlan p;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &p)) << text;
  return p;
}

TEST(PlanTest, DecodesWhatTheHostEncodes) {
  pb::GuestPlan p = plan_from_text(R"(
    workload {
      prepare { create { path: "/mnt/foo" size: 65536 pattern: 17 } }
      actors { name: "faulter" cpu: 0 ops { mmap_write { path: "/mnt/foo" length: 4096 pattern: 171 } } }
    }
    wait_for_go: true)");
  auto back = decode_plan(p.SerializeAsString());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->wait_for_go());
  EXPECT_EQ(back->workload().actors(0).name(), "faulter");
  EXPECT_TRUE(validate_plan(*back, 2).ok());
}

TEST(PlanTest, GarbageIsAnInputError) {
  auto r = decode_plan(std::string("\xff\xff\xff\xff\xff", 5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInput);
  EXPECT_NE(r.error().message.find("GuestPlan"), std::string::npos);
}

TEST(PlanTest, MissingFileNamesThePath) {
  auto r = read_plan("/nonexistent/plan.pb");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/plan.pb"), std::string::npos);
}

TEST(PlanTest, ValidationNamesTheProblem) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {R"(workload { actors { name: "a" cpu: 2 } })", "cpu 2 is not online"},
      {R"(workload { actors { name: "" } })", "empty name"},
      {R"(workload { actors { name: "prepare" } })", "reserved"},
      {R"(workload { actors { name: "abcdefghijklmnop1" } actors { name: "abcdefghijklmnop2" } })",
       "same first 15 bytes"},
      {R"(workload { prepare { } })", "prepare op 0: no operation set"},
      {R"(workload { check { pread { length: 1 } } })", "check op 0 (pread): empty path"},
      {R"(workload { actors { name: "x" ops { drop_caches {} } ops { fsync {} } } })", "op 1 (fsync): empty path"},
  };
  for (const auto& c : cases) {
    Status s = validate_plan(plan_from_text(c.text), 2);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.error().message.find(c.expect), std::string::npos) << s.error().message;
  }
}

TEST(PlanTest, OpNamesAndPaths) {
  pb::Op op;
  EXPECT_EQ(op_name(op), "(none)");
  op.mutable_set_dax()->set_path("/mnt/x");
  EXPECT_EQ(op_name(op), "set_dax");
  EXPECT_EQ(op_path(op), "/mnt/x");
  op.mutable_drop_caches();
  EXPECT_EQ(op_name(op), "drop_caches");
  EXPECT_EQ(op_path(op), "");
  EXPECT_EQ(comm_of("a-very-long-actor-name"), "a-very-long-act");
}

}  // namespace
}  // namespace racerig::agent
