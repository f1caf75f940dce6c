// RspTarget (see rsp_target.h).
#include "rig/run/rsp_target.h"

#include <chrono>

#include "rig/process/cancel.h"

namespace racerig::run {

namespace {

using std::chrono::milliseconds;

schedule::StopEvent from_reply(const gdbremote::StopReply& reply) {
  schedule::StopEvent ev;
  if (reply.kind == gdbremote::StopReply::Kind::kExited || reply.kind == gdbremote::StopReply::Kind::kTerminated) {
    ev.kind = schedule::StopEvent::Kind::kExited;
    return ev;
  }
  ev.signal = reply.signal;
  ev.vcpu = reply.thread > 0 ? reply.thread - 1 : -1;
  ev.kind = reply.signal == 5 ? schedule::StopEvent::Kind::kBreakpoint : schedule::StopEvent::Kind::kOtherStop;
  return ev;
}

}  // namespace

Status RspTarget::insert_breakpoint(GuestAddr addr, Deadline d) {
  return client_.insert_breakpoint(addr, gdbremote::BreakpointKind::kSoftware, d);
}

Status RspTarget::remove_breakpoint(GuestAddr addr, Deadline d) {
  return client_.remove_breakpoint(addr, gdbremote::BreakpointKind::kSoftware, d);
}

Status RspTarget::resume(const std::vector<int>& vcpus, Deadline d) {
  std::vector<gdbremote::Client::ThreadAction> actions;
  for (int v : vcpus) actions.push_back({v + 1, gdbremote::Client::ThreadAction::kContinue});
  return client_.resume(actions, d);
}

Result<schedule::StopEvent> RspTarget::wait(Deadline d) {
  if (process::cancelled()) return make_error(ErrorKind::kInternal, "cancelled (SIGINT/SIGTERM)");
  auto r = client_.wait_stop(d, vm_.event_fd());
  if (!r.ok()) {
    if (r.error().kind == ErrorKind::kTimeout) return r.error();
    // A broken gdbstub connection is often the first sign of QEMU's exit
    // (the guest powered off): give the exit a moment to show.
    if (vm_.exited() || vm_.wait_exit(Deadline::after(milliseconds(3000))).ok())
      return schedule::StopEvent{schedule::StopEvent::Kind::kExited, -1, 0};
    return r.error();
  }
  schedule::StopEvent ev =
      r->woken ? schedule::StopEvent{schedule::StopEvent::Kind::kWoken, -1, 0} : from_reply(r->stop);
  // QEMU's gdbstub says "W" while the machine shuts down, a moment before
  // the process is gone: an exit event means the process has exited.
  if (ev.kind == schedule::StopEvent::Kind::kExited && !vm_.exited())
    (void)vm_.wait_exit(Deadline::after(milliseconds(10000)));
  return ev;
}

Result<schedule::StopEvent> RspTarget::interrupt(Deadline d) {
  RACERIG_ASSIGN(gdbremote::StopReply reply, client_.interrupt(d));
  return from_reply(reply);
}

Status RspTarget::step(int vcpu, Deadline d) {
  auto r = client_.step(vcpu + 1, d);
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<uint64_t> RspTarget::read_register(int vcpu, std::string_view name, Deadline d) {
  return client_.read_register(vcpu + 1, name, d);
}

Status RspTarget::write_register(int vcpu, std::string_view name, uint64_t value, Deadline d) {
  return client_.write_register(vcpu + 1, name, value, d);
}

Result<std::vector<uint8_t>> RspTarget::read_memory(int vcpu, GuestAddr addr, size_t len, Deadline d) {
  return client_.read_memory(vcpu + 1, addr, len, d);
}

}  // namespace racerig::run
