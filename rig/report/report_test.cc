// The report pages on hand-built reports: escaping of hostile text (a
// console, file names, reasons), the timeline's lanes and their order
// (hold before release, serialization waits, the oops), the oops with its
// source, the bounds on consoles (a 200 MB console stays a few MB), the
// validate page's control and patched runs side by side, and the job list.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "rig/base/file.h"
#include "rig/report/html.h"
#include "rig/report/job_pages.h"
#include "rig/report/pages.h"
#include "rig/report/run_section.h"
#include "rig/report/timeline.h"

namespace racerig::report {
namespace {

namespace fs = std::filesystem;

const char kInjection[] = "<script>alert(1)</script>";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

pb::TraceEvent* event(pb::RunReport& r, int step, const std::string& actor, const std::string& what, int vcpu, double t,
                      const std::string& detail = {}) {
  pb::TraceEvent* e = r.add_events();
  e->set_step(step);
  e->set_actor(actor);
  e->set_what(what);
  e->set_vcpu(vcpu);
  e->set_t_ms(t);
  e->set_detail(detail);
  return e;
}

// The engine's events of a forced run: faulter held at the fault, flipper
// run to its end, faulter released, the oops on vCPU 0.
pb::RunReport forced_run() {
  pb::RunReport r;
  r.set_run(1);
  r.set_verdict(pb::REPRODUCED);
  r.set_reason("oops in iomap_page_mkwrite as expected");
  r.set_scenario("xfs-dax");
  r.set_kernel_variant("buggy");
  r.set_schedule_enforced(true);
  event(r, 0, "faulter", "arrived", 0, 100)->set_symbol("__xfs_filemap_fault");
  event(r, 0, "faulter", "held", 0, 101)->set_symbol("__xfs_filemap_fault");
  event(r, 1, "flipper", "ran_to_end", -1, 300);
  event(r, 2, "faulter", "released", 0, 310, "to run to the end");
  event(r, -1, "", "crash_trap", 0, 400);
  r.set_time_to_oops_ms(405);
  pb::Oops* o = r.mutable_oops();
  o->set_kind("BUG");
  o->set_headline("BUG: kernel NULL pointer dereference, address: 0000000000000000");
  o->mutable_rip()->set_text("iomap_page_mkwrite+0x48/0x1e0");
  o->mutable_rip()->set_file("fs/iomap/buffered-io.c");
  o->mutable_rip()->set_line(20);
  o->mutable_rip()->add_inlined_from("_compound_head inlined by iomap_page_mkwrite at fs/xfs/xfs_file.c:2");
  pb::Frame* f = o->add_trace();
  f->set_text("__xfs_filemap_fault+0x1c/0x80");
  f->set_file("fs/xfs/xfs_file.c");
  f->set_line(3);
  r.set_console("boot\n" + std::string(kInjection) + "\n");
  return r;
}

class SourceScratch : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("racerig-report-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "src/fs/iomap");
    fs::create_directories(dir_ / "src/fs/xfs");
    std::string io, xfs;
    for (int i = 1; i <= 40; ++i)
      io += (i == 20 ? std::string("\tif (a < b) ") + kInjection : "io line " + std::to_string(i)) + "\n";
    for (int i = 1; i <= 5; ++i) xfs += "xfs line " + std::to_string(i) + "\n";
    EXPECT_TRUE(write_file(dir_ / "src/fs/iomap/buffered-io.c", io).ok());
    EXPECT_TRUE(write_file(dir_ / "src/fs/xfs/xfs_file.c", xfs).ok());
    EXPECT_TRUE(write_file(dir_ / "secret", "do not show\n").ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  SourceTree tree() const { return SourceTree{dir_ / "src", ""}; }
  fs::path dir_;
};

TEST(Escape, MarkupQuotesAndControlBytes) {
  EXPECT_EQ(html_escape("<a href='x'>&\""), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;");
  EXPECT_EQ(html_escape(std::string("a\0b\x1b[31mc\td\n", 12)),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD[31mc\td\n");
  EXPECT_EQ(url_encode("a b/../c?&x=é"), "a%20b%2F..%2Fc%3F%26x%3D%C3%A9");
}

TEST(Timeline, OneLanePerActorHoldBeforeReleaseAndTheOops) {
  const Timeline tl = build_timeline(forced_run());
  ASSERT_EQ(tl.lanes.size(), 2u);
  const Lane& faulter = tl.lanes[0];
  EXPECT_EQ(faulter.actor, "faulter");
  EXPECT_EQ(faulter.vcpu, 0);
  ASSERT_EQ(faulter.segments.size(), 3u);
  EXPECT_EQ(faulter.segments[0].kind, "run");
  EXPECT_EQ(faulter.segments[1].kind, "hold");
  EXPECT_DOUBLE_EQ(faulter.segments[1].t0, 101);
  EXPECT_DOUBLE_EQ(faulter.segments[1].t1, 310);
  EXPECT_EQ(faulter.segments[1].label, "held at __xfs_filemap_fault");
  EXPECT_EQ(faulter.segments[2].kind, "run");
  EXPECT_DOUBLE_EQ(faulter.segments[2].t0, 310);
  const Lane& flipper = tl.lanes[1];
  EXPECT_EQ(flipper.actor, "flipper");
  ASSERT_EQ(flipper.segments.size(), 1u);
  EXPECT_EQ(flipper.segments[0].kind, "run");
  EXPECT_DOUBLE_EQ(flipper.segments[0].t1, 300);
  EXPECT_DOUBLE_EQ(tl.oops_ms, 405);
  EXPECT_GT(tl.t1, 405);
  // The crash trap marks vCPU 0's lane.
  bool trap = false;
  for (const Mark& m : faulter.marks) trap |= m.what == "crash_trap" && m.t == 400;
  EXPECT_TRUE(trap);

  const std::string html = render_timeline(tl);
  EXPECT_EQ(count(html, "class=\"tl-lane\""), 2u);
  EXPECT_NE(html.find("data-actor=\"faulter\" data-vcpu=\"0\""), std::string::npos);
  EXPECT_NE(html.find("data-kind=\"hold\" data-t0=\"101.0\" data-t1=\"310.0\""), std::string::npos);
  EXPECT_NE(html.find("data-what=\"released\" data-t=\"310.0\""), std::string::npos);
  EXPECT_EQ(count(html, "data-what=\"oops\" data-t=\"405.0\""), 2u) << "on every lane";
}

TEST(Timeline, SerializationWaitsAndHostileActorNames) {
  pb::RunReport r;
  event(r, 0, "a\"><b>", "held", 0, 10);
  event(r, 1, "b", "blocked", 1, 20, "rwsem_down_write_slowpath ← xfs_ilock");
  event(r, 2, "a\"><b>", "released", 0, 30, "serialized: released in schedule order");
  event(r, 2, "b", "finished", 1, 40);
  const Timeline tl = build_timeline(r);
  ASSERT_EQ(tl.lanes.size(), 2u);
  // b: runs, waits asleep behind a from 20 to a's release at 30, runs to its end at 40.
  ASSERT_EQ(tl.lanes[1].segments.size(), 3u);
  EXPECT_EQ(tl.lanes[1].segments[1].kind, "wait");
  EXPECT_DOUBLE_EQ(tl.lanes[1].segments[1].t0, 20);
  EXPECT_DOUBLE_EQ(tl.lanes[1].segments[1].t1, 30);
  EXPECT_EQ(tl.lanes[1].segments[1].label, "rwsem_down_write_slowpath ← xfs_ilock");
  EXPECT_EQ(tl.lanes[1].segments[2].kind, "run");
  EXPECT_DOUBLE_EQ(tl.lanes[1].segments[2].t0, 30);
  EXPECT_DOUBLE_EQ(tl.lanes[1].segments[2].t1, 40);
  const std::string html = render_timeline(tl);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("data-actor=\"a&quot;&gt;&lt;b&gt;\""), std::string::npos);
  EXPECT_EQ(render_timeline(build_timeline(pb::RunReport())), "");
}

TEST(Timeline, MarksPerLaneAreBounded) {
  pb::RunReport r;
  for (int i = 0; i < 5000; ++i) {
    event(r, 0, "a", "held", 0, i * 2);
    event(r, 1, "a", "released", 0, i * 2 + 1);
  }
  const Timeline tl = build_timeline(r);
  ASSERT_EQ(tl.lanes.size(), 1u);
  EXPECT_EQ(tl.lanes[0].marks.size(), static_cast<size_t>(kMaxMarksPerLane));
}

TEST_F(SourceScratch, RunShowsTheVerdictLineTheOopsWithItsSourceAndEscapes) {
  ConsoleBudget budget;
  const std::string html = run_section(forced_run(), tree(), budget);
  EXPECT_NE(html.find("<p class=\"verdict v-bad\">run 1: REPRODUCED — oops in iomap_page_mkwrite as expected</p>"),
            std::string::npos);
  EXPECT_NE(html.find("iomap_page_mkwrite+0x48/0x1e0 fs/iomap/buffered-io.c:20"), std::string::npos);
  // Six lines either side of the faulting one, which is marked.
  EXPECT_NE(html.find("<span class=\"ln\">14</span>io line 14"), std::string::npos);
  EXPECT_EQ(html.find("io line 13<"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"ln\">26</span>io line 26"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"sl fault\"><span class=\"ln\">20</span>\tif (a &lt; b) &lt;script&gt;"),
            std::string::npos);
  // The inlined caller's line.
  EXPECT_NE(html.find("inlined from _compound_head inlined by iomap_page_mkwrite at fs/xfs/xfs_file.c:2</p>\n"
                      "<div class=\"src\"><div class=\"sl fault\"><span class=\"ln\">2</span>xfs line 2</div>"),
            std::string::npos);
  // The frame's own line.
  EXPECT_NE(html.find("<td>fs/xfs/xfs_file.c:3</td><td class=\"code\">xfs line 3</td>"), std::string::npos);
  // The console, folded and escaped; no markup of the report's survives.
  EXPECT_NE(html.find("<details class=\"console\"><summary>console ("), std::string::npos);
  EXPECT_EQ(html.find(kInjection), std::string::npos);
}

TEST_F(SourceScratch, OopsFilesOutsideTheTreeAreNotRead) {
  pb::RunReport r = forced_run();
  r.mutable_oops()->mutable_rip()->set_file("../secret");
  r.mutable_oops()->mutable_trace(0)->set_file((dir_ / "secret").string());
  ConsoleBudget budget;
  std::string html = run_section(r, tree(), budget);
  EXPECT_EQ(html.find("do not show"), std::string::npos);
  EXPECT_NE(html.find("leaves the source tree"), std::string::npos);
  // No tree: said, with the tree's note.
  html = run_section(forced_run(), SourceTree{{}, "no tree for buggy"}, budget);
  EXPECT_NE(html.find("source of fs/iomap/buffered-io.c not shown: no source tree was given (no tree for buggy)"),
            std::string::npos);
  // A line past the file's end.
  r = forced_run();
  r.mutable_oops()->mutable_rip()->set_line(4000);
  html = run_section(r, tree(), budget);
  EXPECT_NE(html.find("fs/iomap/buffered-io.c has 40 lines, not 4000"), std::string::npos);
}

TEST(Bounds, A200MegabyteConsoleStaysAFewMegabytes) {
  pb::ReproduceReport rep;
  rep.set_scenario("s");
  rep.set_kernel_variant("k");
  for (int i = 0; i < 3; ++i) {
    pb::RunReport* r = rep.add_runs();
    *r = forced_run();
    r->set_run(i + 1);
  }
  std::string big(size_t{200} << 20, 'x');
  big.replace(0, 5, "HEAD\n");
  big.replace(big.size() - 5, 5, "TAIL\n");
  rep.mutable_runs(0)->set_console(std::move(big));
  const std::string html = reproduce_page(rep, SourceTree{});
  EXPECT_LT(html.size(), size_t{3} << 20);
  EXPECT_NE(html.find("HEAD\n"), std::string::npos);
  EXPECT_NE(html.find("TAIL\n"), std::string::npos);
  EXPECT_NE(html.find(" bytes cut here: the page shows the first 65536 and the last 196608 bytes"), std::string::npos);
  EXPECT_NE(html.find("(209715200 bytes)"), std::string::npos);
  // The page's total budget: many large consoles still stay bounded.
  pb::ReproduceReport many;
  for (int i = 0; i < 40; ++i) many.add_runs()->set_console(std::string(size_t{2} << 20, 'c'));
  EXPECT_LT(reproduce_page(many, SourceTree{}).size(), kMaxPageConsoleBytes + (size_t{1} << 20));
}

TEST(Pages, ReproduceSaysTheTextReportsLineAndTheRunCount) {
  pb::ReproduceReport rep;
  rep.set_scenario("xfs-dax");
  rep.set_kernel_variant("buggy");
  *rep.add_runs() = forced_run();
  rep.set_reproduced(1);
  const std::string html = reproduce_page(rep, SourceTree{});
  EXPECT_NE(html.find("data-runs=\"1\">xfs-dax on buggy: 1/1 reproduced</p>"), std::string::npos);
  EXPECT_EQ(count(html, "<script"), 0u);
  for (const char* fetch : {"http", "//", "<link", " src=", "@import", "url("})
    EXPECT_EQ(html.find(fetch), std::string::npos) << fetch;
}

TEST(Pages, ValidateShowsControlAndPatchedSideBySide) {
  pb::ValidateReport v;
  v.set_base_variant("buggy");
  v.add_patches("fix<1>.patch");
  v.set_patched_variant("buggy+fix");
  pb::ScenarioValidation* s = v.add_scenarios();
  s->set_scenario("xfs-dax");
  s->set_result(pb::FIXED);
  s->set_reason("control reproduced 2/2; patched NOT_REPRODUCED 2/2");
  for (int i = 0; i < 2; ++i) {
    pb::RunReport* c = s->mutable_control()->add_runs();
    *c = forced_run();
    c->set_run(i + 1);
    pb::RunReport* p = s->mutable_patched()->add_runs();
    p->set_run(i + 1);
    p->set_verdict(pb::NOT_REPRODUCED);
    p->set_reason("every actor finished");
  }
  s->mutable_control()->set_kernel_variant("buggy");
  s->mutable_patched()->set_kernel_variant("buggy+fix");
  const std::string html = validate_page(v, SourceTree{}, SourceTree{});
  EXPECT_NE(html.find("<h1>validate fix&lt;1&gt;.patch on buggy</h1>"), std::string::npos);
  EXPECT_NE(html.find("data-result=\"FIXED\" data-runs=\"2\""), std::string::npos);
  EXPECT_NE(html.find("FIXED — control reproduced 2/2; patched NOT_REPRODUCED 2/2"), std::string::npos);
  // Row by row: control run 1, patched run 1, control run 2, patched run 2.
  const size_t c1 = html.find("<h3>control run 1</h3>"), p1 = html.find("<h3>patched run 1</h3>"),
               c2 = html.find("<h3>control run 2</h3>"), p2 = html.find("<h3>patched run 2</h3>");
  ASSERT_NE(p2, std::string::npos);
  EXPECT_LT(c1, p1);
  EXPECT_LT(p1, c2);
  EXPECT_LT(c2, p2);
  EXPECT_NE(html.find("class=\"sbs\""), std::string::npos);
}

TEST(Pages, AnExploringValidateShowsBothMapsWithTheirOwnIds) {
  pb::ValidateReport v;
  v.set_base_variant("buggy");
  pb::ScenarioValidation* s = v.add_scenarios();
  s->set_scenario("xfs-dax");
  s->set_result(pb::NOT_FIXED);
  for (pb::ExploreReport* map : {s->mutable_control_map(), s->mutable_patched_map()}) {
    pb::ExploredSchedule* e = map->add_schedules();
    e->set_held("faulter");
    e->set_runner("flipper");
    e->set_verdict(pb::REPRODUCED);
    e->mutable_point()->set_file("fs/xfs/xfs_file.c");
    e->mutable_point()->set_line(3);
    e->mutable_point()->set_visit(1);
    *e->mutable_run() = forced_run();
  }
  const std::string html = validate_page(v, SourceTree{}, SourceTree{});
  EXPECT_EQ(count(html, "id=\"m0-control-s-0\""), 1u);
  EXPECT_EQ(count(html, "id=\"m0-patched-s-0\""), 1u);
  EXPECT_NE(html.find("<div class=\"explore\" data-p=\"m0-control-\">"), std::string::npos);
  EXPECT_NE(html.find("id=\"m0-patched-hint\""), std::string::npos);
  EXPECT_EQ(count(html, "<script"), 1u) << "one script serves both maps";
}

TEST(JobPages, ListFiltersAndEscapes) {
  std::vector<pb::Job> jobs(3);
  jobs[0].set_id("j1");
  jobs[0].set_kind(pb::VALIDATE);
  jobs[0].set_state(pb::RUNNING);
  jobs[0].set_submitter("alice");
  jobs[1].set_id("j2");
  jobs[1].set_kind(pb::REPRODUCE);
  jobs[1].set_state(pb::SUCCEEDED);
  jobs[1].set_submitter("bob<script>");
  jobs[2].set_id("j3");
  jobs[2].set_kind(pb::VALIDATE);
  jobs[2].set_state(pb::SUCCEEDED);
  jobs[2].set_submitter("alice");
  std::string html = job_list_page(jobs, JobFilter{}, "admin (admin)");
  EXPECT_NE(html.find("<p class=\"count\">3 jobs</p>"), std::string::npos);
  EXPECT_EQ(html.find("bob<script>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"/jobs/j2\">j2</a>"), std::string::npos);
  html = job_list_page(jobs, JobFilter{"SUCCEEDED", "VALIDATE", "alice"}, "admin");
  EXPECT_NE(html.find("<p class=\"count\">1 job</p>"), std::string::npos);
  EXPECT_NE(html.find("/jobs/j3"), std::string::npos);
  EXPECT_EQ(html.find("/jobs/j1"), std::string::npos);
  EXPECT_NE(html.find("<option selected>SUCCEEDED</option>"), std::string::npos);
}

TEST(JobPages, ALiveJobRefreshesAndShowsItsRunsSoFar) {
  pb::Job job;
  job.set_id("j1");
  job.set_kind(pb::REPRODUCE);
  job.set_state(pb::RUNNING);
  std::vector<pb::JobEvent> events(2);
  events[0].mutable_note()->set_text("booting <x>");
  events[1].mutable_run_finished()->set_label("buggy");
  *events[1].mutable_run_finished()->mutable_report() = forced_run();
  std::string html = job_page(job, nullptr, events, {}, SourceTree{}, SourceTree{});
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"3\">"), std::string::npos);
  EXPECT_NE(html.find("<h2>Runs so far</h2>"), std::string::npos);
  EXPECT_NE(html.find("class=\"tl-lane\""), std::string::npos);
  EXPECT_NE(html.find("booting &lt;x&gt;"), std::string::npos);
  // Ended: no refresh, the report, artifact links with encoded names.
  job.set_state(pb::SUCCEEDED);
  *job.mutable_reproduce_report()->add_runs() = forced_run();
  html = job_page(job, nullptr, events, {"report.json", "runs/1/console"}, SourceTree{}, SourceTree{});
  EXPECT_EQ(html.find("http-equiv"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"/jobs/j1/artifacts/runs/1/console\" download>runs/1/console</a>"), std::string::npos);
  EXPECT_EQ(html.find("Runs so far"), std::string::npos);
}

TEST(JobPages, AnExploreJobShowsItsClickableMap) {
  pb::Job job;
  job.set_id("e1");
  job.set_kind(pb::EXPLORE);
  job.set_state(pb::SUCCEEDED);
  pb::ExploredSchedule* e = job.mutable_explore_report()->add_schedules();
  e->set_held("faulter");
  e->set_verdict(pb::REPRODUCED);
  e->mutable_point()->set_file("fs/xfs/xfs_file.c");
  e->mutable_point()->set_line(3);
  const std::string html = job_page(job, nullptr, {}, {}, SourceTree{}, SourceTree{});
  EXPECT_NE(html.find("<div class=\"explore\" data-p=\"\">"), std::string::npos);
  EXPECT_NE(html.find("data-s=\"0\" data-where=\"fs/xfs/xfs_file.c:3\""), std::string::npos);
  EXPECT_EQ(count(html, "<script>"), 1u);
}

}  // namespace
}  // namespace racerig::report
