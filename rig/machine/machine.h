// The VM of one run as the run code sees it, whatever starts it: the direct
// QEMU process (rig/qemu's Vm) or a transient libvirt domain (rig/libvirt's
// LibvirtVm); rig/run/backend.h chooses and starts one.
// Both give the same machine (pc, NVDIMM, two serial ports, gdbstub) with
// the console and the agent port on UNIX sockets racerig listens on and the
// gdbstub on a UNIX socket QEMU listens on, all in the run directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"

namespace racerig::machine {

class Machine {
 public:
  virtual ~Machine() = default;

  // The gdbstub's UNIX socket.
  virtual const std::string& gdb_socket_path() const = 0;
  // Readable when console or agent bytes arrived, the VM ended, or a cancel
  // signal came (an epoll fd; poll it, never read it).
  virtual int event_fd() const = 0;
  // Never blocks long: reads what the console and agent sockets hold and
  // notices the VM's end.
  virtual void drain_events() = 0;
  virtual std::vector<std::string> take_new_console_lines() = 0;
  virtual std::vector<std::string> take_new_agent_lines() = 0;
  // What the console said (carriage returns removed): all of it, or its
  // head and tail around a "[racerig: N bytes cut]" line once it grew past
  // BoundedLog's caps (rig/machine/bounded_log.h).
  virtual const std::string& console_log() const = 0;
  // A mark of the console so far, and what it said after a mark (bounded
  // the same way): one run's console on a VM that serves several.
  virtual uint64_t console_mark() const = 0;
  virtual std::string console_since(uint64_t mark) const = 0;
  // Writes to the guest's second serial port (the agent's /dev/ttyS1);
  // kTimeout when it takes no bytes for 5 s.
  virtual Status send_agent_line(std::string_view line) = 0;

  // Whether the VM (its QEMU) is gone.
  virtual bool exited() const = 0;
  // Once exited(): how QEMU ended, in the words of what happened ("QEMU was
  // killed by signal 9 (SIGKILL); its stderr is empty"); empty while it
  // runs or where the backend cannot tell.
  virtual std::string exit_text() const { return {}; }
  // Once exited(): QEMU was killed by a signal or exited with a non-zero
  // status (not a guest power-off, not a panic with -no-reboot).
  virtual bool exit_failed() const { return false; }
  // Waits for the VM to end by itself (the guest powered off), keeping its
  // output flowing; kTimeout at the deadline, the VM left running.
  virtual Status wait_exit(Deadline deadline) = 0;
  // Blocks until the VM ends or a cancel signal comes (--attach).
  virtual void wait_until_exit_or_cancel() = 0;
  // Stops the VM for good (politely where the backend can, else by force by
  // the deadline) and removes the run directory. Idempotent. An error only
  // says that the VM had to be killed or could not be removed.
  virtual Status shutdown(Deadline deadline) = 0;

  // savevm/loadvm of a named snapshot (the NVDIMM included; needs the
  // snapshot drive). The VM keeps its run state: stopped stays stopped.
  virtual Status save_snapshot(const std::string& name, Deadline deadline) = 0;
  virtual Status load_snapshot(const std::string& name, Deadline deadline) = 0;
  // Forgets console/agent output read so far (before a restored run).
  virtual void discard_output() = 0;

  virtual const std::filesystem::path& run_dir() const = 0;
  // The NVDIMM backing file (in the run dir).
  virtual std::filesystem::path pmem_image_path() const { return run_dir() / "pmem.img"; }
  // QEMU's own stderr/stdout so far, where the backend can read it.
  virtual std::string qemu_log() const = 0;
  // Everything the agent port said so far (raw lines), where kept.
  virtual std::string agent_log() const { return {}; }
};

}  // namespace racerig::machine
