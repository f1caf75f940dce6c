// --html and --source of reproduce and validate (see report_html.h).
#include "host/report_html.h"

#include "host/cli_util.h"
#include "rig/base/file.h"
#include "rig/jobs/job_env.h"
#include "rig/report/kernel_source.h"
#include "rig/report/pages.h"

namespace racerig::host {

void add_html_options(CLI::App& app, HtmlArgs& args) {
  app.add_option("--html", args.html,
                 "write the report as one self-contained HTML page (no network): verdicts, each run's schedule "
                 "as a timeline, the oops with its source, the consoles folded")
      ->type_name("FILE");
  app.add_option("--source", args.source,
                 "with --html: the kernel source tree the page shows source lines from (default: the kernel "
                 "cache's tree the kernel was built in, when it still has it)")
      ->type_name("DIR");
}

report::SourceTree html_source(const HtmlArgs& args, const std::string& variant) {
  if (!args.source.empty()) return report::SourceTree{args.source, "source from " + args.source + " (--source)"};
  return report::kernel_source(job_env().kernels_dir(), job_env().cache_root, variant);
}

Status write_reproduce_html(const HtmlArgs& args, const pb::ReproduceReport& report) {
  if (args.html.empty()) return Status::Ok();
  RACERIG_TRY(write_file_atomic(args.html, report::reproduce_page(report, html_source(args, report.kernel_variant()))));
  progress_line("wrote the report's page to " + args.html);
  return Status::Ok();
}

Status write_validate_html(const HtmlArgs& args, const pb::ValidateReport& report) {
  if (args.html.empty()) return Status::Ok();
  const report::SourceTree control = html_source(args, report.base_variant());
  report::SourceTree patched = control;
  if (!control.root.empty())
    patched.note = "source from the base kernel's tree " + control.root.string() +
                   " (a candidate's own tree is deleted after its build): lines the patches touch differ";
  RACERIG_TRY(write_file_atomic(args.html, report::validate_page(report, control, patched)));
  progress_line("wrote the report's page to " + args.html);
  return Status::Ok();
}

}  // namespace racerig::host
