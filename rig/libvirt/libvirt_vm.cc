// A run's VM as a transient libvirt domain (see libvirt_vm.h).
#include "rig/libvirt/libvirt_vm.h"

#include <poll.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "rig/base/file.h"
#include "rig/libvirt/domain_log.h"
#include "rig/libvirt/domain_xml.h"
#include "rig/libvirt/owner.h"
#include "rig/machine/run_dir.h"
#include "rig/machine/sparse_copy.h"
#include "rig/process/cancel.h"
#include "rig/process/process.h"

namespace racerig::libvirt {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// The user QEMU runs as when racerig is root on a local URI: Debian's
// libvirt user (libvirt-daemon-system creates it).
constexpr char kQemuUser[] = "libvirt-qemu";

struct Ids {
  uid_t uid;
  gid_t gid;
};

// Whether QEMU should run as kQemuUser: racerig is root and the URI is on
// this host. Otherwise libvirt's own choice stands (a session or unprivileged
// embedded driver runs QEMU as racerig's user; a remote host as its own).
Result<std::optional<Ids>> qemu_ids(const std::string& uri) {
  if (::geteuid() != 0) return std::optional<Ids>();
  const bool local = uri.rfind("qemu:///", 0) == 0 || uri.rfind("qemu+unix:///", 0) == 0;
  if (!local) return std::optional<Ids>();
  const passwd* pw = ::getpwnam(kQemuUser);
  if (pw == nullptr)
    return make_error(ErrorKind::kInput, std::string("user ") + kQemuUser +
                                             " does not exist (install libvirt-daemon-system; racerig doctor)");
  return std::optional<Ids>(Ids{pw->pw_uid, pw->pw_gid});
}

std::string unique_name() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  char rand[8];
  std::snprintf(rand, sizeof rand, "%04x", static_cast<unsigned>(rd()) & 0xffffu);
  return std::string(kDomainPrefix) + std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" + rand;
}

