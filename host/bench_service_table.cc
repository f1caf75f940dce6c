// The service row of BENCHMARKS.md (see bench_service_table.h).
#include "host/bench_service_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace racerig::host {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// "1 core", "2 cores".
std::string count_of(int n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Table cells hold no '|' or line break.
std::string cell(std::string s) {
  for (char& c : s)
    if (c == '|' || c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

double jobs_per_hour(const pb::ServiceBenchRun& run) {
  return run.wall_s() > 0 ? run.jobs() * 3600.0 / run.wall_s() : 0;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string with_commas(double v) {
  const long long whole = std::llround(v);
  const std::string digits = std::to_string(whole < 0 ? -whole : whole);
  std::string out = whole < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string render_service(const pb::ServiceBench& s, int cores) {
  if (s.runs_size() == 0 && s.queue_latency_s_size() == 0 && s.error().empty()) return "";
  std::ostringstream o;
  o << "\n### racerigd on a shared PostgreSQL queue: 1, 2, 3 worker processes (issue 25)\n\n"
    << (s.store().empty() ? std::string("PostgreSQL") : s.store())
    << ", a cluster of the bench's own (initdb, a UNIX socket), a fresh database per worker count.\n"
       "One frontend (`racerigd --workers 0`) and 1, 2, 3 worker processes (`racerigd --worker --workers 1`\n"
       "each), the racerigd beside racerig.\n";
  const int jobs = s.runs_size() > 0 ? s.runs(0).jobs() : 0;
  o << "Per worker count, " << jobs << " `racerig reproduce --server` clients started at once (scenario `"
    << s.scenario() << "` on `" << s.kernel() << "`, " << s.runs_per_job()
    << " forced run each from the cached ready-state snapshot).\n"
       "The wall time runs from the first client's start to the last one's exit.\n"
       "A warm-up job (not counted) ran first on the 1-worker set-up.\n";
  if (s.runs_size() > 0) {
    const double base = jobs_per_hour(s.runs(0));
    const bool from_one = s.runs(0).workers() == 1 && base > 0;
    o << "\n| worker processes | jobs | wall | jobs per hour | ratio to 1 worker | failed |\n"
      << "|---|---|---|---|---|---|\n";
    for (const auto& run : s.runs()) {
      const double per_hour = jobs_per_hour(run);
      o << "| " << run.workers() << " | " << run.jobs() << " | " << fmt("%.1f s", run.wall_s()) << " | "
        << (per_hour > 0 ? with_commas(per_hour) : "—") << " | "
        << (from_one && per_hour > 0 ? fmt("%.2f", per_hour / base) : "—") << " | " << run.failed() << " |\n";
    }
    int failed = 0;
    for (const auto& run : s.runs()) failed += run.failed();
    if (failed > 0) {
      o << "\n" << failed << " job(s) ended with an error instead of a verdict; they count as done above, so those "
           "figures are not\ncomparable. The first:\n";
      for (const auto& run : s.runs())
        if (run.failed() > 0) {
          o << "- " << run.workers() << " worker(s): " << cell(run.first_failure()) << "\n";
        }
    }
  }
  if (s.queue_latency_s_size() > 0) {
    const std::vector<double> v(s.queue_latency_s().begin(), s.queue_latency_s().end());
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    o << "\nQueue latency, submit to start: **median " << fmt("%.3f s", median_of(v)) << "** of " << v.size() << " ("
      << fmt("%.3f", *lo) << "–" << fmt("%.3f s", *hi) << ").\n"
      << "That is the job's `started - submitted` in the store (what `racerig job` shows as \"waited\"), for jobs\n"
         "submitted one at a time with the 1-worker set-up's worker idle.\n";
  }
  const int vcpus = s.vcpus_per_job();
  o << "\n";
  if (cores > 0 && vcpus > 0) {
    const int fill = std::max(1, cores / vcpus);
    int most = 0;
    for (const auto& run : s.runs()) most = std::max(most, run.workers());
    o << "This machine has " << count_of(cores, "core", "cores") << " and each job's VM has "
      << count_of(vcpus, "vCPU", "vCPUs") << ", which TCG keeps busy:\n"
      << count_of(fill, "worker process fills", "worker processes fill") << " the cores.\n";
    if (most > fill)
      o << "**The cores cap the ratios**: the workers past " << fill << " share the same cores.\n"
        << "What they add comes from overlapping one job's VM with other jobs' start-up, submit and bookkeeping.\n"
           "The ratios do not show how the queue scales across hosts; size a host at one worker slot per "
        << count_of(vcpus, "core", "cores") << "\n(README, \"How many\").\n";
  } else {
    o << "The cores and the VM's vCPUs were not recorded: whether the cores cap the ratios is not known.\n";
  }
  if (!s.error().empty()) o << "\nThe measurement stopped early: " << cell(s.error()) << "\n";
  return o.str();
}

}  // namespace racerig::host
