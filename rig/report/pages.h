// The report pages of `racerig reproduce|validate --html` and of racerigd's
// job pages: one self-contained HTML document each (inline style, no
// script fetches, no external font), every report text escaped, consoles
// folded and bounded (html.h). The explore page is explore_page.h.
#pragma once

#include <string>

#include "proto/racerig.pb.h"
#include "rig/report/html.h"
#include "rig/report/source.h"

namespace racerig::report {

// `racerig reproduce --html`: "SCENARIO on KERNEL: a/b reproduced" (the
// text report's line), the error if the job failed, then each run
// (run_section.h) with the source of `source`.
// `console_where` says where a cut console is in full (run_section.h).
std::string reproduce_body(const pb::ReproduceReport& report, const SourceTree& source, ConsoleBudget& budget,
                           const std::string& console_where = {});
std::string reproduce_page(const pb::ReproduceReport& report, const SourceTree& source);

// `racerig validate --html`: the patches and the patched kernel, the
// text report's table, then per scenario its result and reason and its
// runs side by side (control | patched, run by run) and, when it explored,
// both maps as text. `control` is the base kernel's source; the patched
// kernel's tree is a throw-away copy, so its runs show `patched`'s note.
std::string validate_body(const pb::ValidateReport& report, const SourceTree& control, const SourceTree& patched,
                          ConsoleBudget& budget, const std::string& console_where = {});
std::string validate_page(const pb::ValidateReport& report, const SourceTree& control, const SourceTree& patched);

// The CSS the bodies need (page_begin's extra style).
std::string report_style();

}  // namespace racerig::report
