// The pieces every racerig page shares (see html.h).
#include "rig/report/html.h"

#include <algorithm>
#include <cstdio>

namespace racerig::report {

namespace {

constexpr const char* kStyle =
    "body{font-family:sans-serif;margin:0 1em 2em 1em;color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.4em}h3{font-size:1em}\n"
    ".err{color:#b00020;font-weight:bold}\n.note{color:#555;font-style:italic}\n"
    ".verdict{font-size:1.1em;padding:.3em .6em;border-left:6px solid #8a8a8a;background:#f4f4f4}\n"
    ".v-bad{border-color:#c62828}.v-good{border-color:#2e7d32}.v-grey{border-color:#8a8a8a}\n"
    "pre{white-space:pre-wrap;word-break:break-all;font-size:12px}\n"
    "details>summary{cursor:pointer}\n"
    "table.grid{border-collapse:collapse}table.grid td,table.grid th{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left;vertical-align:top}\n";

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if ((u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f)
          out += "\xEF\xBF\xBD";
        else
          out += c;
    }
  }
  return out;
}

std::string page_begin(std::string_view title, std::string_view extra_style, int refresh_s) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  if (refresh_s > 0) out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_s) + "\">\n";
  out += "<title>" + html_escape(title) + "</title>\n<style>\n";
  out += kStyle;
  out += extra_style;
  out += "</style>\n</head>\n<body>\n";
  return out;
}

std::string page_end(std::string_view script) {
  std::string out;
  if (!script.empty()) {
    out += "<script>\n";
    out += script;
    out += "</script>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

size_t ConsoleBudget::take(size_t wanted) {
  const size_t left = kMaxPageConsoleBytes - std::min(used_, kMaxPageConsoleBytes);
  const size_t n = std::min({wanted, kMaxConsoleBytes, left});
  used_ += n;
  return n;
}

std::string folded_console(std::string_view label, std::string_view console, ConsoleBudget& budget,
                           std::string_view where_full) {
  const size_t shown = budget.take(console.size());
  std::string out = "<details class=\"console\"><summary>" + html_escape(label) + " (" +
                    std::to_string(console.size()) + " bytes)</summary>\n";
  if (shown >= console.size()) {
    out += "<pre>" + html_escape(console) + "</pre>\n";
  } else {
    const size_t head = shown / 4, tail = shown - head;
    const size_t cut = console.size() - head - tail;
    std::string note = std::to_string(cut) + " bytes cut here: the page shows the first " + std::to_string(head) +
                       " and the last " + std::to_string(tail) + " bytes";
    if (!where_full.empty()) note += "; the whole console: " + std::string(where_full);
    out += "<pre>" + html_escape(console.substr(0, head)) + "</pre>\n<p class=\"note cut\">" + html_escape(note) +
           "</p>\n<pre>" + html_escape(console.substr(console.size() - tail)) + "</pre>\n";
  }
  out += "</details>\n";
  return out;
}

std::string ms_text(double ms) {
  char buf[32];
  if (ms >= 10000)
    std::snprintf(buf, sizeof buf, "%.1f s", ms / 1000);
  else if (ms >= 1000)
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  return buf;
}

}  // namespace racerig::report
