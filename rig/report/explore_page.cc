// The explore map as one self-contained HTML page (see explore_page.h).
#include "rig/report/explore_page.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rig/explore/map.h"
#include "rig/report/run_section.h"
#include "rig/report/source.h"
#include "rig/report/timeline.h"

namespace racerig::report {

namespace {

namespace fs = std::filesystem;
using explore::direction_name;
using explore::duration_text;
using explore::outcome_name;
using explore::point_key;
using explore::render_map;
using explore::schedule_points;
using explore::Severity;
using explore::severity;
using explore::step_text;
using explore::summary_line;

// Lines of context shown around a point's line; ranges fewer than this
// many lines apart are merged (the lines between shown), so that a
// function's points show as one stretch of its source.
constexpr int kContext = 3;
constexpr int kMergeGap = 20;
const char* severity_class(Severity s) {
  switch (s) {
    case Severity::kReproduced:
      return "c-repro";
    case Severity::kFailed:
      return "c-failed";
    case Severity::kSerialized:
      return "c-serial";
    case Severity::kPassed:
      return "c-passed";
    case Severity::kInconclusive:
      break;
  }
  return "c-grey";
}

// What was held on one source line: the schedules (by position in the
// report) and the traced points no schedule held.
struct LineMarks {
  std::vector<int> schedules;
  std::vector<const pb::ExplorePoint*> unexplored;
};

struct FileMarks {
  std::string file;
  std::set<std::string> functions;
  std::map<int, LineMarks> lines;  // by source line
};

// The files of the traced and scheduled points, in the order they first
// appear (the trace first), with what was held on each line.
std::vector<FileMarks> collect_marks(const pb::ExploreReport& report) {
  std::vector<FileMarks> files;
  std::map<std::string, size_t> by_name;
  auto file_of = [&](const pb::ExplorePoint& p) -> FileMarks& {
    auto [it, inserted] = by_name.emplace(p.file(), files.size());
    if (inserted) files.push_back(FileMarks{p.file(), {}, {}});
    FileMarks& f = files[it->second];
    if (!p.function().empty()) f.functions.insert(p.function());
    return f;
  };
  for (const pb::ExplorePoint& t : report.trace()) file_of(t);
  for (int i = 0; i < report.schedules_size(); ++i) {
    const pb::ExploredSchedule& s = report.schedules(i);
    file_of(s.point()).lines[static_cast<int>(s.point().line())].schedules.push_back(i);
  }
  std::set<std::string> held;
  for (const pb::ExploredSchedule& s : report.schedules()) held.insert(point_key(s.held(), s.point()));
  for (const pb::ExplorePoint& t : report.trace())
    if (!held.count(point_key(t.actor(), t))) file_of(t).lines[static_cast<int>(t.line())].unexplored.push_back(&t);
  return files;
}

// The label of a schedule beside its line: "faulter #1: REPRODUCED".
std::string chip_label(const pb::ExploredSchedule& s) {
  return s.held() + " #" + std::to_string(s.point().visit()) + ": " + outcome_name(s);
}

class Page {
 public:
  Page(const pb::ExploreReport& report, fs::path root, std::string prefix)
      : report_(report), root_(std::move(root)), prefix_(std::move(prefix)) {}

  std::string body() {
    out_ += "<div class=\"explore\" data-p=\"" + html_escape(prefix_) + "\">\n<main>\n";
    summary();
    reproducing();
    for (const FileMarks& f : collect_marks(report_)) source_file(f);
    if (truncated_lines_ > 0)
      out_ += "<p class=\"note\">" + std::to_string(truncated_lines_) +
              " source lines around points are not shown: the page shows at most " +
              std::to_string(kMaxHtmlSourceLines) + " lines of source.</p>\n";
    out_ += "<details><summary>The map as text</summary>\n<pre>" + html_escape(render_map(report_)) +
            "</pre>\n</details>\n</main>\n";
    panel();
    out_ += "</div>\n";
    return std::move(out_);
  }

