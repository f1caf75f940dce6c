// One run of a report as HTML (see run_section.h).
#include "rig/report/run_section.h"

#include <cstdint>
#include <map>
#include <memory>

#include "rig/report/timeline.h"
#include "rig/run/render.h"
#include "rig/verdict/verdict.h"

namespace racerig::report {

namespace {

// Reads each file of a page's frames once.
class SourceCache {
 public:
  explicit SourceCache(const SourceTree& tree) : tree_(tree) {}
  const Result<std::vector<std::string>>& lines(const std::string& file) {
    auto it = files_.find(file);
    if (it == files_.end())
      it =
          files_.emplace(file, std::make_unique<Result<std::vector<std::string>>>(read_source(tree_.root, file))).first;
    return *it->second;
  }

 private:
  const SourceTree& tree_;
  std::map<std::string, std::unique_ptr<Result<std::vector<std::string>>>> files_;
};

// The "FILE:LINE" an inlined_from entry ends with ("f inlined by g at
// fs/iomap/buffered-io.c:1256"), or an empty file.
std::pair<std::string, uint32_t> inlined_at(const std::string& entry) {
  const size_t at = entry.rfind(" at ");
  const size_t colon = entry.rfind(':');
  if (at == std::string::npos || colon == std::string::npos || colon < at) return {};
  uint32_t line = 0;
  for (size_t i = colon + 1; i < entry.size(); ++i) {
    if (entry[i] < '0' || entry[i] > '9' || line > 10000000) return {};
    line = line * 10 + static_cast<uint32_t>(entry[i] - '0');
  }
  if (line == 0) return {};
  return {entry.substr(at + 4, colon - at - 4), line};
}

std::string where(const pb::Frame& f) {
  if (f.file().empty()) return {};
  return f.file() + ":" + std::to_string(f.line());
}

}  // namespace

const char* verdict_class(pb::Verdict v) {
  switch (v) {
    case pb::REPRODUCED:
    case pb::OTHER_OOPS:
    case pb::DEADLOCK:
      return "v-bad";
    case pb::NOT_REPRODUCED:
      return "v-good";
    default:
      return "v-grey";
  }
}

std::string run_style() {
  return std::string(kTimelineStyle) +
         ".run{border:1px solid #ddd;padding:.2em .8em .6em .8em;margin:.6em 0;background:#fff}\n"
         ".oops .src{font-family:monospace;font-size:12px;border:1px solid #ddd;background:#fcfcfc;overflow-x:auto}\n"
         // A frame's source line is not wrapped: in a narrow panel the table scrolls instead of being cut.
         ".oops .wide{overflow-x:auto}\n"
         ".oops .sl{white-space:pre;tab-size:8}.oops .sl.fault{background:#f6c6c6;font-weight:bold}\n"
         ".oops .ln{display:inline-block;width:5em;text-align:right;padding-right:1em;color:#777}\n"
         ".frames td.code{font-family:monospace;white-space:pre;tab-size:8}\n";
}

std::string oops_block(const pb::Oops& oops, const SourceTree& source) {
  SourceCache cache(source);
  std::string out = "<div class=\"oops\">\n<h3>Oops: " + html_escape(oops.headline()) + "</h3>\n";
  if (!oops.message().empty()) out += "<p>" + html_escape(oops.message()) + "</p>\n";
  out += "<p>" + html_escape(oops.kind()) + " on CPU " + std::to_string(oops.cpu()) + " in " +
         html_escape(oops.comm()) + " [" + std::to_string(oops.pid()) + "]" +
         (oops.repeats() > 0 ? ", repeated " + std::to_string(oops.repeats()) + " times" : "") + "</p>\n";
  const pb::Frame& rip = oops.rip();
  out += "<p>faulting at <b class=\"fault-where\">" + html_escape(rip.text()) +
         (where(rip).empty() ? "" : " " + html_escape(where(rip))) + "</b></p>\n";
  // Each inlined caller's own line (the faulting instruction is often in a
  // header's inline function; its caller is the code that called it).
  for (const auto& inl : rip.inlined_from()) {
    out += "<p class=\"note\">inlined from " + html_escape(inl) + "</p>\n";
    const auto [file, line] = inlined_at(inl);
    if (file.empty()) continue;
    const auto& lines = cache.lines(file);
    if (lines.ok() && line <= lines->size())
      out += "<div class=\"src\"><div class=\"sl fault\"><span class=\"ln\">" + std::to_string(line) + "</span>" +
             html_escape((*lines)[line - 1]) + "</div></div>\n";
  }
  if (!rip.file().empty() && rip.line() > 0) {
    const auto& lines = cache.lines(rip.file());
    if (!lines.ok()) {
      out += "<p class=\"note\">" +
             html_escape("source of " + rip.file() + " not shown: " + lines.error().message +
                         (source.note.empty() ? "" : " (" + source.note + ")")) +
             "</p>\n";
    } else {
      const int count = static_cast<int>(lines->size());
      const int line = static_cast<int>(rip.line());
      if (line > count) {
        out += "<p class=\"note\">" +
               html_escape(rip.file() + " has " + std::to_string(count) + " lines, not " + std::to_string(line)) +
               "</p>\n";
      } else {
        if (!source.note.empty()) out += "<p class=\"note\">" + html_escape(source.note) + "</p>\n";
        out += "<div class=\"src\">\n";
        for (int n = std::max(1, line - kOopsContext); n <= std::min(count, line + kOopsContext); ++n)
          out += std::string("<div class=\"sl") + (n == line ? " fault\"" : "\"") + "><span class=\"ln\">" +
                 std::to_string(n) + "</span>" + html_escape((*lines)[static_cast<size_t>(n - 1)]) + "</div>\n";
        out += "</div>\n";
      }
    }
  }
  if (oops.trace_size() > 0) {
    out += "<div class=\"wide\"><table class=\"grid frames\"><tr><th>frame</th><th>file:line</th><th>source</th></tr>\n";
    for (const pb::Frame& f : oops.trace()) {
      std::string code;
      if (!f.file().empty() && f.line() > 0) {
        const auto& lines = cache.lines(f.file());
        if (lines.ok() && f.line() <= lines->size()) code = (*lines)[f.line() - 1];
      }
      std::string at = where(f);
      for (const auto& inl : f.inlined_from()) at += "\ninlined from " + inl;
      out += "<tr><td>" + html_escape((f.uncertain() ? "? " : "") + f.text()) + "</td><td>" + html_escape(at) +
             "</td><td class=\"code\">" + html_escape(code) + "</td></tr>\n";
    }
    out += "</table></div>\n";
  }
  out += "</div>\n";
  return out;
}

std::string run_section(const pb::RunReport& r, const SourceTree& source, ConsoleBudget& budget,
                        const RunSectionOptions& options) {
  std::string out = "<section class=\"run\" data-run=\"" + std::to_string(r.run()) + "\" data-verdict=\"" +
                    html_escape(verdict::verdict_name(r.verdict())) + "\">\n";
  if (!options.label.empty()) out += "<h3>" + html_escape(options.label) + "</h3>\n";
  out += std::string("<p class=\"verdict ") + verdict_class(r.verdict()) + "\">" + html_escape(run::verdict_line(r)) +
         "</p>\n";
  std::string timings;
  double total = 0;
  for (const auto& t : r.timings()) {
    timings += (timings.empty() ? "" : ", ") + t.phase() + " " + ms_text(t.ms());
    total += t.ms();
  }
  if (!timings.empty()) out += "<p>time " + html_escape(ms_text(total) + " (" + timings + ")") + "</p>\n";
  const std::string timeline = render_timeline(build_timeline(r));
  out += timeline.empty() ? "<p class=\"note\">no schedule steps were recorded</p>\n" : timeline;
  if (r.has_oops()) out += oops_block(r.oops(), source);
  out += "<details><summary>the run as text</summary>\n<pre>" + html_escape(run::render_run(r, true)) +
         "</pre>\n</details>\n";
  if (!r.console().empty()) out += folded_console("console", r.console(), budget, options.console_where);
  out += "</section>\n";
  return out;
}

}  // namespace racerig::report
