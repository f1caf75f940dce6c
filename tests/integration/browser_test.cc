// The pages in a real browser: Debian's chromium, headless, driven over the
// DevTools protocol by tests/browser/page_facts.py (standard library only),
// which reports what the page shows. Two real runs on cached kernels: an
// explore report file (racerig explore --html) and a validate job through a
// racerigd started here (--http), read with a token like a user's browser.
// Each page's screenshot is kept under the build's test-output/browser/.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "daemon.h"
#include "rig/report/pages.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers
namespace fs = std::filesystem;
using nlohmann::json;

fs::path output_dir() {
  const fs::path dir = fs::path(RACERIG_TEST_OUTPUT_DIR) / "browser";
  fs::create_directories(dir);
  return dir;
}

// What page_facts.py saw at `url` (its screenshot saved as `name`.png), or
// a null json and the failure in *why.
json facts(const std::string& url, const std::string& name, bool click_map, std::string* why) {
  const std::string shot = (output_dir() / (name + ".png")).string();
  Ran r = run_shell("/usr/bin/python3 " + std::string(RACERIG_SOURCE_DIR) + "/tests/browser/page_facts.py '" + url +
                    "' --screenshot " + shot + " --timeout 120" + (click_map ? " --click-map" : "") + " 2>" +
                    (output_dir() / (name + ".stderr")).string());
  if (r.exit_code != 0) {
    *why = "page_facts exited " + std::to_string(r.exit_code) + ": " + r.output +
           read_text(output_dir() / (name + ".stderr"));
    return json();
  }
  json j = json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) *why = "page_facts printed no JSON: " + r.output;
  return j;
}

// The checks every page passes: it rendered with no console error and
// requested nothing outside its own origin.
void expect_clean(const json& f) {
  EXPECT_TRUE(f["console_errors"].empty()) << f["console_errors"].dump();
  EXPECT_TRUE(f["foreign"].empty()) << f["foreign"].dump();
}

// Each timeline has one lane per actor, and an actor held at a point is
// held before it is released.
void expect_timelines(const json& f, const std::set<std::string>& actors) {
  ASSERT_FALSE(f["timelines"].empty()) << f.dump();
  for (const json& lanes : f["timelines"]) {
    std::multiset<std::string> seen;
    bool held_then_released = false;
    for (const json& lane : lanes) {
      seen.insert(lane["actor"].get<std::string>());
      if (!lane["hold_t0"].is_null() && !lane["release_t"].is_null())
        held_then_released |= lane["hold_t0"].get<double>() <= lane["release_t"].get<double>();
    }
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), actors) << lanes.dump();
    EXPECT_EQ(seen.size(), actors.size()) << "one lane per actor: " << lanes.dump();
    EXPECT_TRUE(held_then_released) << "no lane holds and then releases: " << lanes.dump();
  }
}

// file:line as the oops block shows it ("iomap_page_mkwrite+0x48/0x1c5 ./include/linux/page-flags.h:253").
const std::regex kFileLine(R"(\S+\.[ch]:[0-9]+)");

TEST(Browser, AnExploreReportFileShowsTheMapAndAClickShowsTheSchedule) {
  const fs::path page = output_dir() / "explore.html";
  fs::remove(page);
  // The faulter's first points are the fault's entry, where a hold lets the
  // flip land first (NOT_REPRODUCED); the third or fourth is usually past
  // IS_DAX and reproduces. A trace may see the entry more than once (on a
  // fresh machine: xfs_filemap_fault:1391 #1 and #2): eight leave room.
  Ran r = run_cli("explore --scenario xfs-dax-flip-vs-write-fault --kernel buggy --max-schedules 8 --html " +
                  page.string());
  ASSERT_EQ(r.exit_code, 0) << "some schedule reproduces among the first eight: " << r.output;
  std::string why;
  const json f = facts("file://" + page.string(), "explore", /*click_map=*/true, &why);
  ASSERT_FALSE(f.is_null()) << why;
  expect_clean(f);
  ASSERT_FALSE(f["verdicts"].empty());
  EXPECT_NE(f["verdicts"][0].get<std::string>().find("reproduced at"), std::string::npos) << f["verdicts"].dump();
  EXPECT_EQ(f["runs"], json::array({8})) << "the number of schedules run";
  expect_timelines(f, {"faulter", "flipper"});
  ASSERT_FALSE(f["oops_where"].empty());
  EXPECT_TRUE(std::regex_search(f["oops_where"][0].get<std::string>(), kFileLine)) << f["oops_where"].dump();
  // A click on the first reproducing source line shows its schedule.
  const json& click = f["map_click"];
  ASSERT_TRUE(click.is_object()) << "no reproducing line on the map: " << f.dump();
  ASSERT_FALSE(click["shown"].empty()) << click.dump();
  const json& shown = click["shown"][0];
  EXPECT_NE(shown["text"].get<std::string>().find("REPRODUCED"), std::string::npos) << shown.dump();
  EXPECT_NE(shown["steps"].get<std::string>().find("hold faulter"), std::string::npos) << shown.dump();
  EXPECT_EQ(shown["lanes"].get<int>(), 2) << shown.dump();
  EXPECT_NE(click["hint"].get<std::string>().find(click["where"].get<std::string>()), std::string::npos)
      << click.dump();
  std::printf("explore page: %s bytes, loaded in %.0f ms\n", std::to_string(f["bytes"].get<long>()).c_str(),
              f["load_ms"].get<double>());
}

