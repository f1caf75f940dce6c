// One run of a report as HTML: its verdict and reason (the text report's
// own line), the schedule as a timeline, the decoded oops with each frame's
// file:line and the source around the faulting line, the run as text and
// its console, folded and bounded.
#pragma once

#include <string>

#include "proto/racerig.pb.h"
#include "rig/report/html.h"
#include "rig/report/source.h"

namespace racerig::report {

// Lines of source shown before and after an oops's faulting line.
inline constexpr int kOopsContext = 6;

struct RunSectionOptions {
  // Where the run's whole console is, said where the page cuts it (an
  // artifact's name, a kept log's path); empty: not said.
  std::string console_where;
  // The heading's prefix ("control", "patched"); empty: none.
  std::string label;
};

// The run's <section class="run"> (data-run, data-verdict). The source
// lines come from `source` (its note is shown when there are none, or
// when they may differ from the kernel); the console takes what `budget`
// allows. Every report text is escaped.
std::string run_section(const pb::RunReport& run, const SourceTree& source, ConsoleBudget& budget,
                        const RunSectionOptions& options = {});

// The decoded oops alone: headline, the faulting frame with the source
// around its line, and the call trace (file:line and that line's source).
std::string oops_block(const pb::Oops& oops, const SourceTree& source);

// The verdict's colour class: v-bad (the kernel failed), v-good
// (NOT_REPRODUCED), v-grey (the rest).
const char* verdict_class(pb::Verdict verdict);

// The CSS run_section's HTML needs (the timeline's included).
std::string run_style();

}  // namespace racerig::report
