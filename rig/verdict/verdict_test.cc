// The verdict rules: honest verdicts only.
#include "rig/verdict/verdict.h"

#include <gtest/gtest.h>

namespace racerig::verdict {
namespace {

pb::Expectation seed_expectation() {
  pb::Expectation e;
  e.add_oops()->set_function("iomap_page_mkwrite");
  e.set_guest_check_fails(true);
  return e;
}

// The seed's workload: two actors, two checks, all finished and passed.
pb::AgentEvent done_event(int actors_ok = 2, int checks_run = 2, int checks_failed = 0) {
  pb::AgentEvent done;
  done.set_kind(pb::AgentEvent::DONE);
  done.set_actors_started(2);
  done.set_actors_ok(actors_ok);
  for (const char* name : {"faulter", "flipper"}) {
    pb::ActorEnd* end = done.add_actor_ends();
    end->set_actor(name);
    end->set_ok(done.actor_ends_size() <= actors_ok);
    end->set_exit_code(end->ok() ? 0 : -1);
    end->set_signal(end->ok() ? 0 : 7);
  }
  done.set_check_ops(2);
  done.set_check_ops_run(checks_run);
  done.set_check_ops_failed(checks_failed);
  return done;
}

Evidence enforced_and_done() {
  Evidence ev;
  ev.schedule_ran = true;
  ev.schedule = schedule::Outcome::Kind::kEnforced;
  ev.agent_done = true;
  ev.actors_planned = 2;
  ev.checks_planned = 2;
  ev.agent.push_back(done_event());
  return ev;
}

pb::BlockedTask blocked(const std::string& actor, const std::string& where, const std::string& behind) {
  pb::BlockedTask b;
  b.set_actor(actor);
  b.set_wait("lock");
  b.set_where(where);
  b.add_behind(behind);
  return b;
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

// A QEMU killed under a run (issue 15: kill -9 of QEMU): an infrastructure
// error in the words of what happened, never SCHEDULE_NOT_REACHED.
TEST(VerdictTest, AKilledQemuIsAnInfraErrorThatSaysSo) {
  const std::string killed = "QEMU was killed by signal 9 (SIGKILL); its stderr is empty";
  Evidence ev = enforced_and_done();
  ev.agent_done = false;
  ev.schedule = schedule::Outcome::Kind::kNotReached;
  ev.schedule_reason = "the guest agent ended (" + killed + ") before faulter reached __xfs_filemap_fault";
  ev.vm_end = killed;
  ev.vm_failed = true;
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::INFRA_ERROR);
  EXPECT_NE(reason.find(killed), std::string::npos) << reason;
  EXPECT_EQ(reason.find(killed), reason.rfind(killed)) << "said once: " << reason;

  // The reason of an earlier infrastructure error gets the end appended.
  ev.infra_error = "waiting for the guest: gdbstub connection closed";
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::INFRA_ERROR);
  EXPECT_EQ(reason, "waiting for the guest: gdbstub connection closed; " + killed);

  // A matching oops seen before QEMU died still reproduces.
  ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report = null_deref_in("iomap_page_mkwrite");
  ev.vm_end = killed;
  ev.vm_failed = true;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
  EXPECT_EQ(reason.find("SIGKILL"), std::string::npos) << reason;
}

TEST(VerdictTest, AStallOrAnInfraErrorSaysHowQemuEndedWhenItIsGone) {
  Evidence ev = enforced_and_done();
  ev.agent_done = false;
  ev.finish_timed_out = true;
  ev.vm_end = "QEMU exited with status 0; its stderr is empty";  // a guest power-off is not a failure
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::STALLED);
  EXPECT_EQ(reason, "the guest did not finish its workload after the schedule; " + ev.vm_end);
  // Other verdicts are left alone.
  ev = enforced_and_done();
  ev.vm_end = "QEMU exited with status 0; its stderr is empty";
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::NOT_REPRODUCED);
  EXPECT_EQ(reason.find("QEMU exited"), std::string::npos) << reason;
}

