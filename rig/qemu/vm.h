// One QEMU process for one run: a fresh per-run directory with a fresh
// NVDIMM image, the serial console and the agent port on UNIX sockets we
// listen on, the gdbstub and QMP on sockets QEMU listens on. The Vm owns the
// process, every fd and the directory; whatever happens (errors, Ctrl-C,
// exceptions), destruction leaves no process, socket or directory behind.
// QEMU is confined: as the unprivileged worker user when racerig is root,
// with -sandbox (seccomp: no new privileges, no spawning), inside bubblewrap
// with the run directory as its only writable place (the kernel and initrd
// are copied there). A SIGKILLed racerig's run dir is removed by the next
// one (rig/machine/run_dir.h).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/base/scoped_fd.h"
#include "rig/machine/guest_ports.h"
#include "rig/machine/machine.h"
#include "rig/machine/vm_config.h"
#include "rig/process/process.h"
#include "rig/qmp/qmp.h"

namespace racerig::qemu {

// The QEMU command line for `cfg` in `run_dir` (exposed for tests and logs).
std::vector<std::string> qemu_argv(const machine::VmConfig& cfg, const std::filesystem::path& run_dir);

class Vm : public machine::Machine {
 public:
  // Creates the run dir and image, spawns QEMU, accepts its console and
  // agent connections and negotiates QMP. kInput for missing files, kIo for
  // a QEMU that fails to start (quoting its stderr), kTimeout at the deadline.
  static Result<std::unique_ptr<Vm>> start(const machine::VmConfig& cfg, Deadline deadline);
  ~Vm() override;
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  const std::string& gdb_socket_path() const override { return gdb_path_; }
  // Readable when console or agent bytes arrived, QEMU exited, or a cancel
  // signal came (an epoll fd; poll it, never read it).
  int event_fd() const override { return ports_ ? ports_->event_fd() : -1; }
  // Never blocks: reads what the console and agent sockets hold, reaps QEMU
  // if it exited.
  void drain_events() override;
  std::vector<std::string> take_new_console_lines() override;
  std::vector<std::string> take_new_agent_lines() override;
  const std::string& console_log() const override;
  uint64_t console_mark() const override { return ports_ ? ports_->console_mark() : 0; }
  std::string console_since(uint64_t mark) const override { return ports_ ? ports_->console_since(mark) : std::string(); }
  // Writes to the guest's second serial port (the agent's /dev/ttyS1).
  Status send_agent_line(std::string_view line) override;
  // QMP command on this VM (see qmp::Client::execute).
  Result<std::string> qmp(std::string_view command, std::string_view args_json, Deadline deadline);

  bool exited() const override { return exited_; }
  // QEMU's exit status, or 128 + the signal that killed it (inside the
  // sandbox: as bubblewrap reported it).
  int exit_status() const { return exit_status_; }
  std::string exit_text() const override { return exit_text_; }
  bool exit_failed() const override { return exit_failed_; }
  // Everything the agent port said (the raw lines, carriage returns removed).
  std::string agent_log() const override { return ports_ ? ports_->agent_log() : std::string(); }
  // The process we spawned (bubblewrap; QEMU runs inside it, in its group).
  pid_t pid() const { return pid_; }
  const std::filesystem::path& run_dir() const override { return run_dir_; }
  // The NVDIMM backing file: VmConfig::pmem_file when set, else the run
  // dir's own image.
  std::filesystem::path pmem_image_path() const override {
    return pmem_file_.empty() ? run_dir_ / "pmem.img" : pmem_file_;
  }
  // HMP savevm/loadvm of a named snapshot (needs snapshot_drive). The VM
  // keeps its run state (stopped stays stopped).
  Status save_snapshot(const std::string& name, Deadline deadline) override;
  Status load_snapshot(const std::string& name, Deadline deadline) override;
  // Forgets console/agent output read so far (before a restored run).
  void discard_output() override;

  // QEMU's own stderr/stdout so far.
  std::string qemu_log() const override;

  // Blocks until QEMU exits or a cancel signal comes (used by --attach, where
  // a human debugs the stopped VM).
  void wait_until_exit_or_cancel() override;
  // QMP quit, wait for the exit; at the deadline SIGTERM, then SIGKILL.
  // Always reaps and removes the run dir. Idempotent. Returns an error only
  // to say that QEMU had to be killed.
  Status shutdown(Deadline deadline) override;
  // Waits for QEMU to exit by itself (the guest powered off), keeping its
  // output flowing; kTimeout at the deadline, QEMU left running.
  Status wait_exit(Deadline deadline) override;

 private:
  Vm() = default;
  void reap(bool block);
  void remove_run_dir();

  std::filesystem::path run_dir_;
  std::filesystem::path pmem_file_;  // VmConfig::pmem_file
  std::string gdb_path_;
  pid_t pid_ = -1;
  std::unique_ptr<process::Child> child_;  // bwrap, and QEMU inside it
  std::unique_ptr<machine::GuestPorts> ports_;  // console and agent port, and the event fd
  std::unique_ptr<qmp::Client> qmp_;
  // bubblewrap's status records (--json-status-fd); invalid without the sandbox.
  ScopedFd status_;
  ScopedFd log_;  // qemu.log, QEMU's stdout and stderr
  bool sandboxed_ = false;
  bool exited_ = false;
  int exit_status_ = -1;
  std::string exit_text_;
  bool exit_failed_ = false;
  bool shut_down_ = false;
};

}  // namespace racerig::qemu
