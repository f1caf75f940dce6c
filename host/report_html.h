// --html FILE and --source DIR of reproduce, validate (and explore's
// source default): the page written from the job's report with
// rig/report, and the kernel source tree it reads.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "proto/racerig.pb.h"
#include "rig/base/result.h"
#include "rig/report/source.h"

namespace racerig::host {

struct HtmlArgs {
  std::string html;    // the page's file; empty: none
  std::string source;  // the kernel tree to read; empty: the cache's
};

// Adds --html and --source to `app`.
void add_html_options(CLI::App& app, HtmlArgs& args);

// The tree a page of `variant` reads: --source when given, else the kernel
// cache's tree it was built in (report::kernel_source).
report::SourceTree html_source(const HtmlArgs& args, const std::string& variant);

// Writes the reproduce page to args.html (nothing without --html) and says
// where on stderr; kIo when it cannot be written.
Status write_reproduce_html(const HtmlArgs& args, const pb::ReproduceReport& report);
// Writes the validate page: the base's tree for the control runs, and (a
// candidate's own tree is deleted after its build) the same for the
// patched runs, with a note that lines the patches touch differ.
Status write_validate_html(const HtmlArgs& args, const pb::ValidateReport& report);

}  // namespace racerig::host
