// libFuzzer target: what QEMU's machine protocol sends (rig/qmp). The input
// is QMP's byte stream; each line (as Client reads them) goes through the
// production decode_message, and every string literal the codec can be
// asked to read through json_string. Whatever decodes must survive being
// dumped again (the client quotes error texts and event data).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rig/qmp/qmp.h"

namespace qmp = racerig::qmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= stream.size()) {
    size_t end = stream.find('\n', start);
    if (end == std::string_view::npos) end = stream.size();
    std::string_view line = stream.substr(start, end - start);
    auto message = qmp::decode_message(line);
    if (message.ok()) {
      // The value and id as the client prints them in errors and reports.
      (void)message->value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (message->id) (void)message->id->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    (void)qmp::json_string(line);
    // Quoting is the inverse of reading a literal.
    auto back = qmp::json_string(qmp::json_quote(line));
    (void)back;
    start = end + 1;
  }
  return 0;
}
