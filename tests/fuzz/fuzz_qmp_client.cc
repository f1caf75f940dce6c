// libFuzzer target: rig/qmp's client against a hostile QMP server. The
// input is everything the server sends, in order; the client does what a
// backend does: the greeting and capabilities, then commands whose replies
// must carry their ids (events and late replies are set aside).
#include <cstddef>
#include <cstdint>
#include <utility>

#include "rig/base/deadline.h"
#include "rig/qmp/qmp.h"
#include "tests/fuzz/session.h"

namespace qmp = racerig::qmp;
using racerig::Deadline;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto soon = [] { return Deadline::after(std::chrono::milliseconds(2000)); };
  auto client = qmp::Client::over(racerig::fuzz::session_with(data, size), soon());
  if (!client.ok()) return 0;
  for (const char* command : {"query-status", "stop", "query-cpus-fast", "cont"}) {
    auto reply = client->execute(command, "", soon());
    if (!reply.ok() && !client->broken().empty()) break;
  }
  (void)client->events();
  return 0;
}
