// The report pages of reproduce and validate (see pages.h).
#include "rig/report/pages.h"

#include <algorithm>

#include "rig/report/explore_page.h"
#include "rig/report/run_section.h"
#include "rig/run/render.h"
#include "rig/verdict/validate.h"
#include "rig/verdict/verdict.h"

namespace racerig::report {

namespace {

const char* result_class(pb::ValidationResult r) {
  switch (r) {
    case pb::FIXED:
      return "v-good";
    case pb::NOT_FIXED:
    case pb::ERROR:
      return "v-bad";
    default:
      return "v-grey";
  }
}

std::string versions(const std::string& racerig, const std::string& qemu) {
  if (racerig.empty() && qemu.empty()) return {};
  return "<p class=\"note\">" + html_escape("racerig " + racerig + (qemu.empty() ? "" : "; " + qemu)) + "</p>\n";
}

}  // namespace

std::string report_style() {
  return explore_style() +
         ".sbs{display:grid;grid-template-columns:1fr 1fr;gap:.8em;align-items:start}\n"
         ".sbs>.col-head{font-weight:bold;border-bottom:2px solid #ccc}\n"
         ".sbs .run{margin:0;min-width:0}\n";
}

std::string reproduce_body(const pb::ReproduceReport& r, const SourceTree& source, ConsoleBudget& budget,
                           const std::string& console_where) {
  std::string out = "<h1>" + html_escape("reproduce " + r.scenario() + " on " + r.kernel_variant()) + "</h1>\n";
  if (!r.error().empty()) out += "<p class=\"err\">error: " + html_escape(r.error()) + "</p>\n";
  out += std::string("<p class=\"verdict summary ") + (r.reproduced() > 0 ? "v-bad" : "v-grey") + "\" data-runs=\"" +
         std::to_string(r.runs_size()) + "\">" + html_escape(run::reproduce_line(r)) + "</p>\n";
  if (r.runs_size() > 0) out += "<p>" + html_escape(verdict::count_text(r)) + "</p>\n";
  if (!r.kernel_build_id().empty()) out += "<p>kernel build " + html_escape(r.kernel_build_id()) + "</p>\n";
  out += versions(r.racerig_version(), r.qemu_version());
  RunSectionOptions options;
  options.console_where = console_where;
  for (const pb::RunReport& run : r.runs()) out += run_section(run, source, budget, options);
  return out;
}

std::string reproduce_page(const pb::ReproduceReport& r, const SourceTree& source) {
  ConsoleBudget budget;
  return page_begin("reproduce " + r.scenario() + " on " + r.kernel_variant(), report_style()) +
         reproduce_body(r, source, budget) + page_end();
}

std::string validate_body(const pb::ValidateReport& r, const SourceTree& control, const SourceTree& patched,
                          ConsoleBudget& budget, const std::string& console_where) {
  std::string patches;
  for (const auto& p : r.patches()) patches += (patches.empty() ? "" : ", ") + p;
  std::string out = "<h1>" + html_escape("validate " + patches + " on " + r.base_variant()) + "</h1>\n";
  if (!r.error().empty()) out += "<p class=\"err\">validate: ERROR: " + html_escape(r.error()) + "</p>\n";
  if (!r.patched_variant().empty())
    out += "<p>patched kernel " + html_escape(r.patched_variant()) +
           (r.patched_build_id().empty() ? "" : " (build " + html_escape(r.patched_build_id()) + ")") + "</p>\n";
  out += versions(r.racerig_version(), r.qemu_version());
  if (r.scenarios_size() > 0)
    out += "<details><summary>the text report's table</summary>\n<pre>" + html_escape(verdict::validation_table(r)) +
           "</pre>\n</details>\n";
  RunSectionOptions options;
  options.console_where = console_where;
  int scenario_index = 0;
  for (const pb::ScenarioValidation& s : r.scenarios()) {
    const int runs = std::max(s.control().runs_size(), s.patched().runs_size());
    out += "<section class=\"scenario\" data-scenario=\"" + html_escape(s.scenario()) + "\" data-result=\"" +
           html_escape(verdict::result_name(s.result())) + "\" data-runs=\"" + std::to_string(runs) + "\">\n";
    out += "<h2>" + html_escape(s.scenario()) + "</h2>\n";
    out += std::string("<p class=\"verdict ") + result_class(s.result()) + "\">" +
           html_escape(std::string(verdict::result_name(s.result())) + " — " + s.reason()) + "</p>\n";
    out += "<p>control " + html_escape(s.control().kernel_variant() + ": " + verdict::count_text(s.control())) +
           "; patched " + html_escape(s.patched().kernel_variant() + ": " + verdict::count_text(s.patched())) +
           "</p>\n";
    out += "<div class=\"sbs\">\n<div class=\"col-head\">" + html_escape("control: " + s.control().kernel_variant()) +
           "</div><div class=\"col-head\">" + html_escape("patched: " + s.patched().kernel_variant()) + "</div>\n";
    for (int i = 0; i < runs; ++i) {
      RunSectionOptions c = options, p = options;
      c.label = "control run " + std::to_string(i + 1);
      p.label = "patched run " + std::to_string(i + 1);
      out += i < s.control().runs_size() ? run_section(s.control().runs(i), control, budget, c)
                                         : "<div class=\"note\">no control run " + std::to_string(i + 1) + "</div>\n";
      out += i < s.patched().runs_size() ? run_section(s.patched().runs(i), patched, budget, p)
                                         : "<div class=\"note\">no patched run " + std::to_string(i + 1) + "</div>\n";
    }
    out += "</div>\n";
    // The explored maps, one after the other (each has its panel).
    const std::string id = "m" + std::to_string(scenario_index++) + "-";
    if (s.has_control_map())
      out += "<h3>" + html_escape("the control's map (" + s.control().kernel_variant() + ")") + "</h3>\n" +
             explore_body(s.control_map(), control.root, id + "control-");
    if (s.has_patched_map())
      out += "<h3>" + html_escape("the patched kernel's map (" + s.patched().kernel_variant() + ")") + "</h3>\n" +
             explore_body(s.patched_map(), patched.root, id + "patched-");
    out += "</section>\n";
  }
  return out;
}

std::string validate_page(const pb::ValidateReport& r, const SourceTree& control, const SourceTree& patched) {
  ConsoleBudget budget;
  std::string patches;
  for (const auto& p : r.patches()) patches += (patches.empty() ? "" : ", ") + p;
  return page_begin("validate " + patches + " on " + r.base_variant(), report_style()) +
         validate_body(r, control, patched, budget) + page_end(explore_script());
}

}  // namespace racerig::report
