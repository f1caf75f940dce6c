// The JUnit rendering: a testcase per scenario and kernel, and a document
// that a real XML parser (xmllint) accepts whatever the report contains.
#include "rig/verdict/junit.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>

#include "rig/verdict/validate.h"
#include "rig/verdict/sample_runs.h"
#include "rig/verdict/verdict.h"

namespace racerig::verdict {
namespace {

using namespace std::string_literals;

using testing::runs;

// xmllint's verdict on `xml`: "" when it is well-formed, else its complaint.
std::string xmllint(const std::string& xml) {
  const auto path = std::filesystem::temp_directory_path() / ("racerig-junit-" + std::to_string(::getpid()) + ".xml");
  {
    std::ofstream out(path, std::ios::binary);
    out << xml;
  }
  std::string cmd = "xmllint --noout '" + path.string() + "' 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string said;
  char buf[4096];
  size_t n;
  while (p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0) said.append(buf, n);
  int status = p != nullptr ? ::pclose(p) : -1;
  std::filesystem::remove(path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return said.empty() ? "xmllint failed to run" : said;
  return "";
}

TEST(JunitTest, ATestcasePerScenarioAndKernelWithTheOopsInTheFailure) {
  pb::ValidateReport report;
  pb::ScenarioValidation* s = report.add_scenarios();
  s->set_scenario("seed");
  *s->mutable_control() = runs("buggy", {pb::REPRODUCED});
  *s->mutable_patched() = runs("buggy+naive", {pb::REPRODUCED, pb::REPRODUCED});
  std::string why;
  s->set_result(classify(s->control(), s->patched(), &why));
  s->set_reason(why);
  std::string xml = junit_xml(report);
  EXPECT_EQ(xmllint(xml), "") << xml;
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\" errors=\"0\""), std::string::npos) << xml;

  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  pugi::xml_node suite = doc.child("testsuites").child("testsuite");
  EXPECT_STREQ(suite.attribute("time").value(), "4.500");
  pugi::xml_node control = suite.find_child_by_attribute("testcase", "name", "control buggy");
  ASSERT_TRUE(control);
  EXPECT_STREQ(control.attribute("time").value(), "1.500");
  EXPECT_FALSE(control.child("failure"));
  pugi::xml_node patched = suite.find_child_by_attribute("testcase", "name", "patched buggy+naive");
  ASSERT_TRUE(patched);
  EXPECT_STREQ(patched.attribute("time").value(), "3.000");
  EXPECT_EQ(std::string(patched.child("failure").attribute("message").value()).rfind("NOT_FIXED", 0), 0u);
  EXPECT_NE(std::string(patched.child("failure").text().get()).find("iomap_page_mkwrite+0x48/0x1e0"),
            std::string::npos);
}

// An exploring validate whose hand schedule passes but whose map has a
// reproducing point: the patched testcase fails and names the point.
TEST(JunitTest, AnExploredPatchedKernelFailsOnItsMapAndListsTheFailingPoints) {
  pb::ValidateReport report;
  pb::ScenarioValidation* s = report.add_scenarios();
  s->set_scenario("xfs-dax-flip-vs-write-fault");
  *s->mutable_control() = runs("buggy", {pb::REPRODUCED});
  *s->mutable_patched() = runs("buggy+lock", {pb::NOT_REPRODUCED});
  auto add = [](pb::ExploreReport* m, pb::Verdict v, int line) {
    pb::ExploredSchedule* e = m->add_schedules();
    e->set_held("faulter");
    e->set_runner("flipper");
    e->mutable_point()->set_function("__xfs_filemap_fault");
    e->mutable_point()->set_file("fs/xfs/xfs_file.c");
    e->mutable_point()->set_line(line);
    e->mutable_point()->set_visit(1);
    e->set_verdict(v);
  };
  add(s->mutable_control_map(), pb::REPRODUCED, 1348);
  add(s->mutable_patched_map(), pb::NOT_REPRODUCED, 1348);
  add(s->mutable_patched_map(), pb::REPRODUCED, 1381);
  s->set_result(pb::NOT_FIXED);
  s->set_reason("the patched kernel fails at 1 of 2 explored points");
  const std::string xml = junit_xml(report);
  EXPECT_EQ(xmllint(xml), "");
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  pugi::xml_node suite = doc.child("testsuites").child("testsuite");
  EXPECT_EQ(suite.attribute("failures").as_int(), 1);
  pugi::xml_node patched = suite.find_child_by_attribute("testcase", "name", "patched buggy+lock");
  ASSERT_TRUE(patched);
  EXPECT_TRUE(patched.child("failure"));
  const std::string out = patched.child("system-out").text().get();
  EXPECT_NE(out.find("explored 2 points: 1 NOT_REPRODUCED, 1 REPRODUCED"), std::string::npos) << out;
  EXPECT_NE(out.find("faulter at __xfs_filemap_fault fs/xfs/xfs_file.c:1381 #1 while flipper runs: REPRODUCED"),
            std::string::npos)
      << out;
  pugi::xml_node control = suite.find_child_by_attribute("testcase", "name", "control buggy");
  ASSERT_TRUE(control);
  EXPECT_FALSE(control.child("failure"));
}

TEST(JunitTest, ABuildErrorWithGccsNonAsciiQuotesIsWellFormed) {
  // gcc quotes with U+2018/U+2019 in a UTF-8 locale; put one across the 200-byte cut.
  std::string message = "fs/xfs/xfs_stats.c:93:32: error: expected expression before ";
  message += std::string(196 - message.size(), 'x');  // the quote's first byte at 196: the cut (197) is inside it
  message += "\xe2\x80\x98}\xe2\x80\x99 token\n   93 |  return \xe2\x80\x98;\n";
  pb::ValidateReport report;
  report.set_base_variant("buggy");
  report.add_patches("/tmp/does-not-compile.patch");
  report.set_error(message);
  std::string xml = junit_xml(report);
  EXPECT_EQ(xmllint(xml), "") << xml;
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str()));
  pugi::xml_node tc = doc.child("testsuites").child("testsuite").child("testcase");
  EXPECT_STREQ(tc.attribute("name").value(), "build buggy+does-not-compile.patch") << "never \"build \"";
  EXPECT_STREQ(tc.attribute("time").value(), "0.000");
  std::string short_message = tc.child("error").attribute("message").value();
  EXPECT_LE(short_message.size(), 200u);
  EXPECT_EQ(short_message.substr(short_message.size() - 3), "...");
  EXPECT_EQ(tc.child("error").text().get(), message) << "the whole error as the text";

  report.set_patched_variant("buggy+1a2b3c");
  pugi::xml_document named;
  ASSERT_TRUE(named.load_string(junit_xml(report).c_str()));
  EXPECT_STREQ(named.child("testsuites").child("testsuite").child("testcase").attribute("name").value(),
               "build buggy+1a2b3c");
}