  static constexpr std::string_view kStyle =
      ".explore{display:flex;align-items:flex-start}\n"
      "main{flex:1;min-width:0;padding:0 1em 2em 1em}\n"
      "aside{width:38%;position:sticky;top:0;max-height:100vh;overflow:auto;box-sizing:border-box;"
      "padding:0 1em;border-left:1px solid #ccc;background:#fafafa}\n"
      "table.totals td{padding:0 .8em 0 0}\n"
      ".src{font-family:monospace;font-size:13px;border:1px solid #ddd}\n"
      ".l{display:flex;white-space:pre;tab-size:8}\n.l[data-s]{cursor:pointer}\n"
      ".l.sel{outline:2px solid #333}\n"
      ".n{width:5em;flex:none;text-align:right;padding-right:1em;color:#777;user-select:none}\n"
      ".t{flex:1;overflow:hidden}\n.p{flex:none;white-space:nowrap}\n"
      ".gap{color:#999;padding-left:5em}\n"
      ".chip{font-family:sans-serif;font-size:11px;border-radius:3px;padding:0 4px;margin-left:4px;color:#fff}\n"
      ".l.c-repro{background:#f6c6c6}.chip.c-repro,.sw.c-repro{background:#c62828}\n"
      ".l.c-failed{background:#fbdcb0}.chip.c-failed,.sw.c-failed{background:#e67e00}\n"
      ".l.c-serial{background:#cfd9e6}.chip.c-serial,.sw.c-serial{background:#5c7a99}\n"
      ".l.c-passed{background:#cdeccd}.chip.c-passed,.sw.c-passed{background:#2e7d32}\n"
      ".l.c-grey{background:#e4e4e4}.chip.c-grey,.sw.c-grey{background:#8a8a8a}\n"
      ".sw{display:inline-block;width:.9em;height:.9em;margin-right:.4em;vertical-align:middle}\n"
      ".sched{border-left:4px solid #8a8a8a;padding:.2em .6em;margin:.6em 0;background:#fff}\n"
      ".sched.c-repro{border-color:#c62828}.sched.c-failed{border-color:#e67e00}"
      ".sched.c-serial{border-color:#5c7a99}.sched.c-passed{border-color:#2e7d32}\n"
      ".sched pre{white-space:pre-wrap;margin:.3em 0}\n"
      ".js aside .sched{display:none}\n.js aside .sched.on{display:block}\n";

  static constexpr std::string_view kScript =
      "document.body.classList.add('js');\n"
      "function showLine(row){\n"
      "  var map=row.closest('.explore'),p=map.getAttribute('data-p');\n"
      "  var ids=row.getAttribute('data-s').split(' ');\n"
      "  map.querySelectorAll('aside .sched').forEach(function(s){s.classList.remove('on');});\n"
      "  map.querySelectorAll('.l.sel').forEach(function(r){r.classList.remove('sel');});\n"
      "  row.classList.add('sel');\n"
      "  ids.forEach(function(id){var s=document.getElementById(p+'s-'+id);if(s)s.classList.add('on');});\n"
      "  document.getElementById(p+'hint').textContent=row.getAttribute('data-where')+': '+ids.length+"
      "(ids.length==1?' schedule':' schedules');\n"
      "}\n"
      "document.querySelectorAll('.l[data-s]').forEach(function(row){\n"
      "  row.addEventListener('click',function(){showLine(row);});\n"
      "  row.addEventListener('keydown',function(e){if(e.key==='Enter')showLine(row);});\n"
      "});\n";

