// racerigd's pages of jobs (see job_pages.h).
#include "rig/report/job_pages.h"

#include <cstdio>
#include <ctime>

#include "rig/report/explore_page.h"
#include "rig/report/html.h"
#include "rig/report/pages.h"
#include "rig/report/run_section.h"
#include "rig/run/render.h"

namespace racerig::report {

namespace {

// The most events a live page lists (the last ones).
constexpr int kMaxEventsShown = 200;

constexpr const char* kJobStyle =
    ".jobs td a{font-family:monospace}\n.filters label{margin-right:1em}\n"
    ".st-RUNNING{color:#1565c0;font-weight:bold}.st-FAILED,.st-INTERRUPTED{color:#b00020}"
    ".st-SUCCEEDED{color:#2e7d32}\n.events{max-height:20em;overflow:auto;background:#f7f7f7}\n";

std::string utc(int64_t unix_ms) {
  if (unix_ms <= 0) return "";
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string state_name(pb::JobState s) { return pb::JobState_Name(s); }
std::string kind_name(pb::JobKind k) { return pb::JobKind_Name(k); }

bool ended(pb::JobState s) { return s != pb::QUEUED && s != pb::RUNNING && s != pb::JOB_STATE_UNSPECIFIED; }

std::string select(const std::string& name, const std::string& chosen, const std::vector<std::string>& options) {
  std::string out = "<label>" + name + " <select name=\"" + name + "\"><option value=\"\">any</option>";
  for (const auto& o : options)
    out += "<option" + std::string(o == chosen ? " selected" : "") + ">" + html_escape(o) + "</option>";
  return out + "</select></label>\n";
}

std::string job_link(const std::string& id) {
  return "<a href=\"/jobs/" + html_escape(url_encode(id)) + "\">" + html_escape(id) + "</a>";
}

// What the job asked for, in a line.
std::string request_text(const pb::Job& job) {
  switch (job.request_case()) {
    case pb::Job::kReproduce:
      return "scenario " + job.reproduce().scenario().name() + " on " + job.reproduce().kernel() + ", " +
             std::to_string(job.reproduce().runs()) + " runs";
    case pb::Job::kValidate: {
      std::string patches;
      for (const auto& p : job.validate().patches()) patches += (patches.empty() ? "" : ", ") + p.name();
      return "patches " + patches + " on " + (job.validate().base().empty() ? "buggy" : job.validate().base()) + ", " +
             std::to_string(job.validate().runs()) + " runs";
    }
    case pb::Job::kStress:
      return "scenario " + job.stress().scenario().name() + " on " + job.stress().kernel();
    case pb::Job::kExplore:
      return "scenario " + job.explore().scenario().name() + " on " + job.explore().kernel();
    default:
      return "";
  }
}

}  // namespace

bool job_matches(const pb::Job& job, const JobFilter& f) {
  if (!f.state.empty() && state_name(job.state()) != f.state) return false;
  if (!f.kind.empty() && kind_name(job.kind()) != f.kind) return false;
  if (!f.submitter.empty() && job.submitter() != f.submitter) return false;
  return true;
}

std::string url_encode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string job_list_page(const std::vector<pb::Job>& jobs, const JobFilter& filter, const std::string& viewer,
                          const std::string& note) {
  std::string out = page_begin("racerigd jobs", kJobStyle);
  out += "<h1>racerigd jobs</h1>\n<p>signed in as " + html_escape(viewer) + "</p>\n";
  std::vector<std::string> states, kinds;
  for (int i = pb::QUEUED; i <= pb::INTERRUPTED; ++i) states.push_back(state_name(static_cast<pb::JobState>(i)));
  for (int i = pb::REPRODUCE; i <= pb::EXPLORE; ++i) kinds.push_back(kind_name(static_cast<pb::JobKind>(i)));
  out += "<form class=\"filters\" method=\"get\" action=\"/jobs\">\n" + select("state", filter.state, states) +
         select("kind", filter.kind, kinds) + "<label>submitter <input name=\"submitter\" value=\"" +
         html_escape(filter.submitter) + "\"></label>\n<button type=\"submit\">filter</button>\n</form>\n";
  if (!note.empty()) out += "<p class=\"note\">" + html_escape(note) + "</p>\n";
  out +=
      "<table class=\"grid jobs\"><tr><th>job</th><th>kind</th><th>state</th><th>submitter</th>"
      "<th>what</th><th>submitted</th><th>exit</th><th>error</th></tr>\n";
  int shown = 0;
  for (const pb::Job& j : jobs) {
    if (!job_matches(j, filter)) continue;
    ++shown;
    out += "<tr data-state=\"" + html_escape(state_name(j.state())) + "\"><td>" + job_link(j.id()) + "</td><td>" +
           html_escape(kind_name(j.kind())) + "</td><td class=\"st-" + html_escape(state_name(j.state())) + "\">" +
           html_escape(state_name(j.state())) + "</td><td>" + html_escape(j.submitter()) + "</td><td>" +
           html_escape(request_text(j)) + "</td><td>" + html_escape(utc(j.submitted_unix_ms())) + "</td><td>" +
           (ended(j.state()) ? std::to_string(j.exit_code()) : "") + "</td><td>" + html_escape(j.error()) +
           "</td></tr>\n";
  }
  out += "</table>\n<p class=\"count\">" + std::to_string(shown) + (shown == 1 ? " job" : " jobs") + "</p>\n";
  return out + page_end();
}

std::string event_text(const pb::JobEvent& e) {
  std::string out = utc(e.unix_ms()) + "  ";
  if (e.superseded()) out += "(superseded) ";
  switch (e.event_case()) {
    case pb::JobEvent::kQueued:
      return out + "queued, " + std::to_string(e.queued().ahead()) + " ahead";
    case pb::JobEvent::kStarted:
      return out + "started (attempt " + std::to_string(e.started().attempt()) + ")";
    case pb::JobEvent::kKernelStage:
      return out + e.kernel_stage().variant() + ": " + e.kernel_stage().what();
    case pb::JobEvent::kKernelCompile:
      return out + e.kernel_compile().variant() + ": compiling, step " + std::to_string(e.kernel_compile().steps()) +
             (e.kernel_compile().estimated_steps() > 0 ? " of ~" + std::to_string(e.kernel_compile().estimated_steps())
                                                       : "") +
             ": " + e.kernel_compile().line();
    case pb::JobEvent::kNote:
      return out + e.note().text();
    case pb::JobEvent::kRunFinished:
      return out + e.run_finished().label() + ": " + run::verdict_line(e.run_finished().report());
    case pb::JobEvent::kFinished:
      return out + "finished: " + state_name(e.finished().job().state());
    case pb::JobEvent::kRequeued:
      return out + "requeued as attempt " + std::to_string(e.requeued().attempt()) + ": " + e.requeued().reason();
    default:
      return out + "(an event this page does not know)";
  }
}

std::string job_page(const pb::Job& job, const pb::Job* full, const std::vector<pb::JobEvent>& events,
                     const std::vector<std::string>& artifacts, const SourceTree& control, const SourceTree& patched,
                     int refresh_s) {
  const bool live = !ended(job.state());
  const pb::Job& shown = full != nullptr ? *full : job;
  const std::string style = std::string(kJobStyle) + report_style();
  // The maps' clicks (an explore job, an exploring validate).
  const std::string script = explore_script();
  std::string out = page_begin("racerigd job " + job.id(), style, live ? refresh_s : 0);
  out += "<p><a href=\"/jobs\">all jobs</a></p>\n";
  out += "<h1>" + html_escape(kind_name(job.kind()) + " job " + job.id()) + "</h1>\n";
  out += "<table class=\"grid job\" data-state=\"" + html_escape(state_name(job.state())) + "\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) out += "<tr><th>" + html_escape(k) + "</th><td>" + html_escape(v) + "</td></tr>\n";
  };
  row("state",
      state_name(job.state()) + (live ? " (this page refreshes every " + std::to_string(refresh_s) + " s)" : ""));
  row("what", request_text(job));
  row("submitter", job.submitter());
  row("submitted", utc(job.submitted_unix_ms()));
  row("started", utc(job.started_unix_ms()));
  row("finished", utc(job.finished_unix_ms()));
  row("attempt", job.attempt() > 0 ? std::to_string(job.attempt()) : "");
  row("exit code", live ? "" : std::to_string(job.exit_code()));
  row("error", job.error());
  row("cancelled by", job.cancelled_by());
  out += "</table>\n";
  if (!artifacts.empty()) {
    out +=
        "<details class=\"artifacts\"><summary>artifacts (" + std::to_string(artifacts.size()) + ")</summary>\n<ul>\n";
    for (const auto& a : artifacts) {
      std::string path;
      for (size_t start = 0; start <= a.size();) {
        size_t end = a.find('/', start);
        if (end == std::string::npos) end = a.size();
        path += (path.empty() ? "" : "/") + url_encode(a.substr(start, end - start));
        start = end + 1;
      }
      out += "<li><a href=\"/jobs/" + html_escape(url_encode(job.id())) + "/artifacts/" + html_escape(path) +
             "\" download>" + html_escape(a) + "</a></li>\n";
    }
    out += "</ul>\n</details>\n";
  }
  ConsoleBudget budget;
  const std::string where = "this job's artifacts runs/N/console";
  if (shown.has_reproduce_report()) {
    out += reproduce_body(shown.reproduce_report(), control, budget, where);
  } else if (shown.has_stress_report()) {
    out += reproduce_body(shown.stress_report(), control, budget, where);
  } else if (shown.has_validate_report()) {
    out += validate_body(shown.validate_report(), control, patched, budget, where);
  } else if (shown.has_explore_report()) {
    out += explore_body(shown.explore_report(), control.root);
  } else if (job.report_omitted()) {
    out += "<p class=\"note\">the report is too large for this page: download report.json</p>\n";
  }
  if (live || shown.report_case() == pb::Job::REPORT_NOT_SET) {
    // The runs so far, as they finished.
    std::string runs;
    for (const pb::JobEvent& e : events)
      if (e.has_run_finished() && !e.superseded()) {
        RunSectionOptions options;
        options.label = e.run_finished().label();
        runs += run_section(e.run_finished().report(), control, budget, options);
      }
    if (!runs.empty()) out += "<h2>Runs so far</h2>\n" + runs;
  }
  if (!events.empty()) {
    std::string lines;
    const int first = std::max(0, static_cast<int>(events.size()) - kMaxEventsShown);
    if (first > 0) lines += "(" + std::to_string(first) + " earlier events not shown)\n";
    for (size_t i = static_cast<size_t>(first); i < events.size(); ++i) lines += event_text(events[i]) + "\n";
    out += std::string("<details") + (live ? " open" : "") + "><summary>events (" + std::to_string(events.size()) +
           ")</summary>\n<pre class=\"events\">" + html_escape(lines) + "</pre>\n</details>\n";
  }
  return out + page_end(script);
}

}  // namespace racerig::report