TEST(JunitTest, AnyBytesMakeAWellFormedDocument) {
  pb::ValidateReport report;
  report.set_patched_variant("x\x01<&\"'>");
  // Invalid UTF-8 (Latin-1 quotes, a lone continuation byte, a surrogate), control characters.
  report.set_error("error: expected \x91;\x92 before \"<\" & '\x01' \x80 \xed\xa0\x80 \xef\xbf\xbe\x1b[0m\0end"s);
  pb::ScenarioValidation* s = report.add_scenarios();
  s->set_scenario("na\xefme]]>");
  *s->mutable_control() = runs("buggy", {pb::INFRA_ERROR});
  s->set_result(pb::ERROR);
  s->set_reason("QEMU said \xff\xfe\x07");
  std::string xml = junit_xml(report);
  EXPECT_EQ(xmllint(xml), "") << xml;
  EXPECT_NE(xml.find("&quot;&lt;&quot; &amp;"), std::string::npos) << xml;
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
}

TEST(JunitTest, Utf8HelpersNeverSplitACharacter) {
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("abcdef", 5), "ab...");
  // "\xc3\xa9" is two bytes: a cut inside it backs up before it.
  EXPECT_EQ(truncate_utf8("ab\xc3\xa9zzzz", 6), "ab...");
  EXPECT_EQ(truncate_utf8("a\xe2\x80\x98zzzzz", 6), "a...");
  EXPECT_EQ(xml_text("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(xml_text("\x91x\x92"), "\xef\xbf\xbdx\xef\xbf\xbd");
  EXPECT_EQ(xml_text("a\tb\nc\x01"), "a\tb\nc ");
  EXPECT_EQ(xml_text("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(xml_text("\xf0\x9f\x98"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") << "a cut-off sequence";
}

}  // namespace
}  // namespace racerig::verdict
