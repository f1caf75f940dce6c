// Build progress lines (see progress.h).
#include "rig/kbuild/progress.h"

#include <cmath>
#include <cstdio>

namespace racerig::kbuild {

bool is_make_step(const std::string& line) {
  return line.rfind("  CC", 0) == 0 || line.rfind("  LD", 0) == 0 || line.rfind("  AR", 0) == 0 ||
         line.rfind("  AS", 0) == 0;
}

std::string format_duration(double seconds) {
  long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string format_progress(const std::string& variant, const BuildProgress& p) {
  std::string out = "kernel " + variant + ": " + std::to_string(p.done) + " make steps";
  if (p.estimated > 0 && p.done < p.estimated) {
    int pct = static_cast<int>(100.0 * p.done / p.estimated);
    out += " of ~" + std::to_string(p.estimated) + " (" + std::to_string(pct) + "%)";
  } else if (p.estimated > 0) {
    out += " (more than the estimated " + std::to_string(p.estimated) + ")";
  }
  out += ", " + format_duration(p.elapsed_s) + " elapsed";
  if (p.estimated > 0 && p.done > 0 && p.done < p.estimated)
    out += ", ETA " + format_duration(p.elapsed_s * (p.estimated - p.done) / p.done);
  else
    out += ", ETA unknown";
  return out;
}

std::optional<std::string> ProgressLines::update(const std::string& variant, const BuildProgress& p) {
  if (p.elapsed_s - last_s_ < static_cast<double>(interval_.count())) return std::nullopt;
  last_s_ = p.elapsed_s;
  return format_progress(variant, p);
}

}  // namespace racerig::kbuild
