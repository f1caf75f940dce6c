// The CLI's argument parser: every bad option is an input error naming it.
#include <gtest/gtest.h>

#include "host/cli_util.h"
#include "host/commands.h"

namespace racerig::host {
namespace {

Result<ParsedArgs> parse(const Args& a) { return parse_args(a, {"runs", "patch"}, {"cold"}); }

TEST(CliArgsTest, ValuesFlagsAndPositionals) {
  auto p = parse({"--runs", "3", "--patch=a.patch", "--patch", "b.patch", "--cold", "extra"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->get("runs"), "3");
  EXPECT_EQ(p->all("patch"), (std::vector<std::string>{"a.patch", "b.patch"}));
  EXPECT_TRUE(p->has("cold"));
  EXPECT_EQ(p->positional, std::vector<std::string>{"extra"});
  EXPECT_FALSE(p->get("missing").has_value());
}

TEST(CliArgsTest, UnknownOptionsAndMissingValuesAreInputErrors) {
  auto unknown = parse({"--runz", "3"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kInput);
  EXPECT_NE(unknown.error().message.find("--runz"), std::string::npos) << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("--runs"), std::string::npos) << "lists the known options";

  auto missing = parse({"--runs"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("--runs needs a value"), std::string::npos) << missing.error().message;

  auto flag_with_value = parse({"--cold=yes"});
  ASSERT_FALSE(flag_with_value.ok());
  EXPECT_NE(flag_with_value.error().message.find("--cold takes no value"), std::string::npos)
      << flag_with_value.error().message;
}

TEST(CliArgsTest, PositiveIntTakesTheFallbackOrANumberInRange) {
  auto absent = parse({});
  ASSERT_TRUE(absent.ok());
  EXPECT_EQ(*absent->positive_int("runs", 7), 7);
  EXPECT_EQ(*parse({"--runs", "100000"})->positive_int("runs", 7), 100000);
  for (const char* bad : {"0", "-1", "", "3x", "x", "100001", "99999999999999999999"}) {
    auto p = parse({"--runs", bad});
    ASSERT_TRUE(p.ok());
    auto n = p->positive_int("runs", 7);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.error().kind, ErrorKind::kInput);
    EXPECT_NE(n.error().message.find("--runs wants a number from 1 to 100000, got \"" + std::string(bad) + "\""),
              std::string::npos)
        << n.error().message;
  }
}

}  // namespace
}  // namespace racerig::host
