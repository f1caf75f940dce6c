// Tests of text-format parsing with a located first error (text_format.h).
#include "proto/text_format.h"

#include <gtest/gtest.h>

#include "proto/racerig.pb.h"

namespace racerig::proto {
namespace {

TEST(ParseTextFormat, ParsesAndRecordsLocations) {
  pb::VariantSet set;
  google::protobuf::TextFormat::ParseInfoTree where;
  Status s = parse_text_format("base {\n  name: \"a\"\n}\n", "v.textproto", &set, &where);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(set.base_size(), 1);
  EXPECT_EQ(set.base(0).name(), "a");
  EXPECT_EQ(where.GetLocation(pb::VariantSet::descriptor()->FindFieldByName("base"), 0).line, 0);
}

TEST(ParseTextFormat, FirstErrorNamesFileLineAndColumn) {
  pb::VariantSet set;
  Status s = parse_text_format("base {\n  nme: \"a\"\n}\nbogus: 1\n", "v.textproto", &set);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kInput);
  // Only the first of the two errors, 1-based (protobuf points after the name).
  EXPECT_EQ(s.error().message, "v.textproto:2:6: Message type \"racerig.pb.KernelBase\" has no field named \"nme\".");
}

TEST(FirstParseError, KeepsTheFirstAndIgnoresWarnings) {
  FirstParseError errors("f");
  EXPECT_EQ(errors.first(), "");
  errors.AddWarning(0, 0, "a warning");
  EXPECT_EQ(errors.first(), "");
  errors.AddError(4, 9, "first");
  errors.AddError(0, 0, "second");
  EXPECT_EQ(errors.first(), "f:5:10: first");
}

}  // namespace
}  // namespace racerig::proto
