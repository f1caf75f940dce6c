// answer_interrupts (see interrupts.h).
#include "rig/schedule/interrupts.h"

#include <vector>

#include "rig/schedule/step_over.h"

namespace racerig::schedule {

Status answer_interrupts(Target& target, const InterruptService& s, bool* running) {
  auto rsp_deadline = [&] { return Deadline::after(s.rsp_timeout); };
  const int v = s.vcpu;
  const uint64_t pc = s.pc.value();
  RACERIG_ASSIGN(uint64_t rsp_before, target.read_register(v, "rsp", rsp_deadline()));
  auto flags = target.read_register(v, "eflags", rsp_deadline());
  if (flags.ok() && (*flags & 0x200) == 0)
    return make_error(ErrorKind::kProtocol, "interrupts are disabled on " + s.what + " at " +
                                                (s.symbolize ? s.symbolize(s.pc) : s.pc.hex()) + " (eflags " +
                                                GuestAddr(*flags).hex() + "), so it cannot answer the IPI");
  const Deadline until = Deadline::after(s.rsp_timeout);
  for (int round = 0;; ++round) {
    if (round == 64)
      return make_error(ErrorKind::kProtocol, s.what + " stopped 64 times elsewhere while answering its interrupts");
    RACERIG_TRY(target.resume({v}, rsp_deadline()));
    *running = true;
    Result<StopEvent> ev = target.wait(until);
    while (ev.ok() && ev->kind == StopEvent::Kind::kWoken) ev = target.wait(until);
    if (!ev.ok()) {
      if (ev.error().kind != ErrorKind::kTimeout) return ev.error();
      auto stop = target.interrupt(rsp_deadline());
      *running = false;
      if (!stop.ok()) return stop.error();
      auto now = target.read_register(v, "rip", rsp_deadline());
      return make_error(ErrorKind::kTimeout,
                        s.what + " did not come back to " + (s.symbolize ? s.symbolize(s.pc) : s.pc.hex()) +
                            " while answering its interrupts; it is at " +
                            (now.ok() && s.symbolize ? s.symbolize(GuestAddr(*now)) : std::string("?")));
    }
    *running = false;
    if (ev->kind == StopEvent::Kind::kExited) return make_error(ErrorKind::kProtocol, "the VM exited");
    RACERIG_ASSIGN(uint64_t now, target.read_register(v, "rip", rsp_deadline()));
    if (now == pc) break;
    if (s.inserted != nullptr && s.inserted->count(now) != 0) {
      // Another breakpoint, inside the interrupt handler: step over it.
      if (s.skipped != nullptr) ++*s.skipped;
      RACERIG_TRY(step_over(target, v, GuestAddr(now), rsp_deadline()));
    }
  }
  RACERIG_ASSIGN(uint64_t rsp_after, target.read_register(v, "rsp", rsp_deadline()));
  if (rsp_after != rsp_before)
    return make_error(ErrorKind::kProtocol, "the task on " + s.what + " moved on while it answered its interrupts (rsp " +
                                                GuestAddr(rsp_before).hex() + " -> " + GuestAddr(rsp_after).hex() + ")");
  return Status::Ok();
}

}  // namespace racerig::schedule