 private:
  void summary() {
    out_ += "<h1>" + html_escape("explore " + report_.scenario() + " on " + report_.kernel_variant()) + "</h1>\n";
    if (!report_.error().empty()) out_ += "<p class=\"err\">error: " + html_escape(report_.error()) + "</p>\n";
    if (!report_.kernel_build_id().empty())
      out_ += "<p>kernel build " + html_escape(report_.kernel_build_id()) + "</p>\n";
    if (report_.window_size() > 0) {
      std::string window;
      for (const auto& w : report_.window()) window += (window.empty() ? "" : ", ") + w;
      out_ +=
          "<p>window: " + html_escape(window) + " (" + std::to_string(report_.window_addresses()) + " addresses)</p>\n";
    }
    // One row per outcome, worst first.
    std::vector<std::pair<std::string, Severity>> order;
    std::map<std::string, int> counts;
    for (const pb::ExploredSchedule& s : report_.schedules()) {
      std::string name = outcome_name(s);
      if (counts[name]++ == 0) order.emplace_back(name, severity(s));
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    out_ += "<table class=\"totals\">\n";
    for (const auto& [name, sev] : order)
      out_ += "<tr><td><span class=\"sw " + std::string(severity_class(sev)) + "\"></span>" + html_escape(name) +
              "</td><td>" + std::to_string(counts[name]) + "</td></tr>\n";
    out_ += "</table>\n";
    const int done = report_.schedules_size();
    out_ += "<p>" + std::to_string(done) + (done == 1 ? " schedule" : " schedules");
    if (report_.total() > done) out_ += " of " + std::to_string(report_.total()) + " planned";
    out_ += ", trace " + html_escape(duration_text(report_.trace_ms())) + ", total " +
            html_escape(duration_text(report_.total_ms())) + "</p>\n";
    out_ += std::string("<p class=\"verdict ") + (report_.reproduced() > 0 ? "v-bad" : "v-grey") + "\" data-runs=\"" +
            std::to_string(done) + "\"><b>" + html_escape(summary_line(report_)) + "</b></p>\n";
  }

  // A schedule's detail: direction, point, outcome, reason, steps.
  std::string schedule_block(const pb::ExploredSchedule& s, const std::string& id) const {
    std::string b = "<div class=\"sched " + std::string(severity_class(severity(s))) + "\"" +
                    (id.empty() ? "" : " id=\"" + id + "\"") + ">\n";
    b += "<b>#" + std::to_string(s.index()) + " " + html_escape(outcome_name(s)) + "</b> (" +
         html_escape(duration_text(s.wall_ms())) + ")<br>\n";
    b += html_escape(direction_name(s) + ": " + schedule_points(s)) + "<br>\n";
    if (!s.reason().empty()) b += "<i>" + html_escape(s.reason()) + "</i>\n";
    if (s.schedule_size() > 0) {
      std::string steps;
      for (const pb::Step& st : s.schedule()) steps += step_text(st) + "\n";
      b += "<pre class=\"steps\">" + html_escape(steps) + "</pre>\n";
    }
    // The kept run (reproducing schedules, failures): its timeline and oops.
    if (s.has_run()) {
      b += render_timeline(build_timeline(s.run()));
      if (s.run().has_oops()) b += oops_block(s.run().oops(), SourceTree{root_, {}});
    }
    b += "</div>\n";
    return b;
  }

  void reproducing() {
    std::string blocks;
    for (const pb::ExploredSchedule& s : report_.schedules())
      if (s.verdict() == pb::REPRODUCED) blocks += schedule_block(s, "");
    out_ += "<h2>Reproducing schedules</h2>\n";
    out_ += blocks.empty() ? "<p>No point reproduced.</p>\n" : blocks;
  }

  // One source line (or, with `text` null, a point's line without source).
  void line_row(const FileMarks& f, int number, const std::string* text) {
    auto marks = f.lines.find(number);
    if (marks == f.lines.end()) {
      out_ += "<div class=\"l\"><span class=\"n\">" + std::to_string(number) + "</span><span class=\"t\">" +
              html_escape(text ? *text : "") + "</span></div>\n";
      return;
    }
    const LineMarks& m = marks->second;
    Severity worst = Severity::kInconclusive;
    std::string chips, ids;
    for (int i : m.schedules) {
      const pb::ExploredSchedule& s = report_.schedules(i);
      worst = std::max(worst, severity(s));
      chips += "<span class=\"chip " + std::string(severity_class(severity(s))) + "\">" + html_escape(chip_label(s)) +
               "</span>";
      ids += (ids.empty() ? "" : " ") + std::to_string(i);
    }
    for (const pb::ExplorePoint* p : m.unexplored)
      chips += "<span class=\"chip c-grey\">" +
               html_escape(p->actor() + " #" + std::to_string(p->visit()) + ": not run") + "</span>";
    out_ += "<div class=\"l " + std::string(severity_class(worst)) + "\"";
    if (!ids.empty())
      out_ += " data-s=\"" + ids + "\" data-where=\"" + html_escape(f.file + ":" + std::to_string(number)) +
              "\" tabindex=\"0\"";
    out_ += "><span class=\"n\">" + std::to_string(number) + "</span><span class=\"t\">" +
            html_escape(text ? *text : "(source not shown)") + "</span><span class=\"p\">" + chips + "</span></div>\n";
  }

  void source_file(const FileMarks& f) {
    std::string functions;
    for (const auto& fn : f.functions) functions += (functions.empty() ? "" : ", ") + fn;
    out_ += "<h2>" + html_escape(f.file.empty() ? std::string("(unknown file)") : f.file) + "</h2>\n";
    if (!functions.empty()) out_ += "<p>" + html_escape(functions) + "</p>\n";
    auto source = read_source(root_, f.file);
    std::vector<int> pointless;  // point lines shown without source
    out_ += "<div class=\"src\">\n";
    if (!source.ok()) {
      out_ += "<p class=\"note\">source not shown: " + html_escape(source.error().message) + "</p>\n";
      for (const auto& [number, marks] : f.lines) pointless.push_back(number);
    } else {
      const int count = static_cast<int>(source->size());
      // The ranges around the points, merged when close.
      std::vector<std::pair<int, int>> ranges;
      for (const auto& [number, marks] : f.lines) {
        if (number < 1 || number > count) {
          pointless.push_back(number);
          continue;
        }
        int first = std::max(1, number - kContext), last = std::min(count, number + kContext);
        if (!ranges.empty() && first <= ranges.back().second + kMergeGap)
          ranges.back().second = std::max(ranges.back().second, last);
        else
          ranges.emplace_back(first, last);
      }
      for (size_t r = 0; r < ranges.size(); ++r) {
        if (r > 0) out_ += "<div class=\"gap\">&#8942;</div>\n";
        for (int n = ranges[r].first; n <= ranges[r].second; ++n) {
          if (shown_lines_ >= kMaxHtmlSourceLines) {
            ++truncated_lines_;
            if (f.lines.count(n)) pointless.push_back(n);
            continue;
          }
          ++shown_lines_;
          line_row(f, n, &(*source)[static_cast<size_t>(n - 1)]);
        }
      }
      if (!pointless.empty()) out_ += "<p class=\"note\">points on lines the page does not show from the source:</p>\n";
    }
    std::sort(pointless.begin(), pointless.end());
    for (int n : pointless) line_row(f, n, nullptr);
    out_ += "</div>\n";
  }

  void panel() {
    out_ += "<aside>\n<h2>Schedules</h2>\n<p id=\"" + html_escape(prefix_) +
            "hint\" class=\"hint\">Click a coloured line to see its schedules.</p>\n";
    for (int i = 0; i < report_.schedules_size(); ++i)
      out_ += schedule_block(report_.schedules(i), prefix_ + "s-" + std::to_string(i));
    out_ += "</aside>\n";
  }

  const pb::ExploreReport& report_;
  fs::path root_;
  std::string prefix_;  // of the element ids: several maps on one page
  std::string out_;
  int shown_lines_ = 0;
  int truncated_lines_ = 0;
};

}  // namespace

Result<std::string> render_explore_page(const pb::ExploreReport& report, const std::filesystem::path& source_root) {
  if (!source_root.empty()) {
    std::error_code ec;
    if (!fs::is_directory(source_root, ec))
      return make_error(ErrorKind::kInput, "source tree " + source_root.string() + " is not a directory");
  }
  return page_begin("explore " + report.scenario() + " on " + report.kernel_variant(), explore_style()) +
         Page(report, source_root, "").body() + page_end(explore_script());
}

std::string explore_body(const pb::ExploreReport& report, const std::filesystem::path& source_root,
                         const std::string& id_prefix) {
  return Page(report, source_root, id_prefix).body();
}

std::string explore_style() { return std::string(Page::kStyle) + run_style(); }

std::string explore_script() { return std::string(Page::kScript); }

}  // namespace racerig::report
