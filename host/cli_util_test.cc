// The shared option helpers: counts are whole numbers in range, and a bad
// one is a usage error naming the option and the value.
#include <gtest/gtest.h>

#include "host/cli_util.h"

namespace racerig::host {
namespace {

// Parses `--runs VALUE` into a fresh app; returns the error text or "".
std::string parse_runs(const std::string& value, int* runs) {
  CLI::App app("test", "test");
  add_count_option(app, "--runs", *runs, "how many");
  try {
    app.parse(std::vector<std::string>{value, "--runs"});  // CLI11 takes them last first
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(CliUtilTest, CountOptionsTakeANumberFromOneTo100000) {
  int runs = 7;
  EXPECT_EQ(parse_runs("100000", &runs), "");
  EXPECT_EQ(runs, 100000);
  EXPECT_EQ(parse_runs("1", &runs), "");
  EXPECT_EQ(runs, 1);
}

TEST(CliUtilTest, ABadCountNamesTheOptionAndTheValue) {
  for (const char* bad : {"0", "-1", "", "3x", "x", "100001", "99999999999999999999"}) {
    int runs = 7;
    std::string error = parse_runs(bad, &runs);
    EXPECT_NE(error.find("--runs"), std::string::npos) << bad << ": " << error;
    EXPECT_NE(error.find("wants a number from 1 to 100000, got \"" + std::string(bad) + "\""), std::string::npos)
        << error;
    EXPECT_EQ(runs, 7) << "left unchanged";
  }
}

TEST(CliUtilTest, JsonTakesDashForStdout) {
  CLI::App app("test", "test");
  std::string json;
  add_json_option(app, json, "the report");
  app.parse(std::vector<std::string>{"-", "--json"});
  EXPECT_EQ(json, "-");
}

}  // namespace
}  // namespace racerig::host