// Rule 2: only actor and check-phase events count towards a reproduction.
TEST(VerdictTest, AFailedPrepareStepIsASetUpErrorThatNamesTheStepNotAReproduction) {
  Evidence ev = enforced_and_done();
  pb::AgentEvent prep;
  prep.set_kind(pb::AgentEvent::OP_FAILED);
  prep.set_actor("prepare");
  prep.set_op_index(4);
  prep.set_op("report_dax");
  prep.set_path("/mnt/foo");
  prep.set_check_failed(true);
  prep.set_message("expected DAX, got STATX_ATTR_DAX=0");
  ev.agent.push_back(prep);
  ev.agent_fatal = true;
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::INFRA_ERROR);
  EXPECT_NE(reason.find("set-up failed: prepare op 4 (report_dax /mnt/foo): expected DAX"), std::string::npos)
      << reason;
}

// Rule 4: a killed actor is never a pass.
TEST(VerdictTest, AnActorKilledByASignalIsNeverAPass) {
  Evidence ev = enforced_and_done();
  ev.agent.clear();
  pb::AgentEvent killed;
  killed.set_kind(pb::AgentEvent::ACTOR_DONE);
  killed.set_actor("faulter");
  killed.set_signal(7);
  killed.set_message("killed by signal 7 (Bus error)");
  ev.agent.push_back(killed);
  ev.agent.push_back(done_event(1));
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("faulter killed by SIGBUS"), std::string::npos) << reason;
  // With the scenario's data check failing (the write is lost), a reproduction.
  pb::AgentEvent check;
  check.set_kind(pb::AgentEvent::OP_FAILED);
  check.set_actor("check");
  check.set_op("pread");
  check.set_check_failed(true);
  ev.agent.push_back(check);
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
  EXPECT_NE(reason.find("faulter killed by SIGBUS"), std::string::npos) << reason;
}

TEST(VerdictTest, NotReproducedNeedsDonesCountsToAddUp) {
  std::string reason;
  for (const pb::AgentEvent& done : {done_event(1), done_event(2, 1), done_event(2, 2, 1)}) {
    Evidence ev = enforced_and_done();
    ev.agent = {done};
    EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::INFRA_ERROR) << done.ShortDebugString();
    EXPECT_NE(reason.find("the workload did not finish"), std::string::npos) << reason;
  }
  Evidence no_done = enforced_and_done();
  no_done.agent.clear();
  EXPECT_EQ(decide(seed_expectation(), no_done, &reason), pb::INFRA_ERROR);
  EXPECT_NE(reason.find("never said DONE"), std::string::npos) << reason;
}

TEST(VerdictTest, AnUnparsableAgentLineIsAnInfrastructureErrorThatQuotesIt) {
  Evidence ev = enforced_and_done();
  ev.unparsable = {"an agent line that is not an AgentEvent: \"@racerig kind: NOT_A_KIND\""};
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::INFRA_ERROR);
  EXPECT_NE(reason.find("@racerig kind: NOT_A_KIND"), std::string::npos) << reason;
}

// Rule 5: one rule for kernel reports.
TEST(VerdictTest, AnUnmatchedCrashIsOtherOopsWhateverTheScheduleReached) {
  Evidence ev = enforced_and_done();
  ev.schedule = schedule::Outcome::Kind::kGuestCrashed;
  ev.schedule_reason = "the kernel reported \"BUG: ...\" before flipper reached xfs_fileattr_set";
  ev.oops = true;
  ev.oops_report = null_deref_in("xfs_something");
  ev.oops_report.clear_trace();
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("xfs_something"), std::string::npos) << reason;
  ev.schedule = schedule::Outcome::Kind::kNotReached;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
}

TEST(VerdictTest, APanicIsJudgedByItsReportLikeAnyOther) {
  // A panic ends QEMU: the engine says the VM exited, the console has the report.
  Evidence ev = enforced_and_done();
  ev.schedule = schedule::Outcome::Kind::kError;
  ev.schedule_reason = "the VM exited while waiting for flipper";
  ev.agent_done = false;
  ev.oops = true;
  ev.oops_report = null_deref_in("iomap_page_mkwrite");
  ev.oops_report.set_headline("Kernel panic - not syncing: Fatal exception");
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
  ev.oops_report = null_deref_in("xfs_other");
  ev.oops_report.clear_trace();
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
}

