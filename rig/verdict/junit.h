// The JUnit XML rendering of a validation (what GitLab and Jenkins display),
// built with pugixml: always a well-formed UTF-8 document, whatever bytes a
// compiler, a console or a scenario name put in the report.
#pragma once

#include <string>
#include <string_view>

#include "proto/racerig.pb.h"

namespace racerig::verdict {

// One testsuite; a testcase per scenario and kernel ("control buggy",
// "patched buggy+fix-1a2b"), the oops in a failure's text, a `time` in
// seconds (the runs' wall time). A validation that failed before any
// scenario ran (a build error, bad input) is one errored testcase naming
// what was being built, with the error as its message and text.
std::string junit_xml(const pb::ValidateReport& report);

// `text` as valid UTF-8 that XML 1.0 accepts: invalid bytes become U+FFFD,
// control characters other than tab, newline and carriage return a space.
std::string xml_text(std::string_view text);

// At most `max_bytes` bytes of valid UTF-8 `text`, never splitting a
// character; "..." is appended when something was cut.
std::string truncate_utf8(std::string_view text, size_t max_bytes);

}  // namespace racerig::verdict
