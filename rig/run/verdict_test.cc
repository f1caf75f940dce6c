// The verdict rules: honest verdicts only.
#include <gtest/gtest.h>

#include "rig/run/verdict.h"

namespace racerig::run {
namespace {

pb::Expectation seed_expectation() {
  pb::Expectation e;
  e.add_oops()->set_function("iomap_page_mkwrite");
  e.set_guest_check_fails(true);
  return e;
}

Evidence enforced_and_done() {
  Evidence ev;
  ev.schedule_ran = true;
  ev.schedule = schedule::Outcome::Kind::kEnforced;
  ev.agent_done = true;
  return ev;
}

pb::Oops null_deref_in(const std::string& fn) {
  pb::Oops o;
  o.set_kind("BUG");
  o.set_headline("BUG: kernel NULL pointer dereference, address: 0000000000000008");
  o.mutable_rip()->set_function(fn);
  o.mutable_rip()->set_text(fn + "+0x48/0x1e0");
  o.add_trace()->set_function("__xfs_filemap_fault");
  return o;
}

TEST(VerdictTest, AMatchingOopsIsReproduced) {
  Evidence ev = enforced_and_done();
  ev.agent_done = false;
  ev.oops = true;
  ev.oops_report = null_deref_in("iomap_page_mkwrite");
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
  EXPECT_NE(reason.find("iomap_page_mkwrite+0x48"), std::string::npos);
}

TEST(VerdictTest, TheFunctionMayBeInTheTrace) {
  pb::Expectation e;
  e.add_oops()->set_function("__xfs_filemap_fault");
  Evidence ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report = null_deref_in("iomap_page_mkwrite");
  std::string reason;
  EXPECT_EQ(decide(e, ev, &reason), pb::REPRODUCED);
}

TEST(VerdictTest, NotReproducedNeedsTheWholeScheduleAndAFinishedGuest) {
  std::string reason;
  Evidence ev = enforced_and_done();
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::NOT_REPRODUCED);

  ev.schedule = schedule::Outcome::Kind::kNotReached;
  ev.schedule_reason = "faulter finished its operations without reaching __xfs_filemap_fault";
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::SCHEDULE_NOT_REACHED);
  EXPECT_EQ(reason, ev.schedule_reason);

  ev = enforced_and_done();
  ev.agent_done = false;
  ev.finish_timed_out = true;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::STALLED);

  ev = enforced_and_done();
  ev.schedule = schedule::Outcome::Kind::kStalled;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::STALLED);
}

// A stress run has no schedule: its reasons never claim one was enforced.
TEST(VerdictTest, AnUnforcedRunSaysSo) {
  std::string reason;
  Evidence ev = enforced_and_done();
  ev.unforced = true;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::NOT_REPRODUCED);
  EXPECT_EQ(reason.find("schedule enforced"), std::string::npos) << reason;
  EXPECT_NE(reason.find("unforced"), std::string::npos) << reason;
  ev.oops = true;
  ev.oops_report = null_deref_in("iomap_page_mkwrite");
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
  EXPECT_EQ(reason.find("schedule enforced"), std::string::npos) << reason;
}

// Measured under stress on the live-switch kernel: two WARNINGs in
// dax_writeback_mapping_range, then the crash in read_pages that ended the
// run. The verdict is about the crash, and a matching report wins over both.
TEST(VerdictTest, TheReportThatCountsIsTheMatchOrTheCrashNotAnEarlierWarning) {
  pb::Oops warn;
  warn.set_kind("WARNING");
  warn.set_headline("WARNING: CPU: 1 PID: 42 at fs/dax.c:923 dax_writeback_mapping_range+0xbe/0x39d");
  pb::Oops crash = null_deref_in("read_pages");
  EXPECT_EQ(verdict_report(seed_expectation(), {}), std::nullopt);
  EXPECT_EQ(verdict_report(seed_expectation(), {warn}), 0u);
  EXPECT_EQ(verdict_report(seed_expectation(), {warn, warn, crash}), 2u);
  pb::Oops match = null_deref_in("iomap_page_mkwrite");
  EXPECT_EQ(verdict_report(seed_expectation(), {warn, crash, match}), 2u);
}

TEST(VerdictTest, AnUnexpectedOopsIsNeverAPass) {
  Evidence ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report = null_deref_in("something_else");
  ev.oops_report.clear_trace();
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("something_else"), std::string::npos) << reason;
}

TEST(VerdictTest, ARipWithoutASymbolNamesTheCaller) {
  Evidence ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report.set_kind("BUG");
  ev.oops_report.set_headline("BUG: kernel NULL pointer dereference, address: 0000000000000000");
  ev.oops_report.mutable_rip()->set_text("0x0");
  pb::Frame* maybe = ev.oops_report.add_trace();
  maybe->set_text("? filemap_get_pages+0x1/0x2");
  maybe->set_function("filemap_get_pages");
  maybe->set_uncertain(true);
  pb::Frame* caller = ev.oops_report.add_trace();
  caller->set_text("read_pages+0xd7/0xe4");
  caller->set_function("read_pages");
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("at 0x0 called from read_pages+0xd7/0xe4,"), std::string::npos) << reason;

  ev.oops_report.clear_trace();
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("at 0x0,"), std::string::npos) << reason;
}

TEST(VerdictTest, AFailedCheckCountsOnlyWhenTheScenarioSaysSo) {
  Evidence ev = enforced_and_done();
  pb::AgentEvent bad;
  bad.set_kind(pb::AgentEvent::OP_FAILED);
  bad.set_check_failed(true);
  bad.set_op("pread");
  bad.set_path("/mnt/foo");
  ev.agent.push_back(bad);
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
  pb::Expectation oops_only;
  oops_only.add_oops()->set_function("iomap_page_mkwrite");
  EXPECT_NE(decide(oops_only, ev, &reason), pb::NOT_REPRODUCED);
}

TEST(VerdictTest, AFailedOperationIsNotAPass) {
  Evidence ev = enforced_and_done();
  pb::AgentEvent bad;
  bad.set_kind(pb::AgentEvent::OP_FAILED);
  bad.set_actor("faulter");
  bad.set_op("mmap_write");
  bad.set_message("killed by SIGBUS");
  ev.agent.push_back(bad);
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::INFRA_ERROR);
  EXPECT_NE(reason.find("SIGBUS"), std::string::npos);
}

TEST(VerdictTest, AGuestWhoseActorsHangIsStalledNotAPass) {
  // As seen on the live-switch kernel under fsx: both actors in D state.
  Evidence ev = enforced_and_done();
  ev.agent_done = false;
  ev.agent_fatal = true;
  pb::AgentEvent stuck;
  stuck.set_kind(pb::AgentEvent::STUCK);
  stuck.set_actor("fsx");
  stuck.set_message("still running: fsx (pid 45, cpu 0, state D, wchan page_cache_ra_unbounded)");
  ev.agent.push_back(stuck);
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::STALLED);
  EXPECT_NE(reason.find("page_cache_ra_unbounded"), std::string::npos) << reason;
}

}  // namespace
}  // namespace racerig::run