TEST(VerdictTest, AnUnexpectedWarningDoesNotEndTheScheduleACrashOrAnExpectedWarningDoes) {
  pb::Oops warn;
  warn.set_kind("WARNING");
  warn.set_headline("WARNING: CPU: 1 PID: 42 at fs/dax.c:923 dax_writeback_mapping_range+0xbe/0x39d");
  warn.mutable_rip()->set_function("dax_writeback_mapping_range");
  EXPECT_FALSE(ends_schedule(seed_expectation(), warn));
  EXPECT_TRUE(ends_schedule(seed_expectation(), null_deref_in("read_pages")));
  EXPECT_TRUE(ends_schedule(seed_expectation(), null_deref_in("iomap_page_mkwrite")));
  pb::Expectation warn_expected;
  warn_expected.add_oops()->set_kind("WARNING");
  EXPECT_TRUE(ends_schedule(warn_expected, warn));
}

TEST(VerdictTest, AWarningTheScenarioExpectsIsAReproduction) {
  pb::Expectation warn_expected;
  auto* w = warn_expected.add_oops();
  w->set_kind("WARNING");
  w->set_function("dax_writeback_mapping_range");
  Evidence ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report.set_kind("WARNING");
  ev.oops_report.set_headline("WARNING: CPU: 1 PID: 42 at fs/dax.c:923 dax_writeback_mapping_range+0xbe/0x39d");
  ev.oops_report.mutable_rip()->set_function("dax_writeback_mapping_range");
  std::string reason;
  EXPECT_EQ(decide(warn_expected, ev, &reason), pb::REPRODUCED);
  // Not expected: still a kernel report, never a pass.
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
}

// A refcount_t warning as the console parser keeps it (rig/crash's tests
// feed the real format): the message first, then the WARNING line.
pb::Oops refcount_underflow() {
  pb::Oops o;
  o.set_kind("WARNING");
  o.set_message("refcount_t: underflow; use-after-free.");
  o.set_headline("WARNING: CPU: 1 PID: 73 at lib/refcount.c:28 refcount_warn_saturate+0x9e/0xe7");
  o.set_text(o.message() + "\n" + o.headline() + "\n");
  o.mutable_rip()->set_function("refcount_warn_saturate");
  o.mutable_rip()->set_text("refcount_warn_saturate+0x9e/0xe7");
  o.add_trace()->set_function("put_pid");
  return o;
}

TEST(VerdictTest, ARefcountUnderflowTheScenarioExpectsIsAReproductionNamedByItsMessage) {
  pb::Expectation expect;
  auto* w = expect.add_oops();
  w->set_kind("WARNING");
  w->set_message_contains("refcount_t: underflow");
  Evidence ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report = refcount_underflow();
  EXPECT_TRUE(ends_schedule(expect, ev.oops_report));
  std::string reason;
  EXPECT_EQ(decide(expect, ev, &reason), pb::REPRODUCED);
  EXPECT_EQ(reason.rfind("refcount_t: underflow; use-after-free. (WARNING: CPU: 1 PID: 73 at lib/refcount.c:28", 0), 0u)
      << reason;
  // Another member of the family is not the expected one.
  ev.oops_report.set_message("refcount_t: saturated; leaking memory.");
  ev.oops_report.set_text(ev.oops_report.message() + "\n" + ev.oops_report.headline() + "\n");
  EXPECT_FALSE(ends_schedule(expect, ev.oops_report));
  EXPECT_EQ(decide(expect, ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("\"refcount_t: saturated; leaking memory. (WARNING"), std::string::npos) << reason;
}

TEST(VerdictTest, AnUnexpectedRefcountWarningIsOtherOopsEvenWhenEverythingElsePassed) {
  // The run goes on after it (it does not end the schedule) and every actor
  // and check finished: still never a pass.
  Evidence ev = enforced_and_done();
  ev.oops = true;
  ev.oops_report = refcount_underflow();
  EXPECT_FALSE(ends_schedule(seed_expectation(), ev.oops_report));
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::OTHER_OOPS);
  EXPECT_NE(reason.find("refcount_t: underflow; use-after-free."), std::string::npos) << reason;
  EXPECT_NE(reason.find("which the scenario does not expect"), std::string::npos) << reason;
}

