// Test-only: a sample ReproduceReport for the verdict, validate and JUnit
// tests (one copy instead of one per test file).
#pragma once

#include <initializer_list>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/verdict/verdict.h"

namespace racerig::verdict::testing {

// A report of `variant` with one run per verdict, numbered from 1: each
// "because <VERDICT>", its schedule enforced, 1.5 s in the "schedule" phase;
// a REPRODUCED run carries the seed's NULL-dereference oops.
inline pb::ReproduceReport runs(const std::string& variant, std::initializer_list<pb::Verdict> verdicts) {
  pb::ReproduceReport r;
  r.set_kernel_variant(variant);
  int i = 0;
  for (pb::Verdict v : verdicts) {
    pb::RunReport* run = r.add_runs();
    run->set_run(++i);
    run->set_verdict(v);
    run->set_reason(std::string("because ") + verdict_name(v));
    run->set_schedule_enforced(true);
    pb::PhaseTiming* t = run->add_timings();
    t->set_phase("schedule");
    t->set_ms(1500);
    if (v == pb::REPRODUCED) {
      run->mutable_oops()->set_headline("BUG: kernel NULL pointer dereference, address: 0000000000000008");
      run->mutable_oops()->mutable_rip()->set_text("iomap_page_mkwrite+0x48/0x1e0");
    }
  }
  return r;
}

}  // namespace racerig::verdict::testing