TEST(Browser, AValidateJobThroughRacerigdsPages) {
  Daemon d("browser");
  ASSERT_TRUE(d.start({"--http", "127.0.0.1:0", "--insecure-plaintext"})) << d.log();
  std::smatch m;
  const std::string log = d.log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(web pages on http://127\.0\.0\.1:0 \(port ([0-9]+)\))"))) << log;
  const std::string base = "http://127.0.0.1:" + m[1].str();
  const std::string token = "0123456789abcdef-integration";

  Ran v = d.cli("validate",
                "--no-explore --patch " + candidate("upstream-defer-dax-change-to-eviction.patch") + " --runs 1");
  ASSERT_EQ(v.exit_code, 0) << v.output << d.log();

  std::string why;
  // Without the token: 401, said on the page.
  const json denied = facts(base + "/jobs", "jobs-401", false, &why);
  ASSERT_FALSE(denied.is_null()) << why;
  EXPECT_NE(denied["title"].get<std::string>().find("401"), std::string::npos) << denied.dump();

  // The list, signed in with the token in the address once (a cookie from then on).
  const json list = facts(base + "/jobs?token=" + token, "jobs", false, &why);
  ASSERT_FALSE(list.is_null()) << why;
  expect_clean(list);
  ASSERT_EQ(list["job_links"].size(), 1u) << list.dump();
  const std::string job = list["job_links"][0].get<std::string>();

  const json f = facts(base + job + "?token=" + token, "validate-job", false, &why);
  ASSERT_FALSE(f.is_null()) << why;
  expect_clean(f);
  EXPECT_EQ(f["url"].get<std::string>(), base + job) << "the token left the address";
  bool fixed = false;
  for (const json& text : f["verdicts"]) fixed |= text.get<std::string>().rfind("FIXED — ", 0) == 0;
  EXPECT_TRUE(fixed) << f["verdicts"].dump();
  EXPECT_EQ(f["runs"], json::array({1})) << "one run per kernel";
  expect_timelines(f, {"faulter", "flipper"});
  ASSERT_FALSE(f["oops_where"].empty()) << "the control run's oops";
  EXPECT_TRUE(std::regex_search(f["oops_where"][0].get<std::string>(), kFileLine)) << f["oops_where"].dump();
  std::printf("validate job page: %s bytes, loaded in %.0f ms\n", std::to_string(f["bytes"].get<long>()).c_str(),
              f["load_ms"].get<double>());
}

// A run whose console is 200 MB (put in the report as it is, past the
// bound the console port keeps: the page's own bound is what is measured)
// makes a page of a few MB that opens. Its size is asserted; its opening
// time is printed (a measurement, see the README), never asserted.
TEST(Browser, AReportOfA200MegabyteConsoleStaysAFewMegabytes) {
  racerig::pb::ReproduceReport rep;
  rep.set_scenario("xfs-dax-flip-vs-write-fault");
  rep.set_kernel_variant("buggy");
  racerig::pb::RunReport* run = rep.add_runs();
  run->set_run(1);
  run->set_verdict(racerig::pb::NOT_REPRODUCED);
  run->set_reason("every actor finished");
  std::string console;
  console.reserve(size_t{200} << 20);
  while (console.size() < (size_t{200} << 20))
    console += "[    1.234567] a console line <with> & markup, over and over\n";
  run->set_console(std::move(console));
  const fs::path page = output_dir() / "console-200mb.html";
  ASSERT_TRUE(std::ofstream(page) << racerig::report::reproduce_page(rep, racerig::report::SourceTree{}));
  const auto size = fs::file_size(page);
  EXPECT_LT(size, size_t{3} << 20);
  std::string why;
  const json f = facts("file://" + page.string(), "console-200mb", false, &why);
  ASSERT_FALSE(f.is_null()) << why;
  expect_clean(f);
  EXPECT_EQ(f["runs"], json::array({1}));
  std::printf("200 MB console: page %ju bytes, loaded in %.0f ms\n", static_cast<uintmax_t>(size),
              f["load_ms"].get<double>());
}

}  // namespace