// Hands the run dir and everything in it to QEMU's user (racerig, as root,
// keeps access).
Status give_to(const fs::path& dir, const Ids& ids) {
  std::error_code ec;
  if (::chown(dir.c_str(), ids.uid, ids.gid) != 0) return errno_error("chown " + dir.string());
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (::lchown(entry.path().c_str(), ids.uid, ids.gid) != 0) return errno_error("chown " + entry.path().string());
  if (ec) return make_error(ErrorKind::kIo, "listing " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<LibvirtVm>> LibvirtVm::start(const machine::VmConfig& cfg, const std::string& uri,
                                                     Deadline deadline) {
  RACERIG_TRY(machine::check_config(cfg));
  RACERIG_ASSIGN(std::optional<Ids> ids, qemu_ids(uri));
  std::unique_ptr<LibvirtVm> vm(new LibvirtVm());
  // A held embedded root is a wait the user should see (stderr: the CLI's
  // progress, racerigd's log).
  RACERIG_ASSIGN(vm->conn_, shared_connection(uri, deadline, [](const std::string& line) {
                   std::fprintf(stderr, "%s\n", line.c_str());
                 }));

  // No owner record in the dir: the run registry (record_run below) is this
  // backend's, and its sweeper removes the dir with the domain.
  RACERIG_ASSIGN(vm->run_dir_, machine::make_run_dir(cfg.run_parent));
  vm->gdb_path_ = (vm->run_dir_ / "gdb.sock").string();
  RACERIG_TRY(machine::make_pmem_image(cfg, vm->pmem_image_path()));
  DomainSpec spec;
  if (!cfg.firmware_only) {
    // Copies, so that QEMU's user can read them whatever the cache's modes.
    spec.kernel = vm->run_dir_ / "bzImage";
    spec.initrd = vm->run_dir_ / "initrd";
    RACERIG_TRY(machine::copy_sparse(cfg.bzimage, spec.kernel));
    RACERIG_TRY(machine::copy_sparse(cfg.initrd, spec.initrd));
    spec.cmdline = cfg.append;
  }
  if (cfg.snapshot_drive) {
    spec.snapshot_disk = vm->run_dir_ / "snapshots.qcow2";
    process::Limits limits;
    limits.deadline = deadline;
    RACERIG_TRY(process::run_checked({{cfg.qemu_img, "create", "-q", "-f", "qcow2", spec.snapshot_disk.string(), "64M"}},
                                     limits));
  }
  if (cfg.disk_mb > 0) {
    spec.virtio_disk = vm->run_dir_ / machine::kDiskImage;
    if (!cfg.disk_template.empty()) {
      RACERIG_TRY(machine::copy_sparse(cfg.disk_template, spec.virtio_disk));
    } else {
      process::Limits limits;
      limits.deadline = deadline;
      RACERIG_TRY(process::run_checked({machine::disk_create_argv(cfg, spec.virtio_disk)}, limits));
    }
  }
  RACERIG_ASSIGN(machine::GuestPorts ports, machine::GuestPorts::listen(vm->run_dir_));
  vm->ports_ = std::make_unique<machine::GuestPorts>(std::move(ports));
  if (ids) {
    RACERIG_TRY(give_to(vm->run_dir_, *ids));
    spec.dac_label = "+" + std::to_string(ids->uid) + ":+" + std::to_string(ids->gid);
  }

  spec.name = unique_name();
  spec.emulator = cfg.qemu.find('/') == std::string::npos ? "/usr/bin/" + cfg.qemu : cfg.qemu;
  spec.kvm = cfg.kvm;
  spec.cpus = cfg.cpus;
  spec.memory_mb = cfg.memory_mb;
  spec.pmem_mb = cfg.pmem_mb;
  spec.pmem_image = vm->pmem_image_path();
  spec.console_pipe = vm->ports_->console_pipe();
  spec.agent_socket = vm->ports_->agent_path();
  spec.gdb_socket = vm->gdb_path_;
  spec.qmp_socket = vm->run_dir_ / "qmp.sock";
  OwnerTag tag = self_owner();
  tag.run_dir = vm->run_dir_.string();
  spec.metadata_element = owner_element(tag);
  RACERIG_TRY(record_run(default_run_registry(), spec.name, tag));
  vm->recorded_ = spec.name;
  RACERIG_ASSIGN(vm->dom_, create_transient(*vm->conn_, domain_xml(spec), spec.name, cfg.start_paused));

  LibvirtVm* self = vm.get();
  RACERIG_TRY(vm->ports_->accept(
      deadline,
      [self] { return is_active(self->dom_) ? std::string() : "domain " + self->dom_.name() + " is not running"; },
      {process::cancel_fd()}));
  std::error_code ec;
  if (!fs::exists(vm->gdb_path_, ec))
    return make_error(ErrorKind::kIo, "domain " + spec.name + " is up but " + vm->gdb_path_ + " does not exist");
  return vm;
}

LibvirtVm::~LibvirtVm() { (void)shutdown(Deadline::after(milliseconds(10000))); }

void LibvirtVm::check_exit() {
  // QEMU closing both serial connections is the sign of its end; libvirt
  // confirms (a transient domain that ended is gone).
  if (!exited_ && ports_ && ports_->both_closed() && !is_active(dom_)) exited_ = true;
}

void LibvirtVm::drain_events() {
  if (!ports_) return;
  ports_->drain();
  check_exit();
}

Status LibvirtVm::wait_exit(Deadline deadline) {
  while (!exited_) {
    drain_events();
    if (exited_) break;
    if (!is_active(dom_)) {
      exited_ = true;
      break;
    }
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, "domain " + dom_.name() + " did not end in time");
    pollfd p{ports_ ? ports_->event_fd() : -1, POLLIN, 0};
    (void)::poll(&p, 1, std::min(deadline.poll_timeout_ms(), 100));
  }
  return Status::Ok();
}

void LibvirtVm::wait_until_exit_or_cancel() {
  while (!exited_ && !process::cancelled()) {
    pollfd p{ports_ ? ports_->event_fd() : -1, POLLIN, 0};
    (void)::poll(&p, 1, 1000);
    drain_events();
    if (!is_active(dom_)) exited_ = true;
    (void)take_new_console_lines();
    (void)take_new_agent_lines();
  }
}

Status LibvirtVm::shutdown(Deadline) {
  if (shut_down_) return Status::Ok();
  shut_down_ = true;
  Status result = Status::Ok();
  if (ports_) ports_->drain();
  qmp_.reset();
  if (dom_.valid() && conn_) result = destroy(*conn_, dom_);
  dom_.reset();
  exited_ = true;
  if (ports_) ports_->close();
  if (!run_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(run_dir_, ec);
  }
  if (!recorded_.empty()) forget_run(default_run_registry(), recorded_);
  return result;
}

Status LibvirtVm::monitor_command(const std::string& command) {
  RACERIG_ASSIGN(std::string text, hmp(*conn_, dom_, command));
  // HMP answers nothing on success and prints its error otherwise.
  if (text.find_first_not_of(" \r\n") != std::string::npos)
    return make_error(ErrorKind::kIo, command + " on domain " + dom_.name() + ": " + text);
  return Status::Ok();
}

Status LibvirtVm::save_snapshot(const std::string& name, Deadline) { return monitor_command("savevm " + name); }
Status LibvirtVm::load_snapshot(const std::string& name, Deadline) { return monitor_command("loadvm " + name); }

std::string LibvirtVm::qemu_log() const {
  if (auto path = domain_log_path(conn_ ? conn_->uri() : "", dom_.name())) return read_file(*path).value_or("");
  return "";
}

std::string LibvirtVm::exit_text() const {
  if (!exited_ || shut_down_) return "";
  const std::string said = domain_end_from_log(qemu_log());
  return "QEMU ended (domain " + dom_.name() + "; " +
         (said.empty() ? "libvirt keeps no log racerig can read for " + (conn_ ? conn_->uri() : std::string("this URI"))
                       : said) +
         ")";
}

bool LibvirtVm::exit_failed() const { return exited_ && !shut_down_ && domain_failed_from_log(qemu_log()); }

Result<std::string> LibvirtVm::qmp(std::string_view command, std::string_view args_json, Deadline deadline) {
  if (!qmp_) {
    RACERIG_ASSIGN(qmp::Client client, qmp::Client::connect((run_dir_ / "qmp.sock").string(), deadline));
    qmp_ = std::make_unique<qmp::Client>(std::move(client));
  }
  return qmp_->execute(command, args_json, deadline);
}

}  // namespace racerig::libvirt