TEST(VerdictTest, ACheckProgramThatExitsOtherThanExpectedIsTheFailedCheckAScenarioCanExpect) {
  // What the agent says for check { exec { program: "dirtycow" ... } }
  // exiting 1 (guest/agent/exec.h): a failed check.
  pb::AgentEvent check;
  check.set_kind(pb::AgentEvent::OP_FAILED);
  check.set_actor("check");
  check.set_op("exec");
  check.set_program("dirtycow");
  check.set_exit_code(1);
  check.set_check_failed(true);
  check.set_message("program dirtycow exited with 1 (expected 0)");
  Evidence ev = enforced_and_done();
  ev.agent.insert(ev.agent.begin(), check);
  pb::Expectation expect;
  expect.set_guest_check_fails(true);
  std::string reason;
  EXPECT_EQ(decide(expect, ev, &reason), pb::REPRODUCED);
  EXPECT_NE(reason.find("program dirtycow exited with 1 (expected 0)"), std::string::npos) << reason;
  // Not expected: a failed check is no pass either.
  EXPECT_NE(decide(pb::Expectation(), ev, &reason), pb::NOT_REPRODUCED);
  // A check program killed by a signal is a failed op, not the symptom.
  ev.agent.front().set_check_failed(false);
  ev.agent.front().set_message("program dirtycow killed by SIGSEGV (11)");
  EXPECT_EQ(decide(expect, ev, &reason), pb::INFRA_ERROR);
}

// Serialization and deadlock.
TEST(VerdictTest, ASerializedRunWhoseActorsFinishIsNotReproducedAndSaysSerialized) {
  Evidence ev = enforced_and_done();
  ev.schedule = schedule::Outcome::Kind::kSerialized;
  ev.serialized = true;
  ev.schedule_reason =
      "serialized: flipper blocked at rwsem_down_write_slowpath ← xfs_ilock ← xfs_fileattr_set while "
      "faulter held at __xfs_filemap_fault (vCPU 0)";
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::NOT_REPRODUCED);
  EXPECT_EQ(reason.rfind("serialized: flipper blocked at rwsem_down_write_slowpath", 0), 0u) << reason;
  // Serialized, but a check failed: the expectation happened anyway.
  pb::AgentEvent check;
  check.set_kind(pb::AgentEvent::OP_FAILED);
  check.set_actor("check");
  check.set_check_failed(true);
  ev.agent.push_back(check);
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::REPRODUCED);
}

TEST(VerdictTest, ActorsThatCannotFinishAfterTheReleaseAreADeadlockWithBothStacks) {
  Evidence ev = enforced_and_done();
  ev.schedule = schedule::Outcome::Kind::kSerialized;
  ev.serialized = true;
  ev.agent.clear();
  ev.agent_done = false;
  ev.deadlock = {blocked("faulter", "rwsem_down_read_slowpath ← xfs_ilock ← __xfs_filemap_fault",
                         "flipper asleep at rwsem_down_write_slowpath"),
                 blocked("flipper", "rwsem_down_write_slowpath ← xfs_ilock ← xfs_fileattr_set",
                         "faulter asleep at rwsem_down_read_slowpath")};
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::DEADLOCK);
  EXPECT_NE(reason.find("faulter asleep at rwsem_down_read_slowpath ← xfs_ilock ← __xfs_filemap_fault"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("flipper asleep at rwsem_down_write_slowpath ← xfs_ilock ← xfs_fileattr_set"),
            std::string::npos)
      << reason;
}

TEST(VerdictTest, AnIpiWaitIsStalledNotSerialized) {
  Evidence ev = enforced_and_done();
  ev.schedule = schedule::Outcome::Kind::kStalled;
  ev.schedule_reason = "flipper cannot go on: it waits for another CPU (IPI or stop_machine) at csd_lock_wait";
  std::string reason;
  EXPECT_EQ(decide(seed_expectation(), ev, &reason), pb::STALLED);
  EXPECT_NE(reason.find("csd_lock_wait"), std::string::npos);
}

}  // namespace
}  // namespace racerig::verdict
