// The VM of one run as a transient libvirt domain (machine::Machine): the same
// machine as the direct QEMU backend, started through libvirt's C API on
// any URI. Named "racerig-PID-N-RAND" with the owning racerig's tag in its
// <metadata> (owner.h), so that the next racerig sweeps it if this one is
// killed. The console and agent ports connect to racerig's UNIX sockets,
// the gdbstub and a QMP monitor listen on UNIX sockets in the run dir;
// snapshots go through libvirt's QEMU monitor passthrough (HMP savevm/loadvm,
// see the README for why not libvirt's snapshot API).
//
// Local URIs only for the sockets and files: a remote URI's QEMU runs on
// the remote host, where these paths must exist (see the README).
#pragma once

#include <memory>
#include <string>

#include "rig/base/deadline.h"
#include "rig/base/result.h"
#include "rig/libvirt/connection.h"
#include "rig/libvirt/handles.h"
#include "rig/machine/guest_ports.h"
#include "rig/machine/machine.h"
#include "rig/machine/vm_config.h"
#include "rig/qmp/qmp.h"

namespace racerig::libvirt {

class LibvirtVm : public machine::Machine {
 public:
  // Makes the run dir (NVDIMM image, snapshot drive, copies of the kernel and
  // initrd QEMU's user can read), starts the domain on `uri` (through the
  // process's shared connection, sweeping the domains of dead racerig processes on first
  // use), accepts its console and agent connections. kInput for missing
  // files or a bad URI, kIo for libvirt or QEMU failures (quoted, naming the
  // URI and domain), kTimeout at the deadline. On error nothing is left.
  static Result<std::unique_ptr<LibvirtVm>> start(const machine::VmConfig& cfg, const std::string& uri, Deadline deadline);
  ~LibvirtVm() override;
  LibvirtVm(const LibvirtVm&) = delete;
  LibvirtVm& operator=(const LibvirtVm&) = delete;

  const std::string& gdb_socket_path() const override { return gdb_path_; }
  int event_fd() const override { return ports_->event_fd(); }
  void drain_events() override;
  std::vector<std::string> take_new_console_lines() override { return ports_->take_console_lines(); }
  std::vector<std::string> take_new_agent_lines() override { return ports_->take_agent_lines(); }
  const std::string& console_log() const override { return ports_->console_log(); }
  uint64_t console_mark() const override { return ports_->console_mark(); }
  std::string console_since(uint64_t mark) const override { return ports_->console_since(mark); }
  std::string agent_log() const override { return ports_ ? ports_->agent_log() : std::string(); }
  Status send_agent_line(std::string_view line) override { return ports_->send_agent_line(line); }
  bool exited() const override { return exited_; }
  Status wait_exit(Deadline deadline) override;
  void wait_until_exit_or_cancel() override;
  // virDomainDestroy (QEMU holds nothing worth a polite quit), then the run
  // dir goes. Idempotent.
  Status shutdown(Deadline deadline) override;
  Status save_snapshot(const std::string& name, Deadline deadline) override;
  Status load_snapshot(const std::string& name, Deadline deadline) override;
  void discard_output() override { ports_->discard(); }
  const std::filesystem::path& run_dir() const override { return run_dir_; }
  // libvirt's log of this domain (QEMU's stderr and libvirt's lines) for the
  // embedded driver and qemu:///system; for other URIs it is on another
  // host (domain_log.h).
  std::string qemu_log() const override;
  // Once the domain ended by itself: how, from that log (libvirt's reason,
  // QEMU's "terminating on signal" line).
  std::string exit_text() const override;
  bool exit_failed() const override;

  const std::string& domain_name() const { return dom_.name(); }
  const std::string& uri() const { return conn_->uri(); }
  // A command on the domain's own QMP socket in the run dir (connected on
  // first use).
  Result<std::string> qmp(std::string_view command, std::string_view args_json, Deadline deadline);

 private:
  LibvirtVm() = default;
  void check_exit();
  Status monitor_command(const std::string& command);

  std::shared_ptr<Connection> conn_;
  Domain dom_;
  std::filesystem::path run_dir_;
  std::string gdb_path_;
  std::unique_ptr<machine::GuestPorts> ports_;
  std::unique_ptr<qmp::Client> qmp_;
  bool exited_ = false;
  bool shut_down_ = false;
  std::string recorded_;  // the domain's run record (connection.h), removed at shutdown
};

}  // namespace racerig::libvirt
