// JUnit XML (see junit.h).
#include "rig/verdict/junit.h"

#include <cstdio>
#include <map>
#include <pugixml.hpp>
#include <sstream>

#include "rig/crash/oops.h"
#include "rig/verdict/validate.h"
#include "rig/verdict/verdict.h"

namespace racerig::verdict {

namespace {

// The length of the UTF-8 sequence at s[i] when it is valid (1-4), else 0.
size_t utf8_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(k) & 0xc0) != 0x80) return 0;
  if (c == 0xe0 && b(1) < 0xa0) return 0;                   // overlong
  if (c == 0xed && b(1) >= 0xa0) return 0;                  // UTF-16 surrogate
  if (c == 0xef && b(1) == 0xbf && b(2) >= 0xbe) return 0;  // U+FFFE, U+FFFF: not XML characters
  if (c == 0xf0 && b(1) < 0x90) return 0;                   // overlong
  if (c == 0xf4 && b(1) >= 0x90) return 0;                  // above U+10FFFF
  return n;
}

bool all_are(const pb::ReproduceReport& r, pb::Verdict v) {
  for (const auto& run : r.runs())
    if (run.verdict() != v) return false;
  return !r.runs().empty();
}

// Wall seconds of every run: the sum of their phases.
double seconds_of(const pb::ReproduceReport& r) {
  double ms = 0;
  for (const auto& run : r.runs())
    for (const auto& t : run.timings()) ms += t.ms();
  return ms / 1000;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

void set(pugi::xml_node node, const char* attribute, std::string_view value) {
  node.append_attribute(attribute).set_value(xml_text(value).c_str());
}

// A failure's or error's one-line message: the first line, at most 200 bytes.
std::string message_of(std::string_view text) { return truncate_utf8(text.substr(0, text.find('\n')), 200); }

// The file names of the patches, for naming a build that has no variant name yet.
std::string patch_names(const pb::ValidateReport& report) {
  std::string out;
  for (const auto& p : report.patches()) out += "+" + p.substr(p.find_last_of('/') + 1);
  return out;
}

}  // namespace

std::string xml_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = utf8_length(text, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out += ' ';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string truncate_utf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes >= 3 ? max_bytes - 3 : 0;
  // Back up to the first byte of a character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xc0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

namespace {

// An explored kernel's map in a few lines: the count per outcome and every
// point that failed the kernel.
std::string map_text(const pb::ExploreReport& m) {
  std::map<std::string, int> counts;
  std::string failing;
  for (const auto& e : m.schedules()) {
    ++counts[std::string(verdict_name(e.verdict())) + (e.serialized() ? " (serialized)" : "")];
    if (kernel_failed(e.verdict()))
      failing += "\n  " + schedule_label(e) + ": " + verdict_name(e.verdict());
  }
  std::string out = "explored " + std::to_string(m.schedules_size()) + " points" +
                    (m.from_cache() ? " (map from the cache)" : "") + ":";
  for (const auto& [what, n] : counts) out += " " + std::to_string(n) + " " + what + ",";
  if (!counts.empty()) out.pop_back();
  if (!m.error().empty()) out += "\n  error: " + m.error();
  return out + failing;
}

}  // namespace

std::string junit_xml(const pb::ValidateReport& report) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  decl.append_attribute("encoding").set_value("UTF-8");
  pugi::xml_node suites = doc.append_child("testsuites");
  pugi::xml_node suite = suites.append_child("testsuite");
  int tests = 0, failures = 0, errors = 0;
  double total_s = 0;
  for (const auto& s : report.scenarios()) {
    for (const auto* r : {&s.control(), &s.patched()}) {
      ++tests;
      const bool is_control = r == &s.control();
      const double time_s = seconds_of(*r);
      total_s += time_s;
      pugi::xml_node tc = suite.append_child("testcase");
      set(tc, "classname", "racerig." + s.scenario());
      set(tc, "name", (is_control ? "control " : "patched ") + r->kernel_variant());
      set(tc, "time", seconds_text(time_s));
      const pb::ExploreReport& map = is_control ? s.control_map() : s.patched_map();
      const bool explored = map.schedules_size() > 0 || !map.error().empty();
      // An explored kernel is judged on its map too: the control must
      // reproduce somewhere, the patched kernel must be FIXED on every point.
      bool map_ok = true;
      if (explored && is_control) {
        map_ok = false;
        for (const auto& e : map.schedules()) map_ok |= e.verdict() == pb::REPRODUCED;
      } else if (explored) {
        map_ok = s.result() == pb::FIXED;
      }
      const bool ok = all_are(*r, is_control ? pb::REPRODUCED : pb::NOT_REPRODUCED) && map_ok && map.error().empty();
      if (s.result() == pb::ERROR && !ok) {
        ++errors;
        pugi::xml_node e = tc.append_child("error");
        set(e, "message", message_of(s.reason()));
        e.text().set(xml_text(s.reason()).c_str());
      } else if (!ok) {
        ++failures;
        std::string text = s.reason() + "\n";
        if (const pb::RunReport* hit = first_with(*r, pb::REPRODUCED); hit && !is_control)
          text += crash::render(hit->oops());
        pugi::xml_node f = tc.append_child("failure");
        set(f, "message", message_of(std::string(result_name(s.result())) + ": " + s.reason()));
        f.text().set(xml_text(text).c_str());
      }
      tc.append_child("system-out").text().set(
          xml_text(count_text(*r) + (explored ? "\n" + map_text(map) : std::string())).c_str());
    }
  }
  if (!report.error().empty()) {
    ++tests;
    ++errors;
    pugi::xml_node tc = suite.append_child("testcase");
    set(tc, "classname", "racerig");
    const std::string built =
        !report.patched_variant().empty() ? report.patched_variant() : report.base_variant() + patch_names(report);
    set(tc, "name", built.empty() ? std::string("validate") : "build " + built);
    set(tc, "time", seconds_text(0));
    pugi::xml_node e = tc.append_child("error");
    set(e, "message", message_of(report.error()));
    e.text().set(xml_text(report.error()).c_str());
  }
  suite.prepend_attribute("time").set_value(seconds_text(total_s).c_str());
  suite.prepend_attribute("errors").set_value(errors);
  suite.prepend_attribute("failures").set_value(failures);
  suite.prepend_attribute("tests").set_value(tests);
  suite.prepend_attribute("name").set_value("racerig validate");
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
  return out.str();
}

}  // namespace racerig::verdict
