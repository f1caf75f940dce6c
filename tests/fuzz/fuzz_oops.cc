// libFuzzer target: a guest's console (rig/crash's oops parser). A kernel
// that is broken or hostile writes what it likes; the input is the console
// as bytes, fed line by line to the production ConsoleParser as the guest
// monitor does, then every report it holds is rendered. Each line also goes
// through the frame and prefix parsers on their own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rig/crash/oops.h"

namespace crash = racerig::crash;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view console(reinterpret_cast<const char*>(data), size);
  crash::ConsoleParser parser;
  size_t start = 0;
  while (start <= console.size()) {
    size_t end = console.find('\n', start);
    if (end == std::string_view::npos) end = console.size();
    std::string_view line = console.substr(start, end - start);
    parser.feed_line(line);
    (void)parser.in_report();
    (void)crash::strip_console_prefix(line);
    racerig::pb::Frame frame;
    (void)crash::parse_frame(line, &frame);
    start = end + 1;
  }
  if (auto first = parser.first_report()) (void)crash::render(*first);
  if (parser.reports().size() > crash::ConsoleParser::kMaxReports) __builtin_trap();
  for (const auto& report : parser.reports()) (void)crash::render(report);
  (void)parser.first_report_complete();
  return 0;
}
