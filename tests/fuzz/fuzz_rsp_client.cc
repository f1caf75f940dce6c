// libFuzzer target: rig/gdbremote's typed client against a hostile stub.
// The input is everything the stub sends, in order (acks, replies, stop
// replies, console output); the client does what a run does with a fresh
// VM: the handshake (qSupported, vCont?, the target description and its
// includes, the stop reason), a hardware breakpoint, a resume, the wait for
// the stop, a register and memory of the stopped thread, the thread list,
// an interrupt. Each call must return (an error is fine) before its
// deadline, which the end of the input makes short work of.
#include <cstddef>
#include <cstdint>
#include <utility>

#include "rig/base/deadline.h"
#include "rig/gdbremote/client.h"
#include "tests/fuzz/session.h"

namespace gdb = racerig::gdbremote;
using racerig::Deadline;
using racerig::GuestAddr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gdb::Client client(gdb::Connection::adopt(racerig::fuzz::session_with(data, size)));
  const auto soon = [] { return Deadline::after(std::chrono::milliseconds(2000)); };
  if (!client.handshake(soon()).ok()) return 0;
  (void)client.registers();
  (void)client.insert_breakpoint(GuestAddr(0xffffffff81000000ull), gdb::BreakpointKind::kHardware, soon());
  if (client.resume({{1, gdb::Client::ThreadAction::kContinue}}, soon()).ok()) {
    auto stop = client.wait_stop(soon());
    if (!stop.ok()) (void)client.interrupt(soon());
  }
  if (!client.running()) {
    const int thread = client.last_stop().thread > 0 ? client.last_stop().thread : 1;
    (void)client.read_register(thread, "rip", soon());
    (void)client.read_memory(thread, GuestAddr(0xffffffff81000000ull), 64, soon());
    (void)client.threads(soon());
    (void)client.step(thread, soon());
  }
  return 0;
}
