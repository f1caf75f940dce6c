// The explore map's HTML page on a hand-built report: source lines, colours
// per outcome, escaping, nothing fetched, bounded size.
#include "rig/report/explore_page.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "rig/base/file.h"
#include "rig/explore/map.h"
#include "rig/explore/sample_report.h"

namespace racerig::report {
namespace {

namespace fs = std::filesystem;

using namespace racerig::explore::testing;  // NOLINT: the sample report's builders

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

using Scratch = SampleSourceTest;

// ---------------------------------------------------------------- names

// ---------------------------------------------------------------- html

// The class of the source line that holds schedules at `where` ("file:line").
std::string line_class(const std::string& page, const std::string& where) {
  size_t at = page.find("data-where=\"" + where + "\"");
  if (at == std::string::npos) return "(no line " + where + ")";
  size_t div = page.rfind("<div class=\"", at);
  size_t start = div + std::string("<div class=\"").size();
  return page.substr(start, page.find('"', start) - start);
}

TEST_F(Scratch, HtmlColoursEachLineByItsWorstOutcome) {
  auto page = render_explore_page(sample_report(), source_tree());
  ASSERT_TRUE(page.ok()) << page.error().message;
  const std::string& html = *page;
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_file.c:10"), "l c-repro");
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_file.c:11"), "l c-failed");
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_file.c:12"), "l c-serial") << "serialized (#1) beats NOT_REPRODUCED (#2)";
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_file.c:13"), "l c-passed");
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_file.c:20"), "l c-grey");
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_ioctl.c:30"), "l c-failed");
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_ioctl.c:31"), "l c-grey");
  EXPECT_EQ(line_class(html, "fs/xfs/xfs_ioctl.c:32"), "l c-repro");
  EXPECT_EQ(line_class(html, "include/linux/fs.h:5"), "l c-grey");
  // Line 12's two schedules, both clickable; the labels beside the line.
  EXPECT_NE(html.find("data-s=\"2 4\" data-where=\"fs/xfs/xfs_file.c:12\""), std::string::npos);
  EXPECT_NE(html.find("<span class=\"chip c-serial\">faulter #1: serialized</span>"
                      "<span class=\"chip c-passed\">faulter #2: NOT_REPRODUCED</span>"),
            std::string::npos);
  // The traced point no schedule held: grey, not clickable.
  EXPECT_NE(html.find("<div class=\"l c-grey\"><span class=\"n\">14</span><span class=\"t\">xfs_file line 14</span>"
                      "<span class=\"p\"><span class=\"chip c-grey\">faulter #1: not run</span>"),
            std::string::npos);
  // The CSS gives each class its colour.
  for (const char* rule :
       {".l.c-repro{background:#f6c6c6}", ".l.c-failed{background:#fbdcb0}", ".l.c-serial{background:#cfd9e6}",
        ".l.c-passed{background:#cdeccd}", ".l.c-grey{background:#e4e4e4}"})
    EXPECT_NE(html.find(rule), std::string::npos) << rule;
}

TEST_F(Scratch, HtmlShowsTheSourceAroundThePointsAndNotesWhatIsMissing) {
  auto page = render_explore_page(sample_report(), source_tree());
  ASSERT_TRUE(page.ok()) << page.error().message;
  const std::string& html = *page;
  // Points on 10-14 and 20: lines 7-23 (three of context, close ranges merged).
  EXPECT_EQ(html.find(">xfs_file line 6<"), std::string::npos);
  for (int n : {7, 9, 15, 17, 23})
    EXPECT_NE(html.find(">xfs_file line " + std::to_string(n) + "<"), std::string::npos) << n;
  EXPECT_EQ(html.find(">xfs_file line 24<"), std::string::npos);
  EXPECT_EQ(count(html, "<div class=\"gap\">"), 0u);
  for (int n : {27, 35}) EXPECT_NE(html.find(">xfs_ioctl line " + std::to_string(n) + "<"), std::string::npos) << n;
  EXPECT_EQ(html.find(">xfs_ioctl line 36<"), std::string::npos);
  // The missing header: a note, and its point still listed.
  EXPECT_NE(html.find("<p class=\"note\">source not shown: reading source "), std::string::npos);
  EXPECT_NE(html.find("<h2>include/linux/fs.h</h2>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"t\">(source not shown)</span>"), std::string::npos);
  // Every schedule's detail is in the panel, with its steps.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(count(html, "id=\"s-" + std::to_string(i) + "\""), 1u) << i;
  EXPECT_NE(html.find("hold faulter at fs/xfs/xfs_file.c:10\nrun flipper until done\nrelease faulter\n"),
            std::string::npos);
  // The reproducing schedules, listed before the source.
  size_t listed = html.find("<h2>Reproducing schedules</h2>");
  ASSERT_NE(listed, std::string::npos);
  EXPECT_LT(listed, html.find("<h2>fs/xfs/xfs_file.c</h2>"));
  EXPECT_NE(html.find("REPRODUCED at schedule 9", listed), std::string::npos);
  // The summary.
  EXPECT_NE(html.find("<span class=\"sw c-repro\"></span>REPRODUCED</td><td>2</td>"), std::string::npos);
  EXPECT_NE(html.find("10 schedules of 12 planned, trace 1234 ms, total 56.8 s"), std::string::npos);
  EXPECT_NE(html.find("<p class=\"verdict v-bad\" data-runs=\"10\"><b>reproduced at 2 points: faulter held at "
                      "__xfs_filemap_fault fs/xfs/xfs_file.c:10 #1 "
                      "(flipper runs); flipper held at"),
            std::string::npos);
}

TEST_F(Scratch, HtmlEscapesEverythingAndFetchesNothing) {
  pb::ExploreReport r = sample_report();
  r.set_scenario("s\"><img onerror=x>");
  r.set_error("bad <b>thing</b>");
  r.mutable_schedules(0)->mutable_schedule(1)->mutable_hold()->set_actor("<i>faulter</i>");
  auto page = render_explore_page(r, source_tree());
  ASSERT_TRUE(page.ok()) << page.error().message;
  const std::string& html = *page;
  EXPECT_EQ(count(html, "<script"), 1u) << "only the page's own script";
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>thing"), std::string::npos);
  EXPECT_EQ(html.find("<i>faulter"), std::string::npos);
  EXPECT_EQ(html.find("</span><script>"), std::string::npos);
  EXPECT_NE(html.find("oops in &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("\tif (a &lt; b &amp;&amp; c &gt; &quot;d&quot;) &lt;/span&gt;&lt;script&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("s&quot;&gt;&lt;img onerror=x&gt;"), std::string::npos);
  EXPECT_NE(html.find("error: bad &lt;b&gt;thing&lt;/b&gt;"), std::string::npos);
  // Self-contained: no URL, no external stylesheet, script, image or font.
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("//"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html_escape("<a href='x'>&\""), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
}

TEST_F(Scratch, HtmlWithoutSourcesOrWithABadRootOrAPathOutsideIt) {
  auto none = render_explore_page(sample_report(), fs::path());
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(count(*none, "source not shown: no source tree was given"), 3u);  // three files
  EXPECT_EQ(line_class(*none, "fs/xfs/xfs_file.c:10"), "l c-repro");

  auto bad = render_explore_page(sample_report(), dir_ / "nope");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kInput);
  EXPECT_NE(bad.error().message.find("nope is not a directory"), std::string::npos) << bad.error().message;

  write("secret", "do not show\n");
  pb::ExploreReport r;
  *r.add_schedules() = schedule(0, point("a", "f", "../secret", 1, 1), "b", pb::REPRODUCED);
  *r.add_schedules() = schedule(1, point("a", "f", (dir_ / "secret").string(), 1, 1), "b", pb::REPRODUCED);
  fs::create_directories(dir_ / "src");
  auto outside = render_explore_page(r, dir_ / "src");
  ASSERT_TRUE(outside.ok()) << outside.error().message;
  EXPECT_EQ(outside->find("do not show"), std::string::npos);
  EXPECT_NE(outside->find("leaves the source tree"), std::string::npos);
  EXPECT_NE(outside->find("is not inside the source tree"), std::string::npos);
}

TEST_F(Scratch, HtmlShowsAtMostItsBudgetOfSourceLines) {
  // 1000 points ten lines apart in a 10000-line file: one merged range far
  // over the budget; points past it are still listed.
  std::string text;
  for (int i = 1; i <= 10000; ++i) text += "srcline " + std::to_string(i) + "\n";
  write("src/big.c", text);
  pb::ExploreReport r;
  for (int i = 1; i <= 1000; ++i)
    *r.add_schedules() = schedule(i, point("a", "f", "big.c", i * 10, 1), "b", pb::NOT_REPRODUCED);
  auto page = render_explore_page(r, dir_ / "src");
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(count(*page, ">srcline "), static_cast<size_t>(kMaxHtmlSourceLines));
  EXPECT_NE(page->find(" source lines around points are not shown: the page shows at most 3000 lines"),
            std::string::npos);
  EXPECT_NE(page->find("data-where=\"big.c:10000\""), std::string::npos);
  EXPECT_LT(page->size(), size_t{4} << 20);
}

TEST_F(Scratch, HtmlSeparatesPointsFarApart) {
  std::string text;
  for (int i = 1; i <= 200; ++i) text += "srcline " + std::to_string(i) + "\n";
  write("src/far.c", text);
  pb::ExploreReport r;
  for (int line : {10, 30, 150})
    *r.add_schedules() = schedule(line, point("a", "f", "far.c", line, 1), "b", pb::NOT_REPRODUCED);
  auto page = render_explore_page(r, dir_ / "src");
  ASSERT_TRUE(page.ok()) << page.error().message;
  // 7-33 (10 and 30 merged: 13 and 27 are fewer than 20 lines apart), a gap, 147-153.
  EXPECT_EQ(count(*page, ">srcline "), 27u + 7u);
  EXPECT_NE(page->find(">srcline 20<"), std::string::npos);
  EXPECT_EQ(page->find(">srcline 34<"), std::string::npos);
  EXPECT_EQ(page->find(">srcline 146<"), std::string::npos);
  EXPECT_EQ(count(*page, "<div class=\"gap\">"), 1u);
  EXPECT_LT(page->find(">srcline 33<"), page->find("<div class=\"gap\">"));
  EXPECT_LT(page->find("<div class=\"gap\">"), page->find(">srcline 147<"));
}

}  // namespace
}  // namespace racerig::report
