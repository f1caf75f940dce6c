// Stopping at the crash for --attach (see crash_stop.h).
#include "rig/run/crash_stop.h"

#include "rig/dwarf/symbols.h"

namespace racerig::run {

namespace {

uint64_t le(const std::vector<uint8_t>& bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return v;
}

// pt_regs member -> the gdbstub's register name.
constexpr std::pair<const char*, const char*> kRegs[] = {
    {"r15", "r15"}, {"r14", "r14"}, {"r13", "r13"}, {"r12", "r12"}, {"bp", "rbp"},       {"bx", "rbx"},
    {"r11", "r11"}, {"r10", "r10"}, {"r9", "r9"},   {"r8", "r8"},   {"ax", "rax"},       {"cx", "rcx"},
    {"dx", "rdx"},  {"si", "rsi"},  {"di", "rdi"},  {"ip", "rip"},  {"flags", "eflags"}, {"sp", "rsp"},
};

pb::Frame frame_at(const dwarf::Symbols& syms, uint64_t addr) {
  pb::Frame f;
  f.set_address(addr);
  auto s = syms.symbolize(GuestAddr(addr));
  if (s && !s->function.empty()) {
    f.set_function(s->function);
    f.set_offset(s->offset);
    f.set_text(s->text);
  } else {
    f.set_text(GuestAddr(addr).hex());
  }
  return f;
}

}  // namespace

Result<CrashTraps> crash_traps(const dwarf::Symbols& syms) {
  CrashTraps out;
  for (const auto& [name, reg] : {std::pair<const char*, const char*>{"page_fault_oops", "rdi"}, {"die", "rsi"}}) {
    auto a = syms.address_of(name);
    if (!a.ok()) continue;
    out.addrs.push_back(*a);
    out.regs_arg[a->value()] = reg;
  }
  if (out.addrs.empty())
    return make_error(ErrorKind::kInput,
                      syms.path() + " has neither page_fault_oops nor die: --attach cannot stop at the crash");
  return out;
}

Result<pb::Oops> rewind_to_fault(schedule::Target& target, const dwarf::Symbols& syms, const CrashTraps& traps,
                                 int vcpu, std::chrono::milliseconds rsp_timeout) {
  auto d = [&] { return Deadline::after(rsp_timeout); };
  RACERIG_ASSIGN(uint64_t pc, target.read_register(vcpu, "rip", d()));
  auto arg = traps.regs_arg.find(pc);
  if (arg == traps.regs_arg.end())
    return make_error(ErrorKind::kInternal,
                      "vCPU " + std::to_string(vcpu) + " is not at a crash trap (rip " + GuestAddr(pc).hex() + ")");
  RACERIG_ASSIGN(uint64_t regs, target.read_register(vcpu, arg->second, d()));
  std::map<std::string, uint64_t> values;
  for (const auto& [member, name] : kRegs) {
    RACERIG_ASSIGN(uint64_t off, syms.member_offset("pt_regs", member));
    RACERIG_ASSIGN(auto bytes, target.read_memory(vcpu, GuestAddr(regs + off), 8, d()));
    values[name] = le(bytes);
  }
  for (const auto& [member, name] : kRegs) {
    Status s = target.write_register(vcpu, name, values[name], d());
    if (!s.ok()) return s.error().wrap("putting vCPU " + std::to_string(vcpu) + " back at the fault");
  }
  pb::Oops oops;
  oops.set_kind("BUG");
  oops.set_cpu(vcpu);
  *oops.mutable_rip() = frame_at(syms, values["rip"]);
  oops.set_headline(
      "kernel fault at " + oops.rip().text() + " (stopped on " +
      (syms.symbolize(GuestAddr(pc)) ? syms.symbolize(GuestAddr(pc))->function : std::string("the oops path")) +
      " before the report; vCPU " + std::to_string(vcpu) + " is back at the faulting instruction)");
  // The call trace through the frame pointers, from the faulting frame.
  uint64_t bp = values["rbp"];
  for (int i = 0; i < 24 && bp >= 0xffff800000000000ull; ++i) {
    auto next = target.read_memory(vcpu, GuestAddr(bp), 16, d());
    if (!next.ok() || next->size() < 16) break;
    std::vector<uint8_t> lo(next->begin(), next->begin() + 8), hi(next->begin() + 8, next->end());
    const uint64_t ret = le(hi);
    if (ret < 0xffff800000000000ull) break;
    *oops.add_trace() = frame_at(syms, ret);
    const uint64_t up = le(lo);
    if (up <= bp) break;
    bp = up;
  }
  std::string text = oops.headline() + "\nRIP: " + oops.rip().text() + "\nCall Trace:\n";
  for (const auto& f : oops.trace()) text += " " + f.text() + "\n";
  oops.set_text(text);
  return oops;
}

}  // namespace racerig::run
