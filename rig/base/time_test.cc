// Tests of wall-clock formatting (time.h).
#include "rig/base/time.h"

#include <gtest/gtest.h>

namespace racerig {
namespace {

TEST(FormatUtc, Iso8601ToTheSecondInUtc) {
  EXPECT_EQ(format_utc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_utc(1796142205), "2026-12-01T16:23:25Z");
}

TEST(UtcNow, HasTheShapeOfFormatUtc) {
  const std::string now = utc_now();
  ASSERT_EQ(now.size(), 20u) << now;
  EXPECT_EQ(now[4], '-');
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now[19], 'Z');
}

}  // namespace
}  // namespace racerig
