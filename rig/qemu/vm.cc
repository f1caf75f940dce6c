// The QEMU process of one run (see vm.h).
#include "rig/qemu/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "rig/machine/run_dir.h"
#include "rig/machine/sparse_copy.h"
#include "rig/process/bwrap_status.h"
#include "rig/process/cancel.h"
#include "rig/process/process.h"
#include "rig/process/sandbox.h"
#include "rig/qemu/exit_status.h"

namespace racerig::qemu {

namespace fs = std::filesystem;

namespace {

// Gives `path` to the worker user (QEMU runs as it); no-op when we are it.
Status give_to(const fs::path& path, const std::optional<process::Identity>& who) {
  if (who && ::lchown(path.c_str(), who->uid, who->gid) != 0) return errno_error("giving " + path.string() + " to " + who->name);
  return Status::Ok();
}

// Gives a memory file QEMU maps in place (a ready-state snapshot's RAM or
// NVDIMM) to the worker user, only when it is not its already: a chown
// changes the file's ctime, which the snapshot store checks before each use.
// QEMU 7.2 opens mem-path read-write even for a copy-on-write mapping.
Status give_mapped_file(const fs::path& path, const std::optional<process::Identity>& who) {
  if (!who) return Status::Ok();
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno_error("stat " + path.string());
  if (st.st_uid == who->uid && st.st_gid == who->gid && (st.st_mode & S_IRUSR) != 0 && (st.st_mode & S_IWUSR) != 0)
    return Status::Ok();
  if (::lchown(path.c_str(), who->uid, who->gid) != 0) return errno_error("giving " + path.string() + " to " + who->name);
  if (::chmod(path.c_str(), (st.st_mode & 07777) | S_IRUSR | S_IWUSR) != 0) return errno_error("chmod " + path.string());
  return Status::Ok();
}

// bubblewrap resolves a bound path (even one bound by fd) as the user QEMU
// runs as, so that user must be able to search every directory above it.
// kInput naming the first one that it cannot, and the fix.
Status check_reachable(const fs::path& path, const std::optional<process::Identity>& who, const std::string& what) {
  if (!who) return Status::Ok();
  for (fs::path dir = path.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return errno_error("checking " + dir.string());
    const bool in_group = st.st_gid == who->gid ||
                          std::find(who->groups.begin(), who->groups.end(), st.st_gid) != who->groups.end();
    const mode_t bit = st.st_uid == who->uid ? S_IXUSR : in_group ? S_IXGRP : S_IXOTH;
    if ((st.st_mode & bit) == 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return make_error(ErrorKind::kInput, "QEMU runs as user " + who->name + ", which cannot reach " + what + " " +
                                               path.string() + ": " + dir.string() + " (mode " + mode +
                                               ") is closed to it. Put it under a directory that user can search (" +
                                               (what == "its run directory" ? "TMPDIR, e.g. /tmp" : "the cache, RACERIG_CACHE") + ")");
    }
    if (dir == dir.root_path()) break;
  }
  return Status::Ok();
}

}  // namespace

// A path inside a QEMU option value: commas are doubled.
std::string option_path(const fs::path& p) {
  std::string out;
  for (char c : p.string()) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::vector<std::string> qemu_argv(const machine::VmConfig& cfg, const fs::path& dir) {
  const std::string mem = std::to_string(cfg.memory_mb) + "M";
  const std::string share = cfg.share_files ? "on" : "off";
  const std::string pmem_share = cfg.pmem_file.empty() ? "on" : share;
  std::vector<std::string> argv = {cfg.qemu, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"};
  if (!cfg.ram_file.empty()) {
    argv.insert(argv.end(), {"-object", "memory-backend-file,id=ram0,share=" + share + ",mem-path=" +
                                            option_path(cfg.ram_file) + ",size=" + mem});
  }
  argv.insert(argv.end(), {
      "-machine", cfg.ram_file.empty() ? "pc,nvdimm=on" : "pc,nvdimm=on,memory-backend=ram0", "-accel", cfg.kvm ? "kvm" : "tcg", "-smp", std::to_string(cfg.cpus),
      "-m", mem + ",slots=2,maxmem=" + std::to_string(cfg.memory_mb + cfg.pmem_mb + 1024) + "M",
      "-object",
      "memory-backend-file,id=mem1,share=" + pmem_share + ",mem-path=" +
          option_path(cfg.pmem_file.empty() ? dir / "pmem.img" : cfg.pmem_file) + ",size=" +
          std::to_string(cfg.pmem_mb) + "M",
      "-device", "nvdimm,id=nv1,memdev=mem1",
      // The console is a pipe (guest_ports.h says why): console.in, console.out.
      "-chardev", "pipe,id=con,path=" + (dir / "console").string(), "-serial", "chardev:con",
      "-chardev", "socket,id=agent,path=" + (dir / "agent.sock").string(), "-serial", "chardev:agent",
      "-gdb", "unix:" + (dir / "gdb.sock").string() + ",server=on,wait=off",
      "-qmp", "unix:" + (dir / "qmp.sock").string() + ",server=on,wait=off",
      // No new privileges, no fork/exec, no obsolete or resource-control calls.
      "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"});
  if (cfg.incoming) argv.insert(argv.end(), {"-incoming", "defer"});
  if (cfg.snapshot_drive) {
    argv.insert(argv.end(), {"-drive", "if=none,id=snapshots,format=qcow2,file=" + (dir / "snapshots.qcow2").string()});
  }
  if (cfg.disk_mb > 0) {
    argv.insert(argv.end(), {"-drive", "if=none,id=disk0,format=qcow2,file=" + option_path(dir / machine::kDiskImage),
                             "-device", "virtio-blk-pci,drive=disk0"});
  }
  if (!cfg.firmware_only) {
    argv.insert(argv.end(), {"-kernel", cfg.bzimage.string(), "-initrd", cfg.initrd.string(), "-append", cfg.append});
  }
  if (cfg.start_paused) argv.push_back("-S");
  return argv;
}

Result<std::unique_ptr<Vm>> Vm::start(const machine::VmConfig& cfg, Deadline deadline) {
  RACERIG_TRY(machine::check_config(cfg));
  std::unique_ptr<Vm> vm(new Vm());
  RACERIG_ASSIGN(const std::optional<process::Identity> who, process::worker_identity());
  RACERIG_ASSIGN(vm->run_dir_, machine::make_run_dir(cfg.run_parent));
  machine::record_owner(vm->run_dir_);
  vm->gdb_path_ = (vm->run_dir_ / "gdb.sock").string();
  RACERIG_TRY(check_reachable(vm->run_dir_, who, "its run directory"));
  RACERIG_TRY(give_to(vm->run_dir_, who));

  for (const fs::path& p : {cfg.ram_file, cfg.pmem_file}) {
    std::error_code ec;
    if (!p.empty() && !fs::is_regular_file(p, ec))
      return make_error(ErrorKind::kInput, "QEMU needs the memory file " + p.string() + ", which does not exist");
  }
  vm->pmem_file_ = cfg.pmem_file;
  if (cfg.pmem_file.empty()) {  // else used in place
    // A private copy of the template, or a fresh sparse image, for every run.
    RACERIG_TRY(machine::make_pmem_image(cfg, vm->pmem_image_path()));
    RACERIG_TRY(give_to(vm->pmem_image_path(), who));
  }
  // QEMU sees nothing writable but the run dir, and reads its kernel and
  // initrd from there too (the caller's files may be private or hidden).
  machine::VmConfig run_cfg = cfg;
  // Memory files mapped in place (a ready-state snapshot's, in the cache)
  // appear inside the sandbox bound by fd onto empty files in the run dir,
  // so nothing else of the cache is visible. bubblewrap still resolves
  // their path, so the worker user must be able to search its directories.
  std::vector<ScopedFd> mapped_fds;
  std::vector<process::VmSandbox::File> mapped;
  for (auto [from, to, name] : {std::tuple{&cfg.ram_file, &run_cfg.ram_file, "ram-mapped.img"},
                                std::tuple{&cfg.pmem_file, &run_cfg.pmem_file, "pmem-mapped.img"}}) {
    if (from->empty()) continue;
    RACERIG_TRY(check_reachable(*from, who, "the memory file"));
    RACERIG_TRY(give_mapped_file(*from, who));
    if (!process::sandbox_enabled()) continue;  // QEMU opens the file at its own path
    ScopedFd fd(::open(from->c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return errno_error("opening " + from->string());
    const fs::path inside = vm->run_dir_ / name;
    ScopedFd placeholder(::open(inside.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600));
    if (!placeholder.valid()) return errno_error("creating " + inside.string());
    RACERIG_TRY(give_to(inside, who));
    mapped.push_back({fd.get(), inside});
    mapped_fds.push_back(std::move(fd));
    *to = inside;
  }
  if (!cfg.firmware_only) {
    run_cfg.bzimage = vm->run_dir_ / "bzImage";
    run_cfg.initrd = vm->run_dir_ / "initrd";
    RACERIG_TRY(machine::copy_sparse(cfg.bzimage, run_cfg.bzimage));
    RACERIG_TRY(machine::copy_sparse(cfg.initrd, run_cfg.initrd));
    RACERIG_TRY(give_to(run_cfg.bzimage, who));
    RACERIG_TRY(give_to(run_cfg.initrd, who));
  }
  if (cfg.snapshot_drive) {
    process::Spec img{{cfg.qemu_img, "create", "-q", "-f", "qcow2", (vm->run_dir_ / "snapshots.qcow2").string(), "64M"}};
    img.identity = who;
    process::Limits l;
    l.deadline = deadline;
    if (auto made = process::run_checked(img, l); !made.ok()) return made.error().wrap("making the snapshot drive");
  }
  if (cfg.disk_mb > 0) {
    const fs::path disk = vm->run_dir_ / machine::kDiskImage;
    if (!cfg.disk_template.empty()) {
      RACERIG_TRY(machine::copy_sparse(cfg.disk_template, disk));
      RACERIG_TRY(give_to(disk, who));
    } else {
      process::Spec img{machine::disk_create_argv(cfg, disk)};
      img.identity = who;
      process::Limits l;
      l.deadline = deadline;
      if (auto made = process::run_checked(img, l); !made.ok()) return made.error().wrap("making the virtio-blk disk");
    }
  }
  RACERIG_ASSIGN(machine::GuestPorts ports, machine::GuestPorts::listen(vm->run_dir_));
  vm->ports_ = std::make_unique<machine::GuestPorts>(std::move(ports));
  for (const fs::path& fifo : vm->ports_->console_fifos()) RACERIG_TRY(give_to(fifo, who));
  RACERIG_TRY(give_to(vm->ports_->agent_path(), who));

  const std::vector<std::string> argv = qemu_argv(run_cfg, vm->run_dir_);
  const fs::path log = vm->run_dir_ / "qemu.log";
  // Kept open: the log is read through this fd, never by its name in a
  // directory QEMU can write to.
  ScopedFd log_fd(::open(log.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd.valid()) return errno_error("creating " + log.string());
  ScopedFd dir_fd(::open(vm->run_dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return errno_error("opening " + vm->run_dir_.string());
  // bubblewrap reports QEMU's own exit status on a pipe (its own exit
  // status is not QEMU's wait status).
  ScopedFd status_write;
  vm->sandboxed_ = process::sandbox_enabled();
  if (vm->sandboxed_) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("pipe for bubblewrap's status");
    vm->status_.reset(fds[0]);
    status_write.reset(fds[1]);
  }
  process::Spec spec;
  spec.argv =
      process::vm_sandbox_argv({dir_fd.get(), vm->run_dir_, cfg.kvm, mapped, vm->sandboxed_ ? status_write.get() : -1}, argv);
  spec.output_fd = log_fd.get();
  spec.identity = who;
  spec.keep_fds = {dir_fd.get()};
  if (status_write.valid()) spec.keep_fds.push_back(status_write.get());
  for (const auto& f : mapped) spec.keep_fds.push_back(f.fd);
  auto child = process::Child::spawn(spec);
  if (!child.ok()) return child.error().kind == ErrorKind::kInput ? child.error().wrap("QEMU") : child.error();
  vm->child_ = std::make_unique<process::Child>(std::move(*child));
  status_write.reset();  // bwrap holds it now; EOF once bwrap is gone
  vm->log_ = std::move(log_fd);
  vm->pid_ = vm->child_->pid();
  machine::record_qemu(vm->run_dir_, vm->pid_);
  const int pidfd = vm->child_->pidfd();

  const std::string command_line = [&] {
    std::string c;
    for (const auto& arg : argv) c += (c.empty() ? "" : " ") + arg;
    return c;
  }();
  auto qemu_died = [&] {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  };
  auto died = [&](const std::string& when) {
    vm->reap(true);
    return make_error(ErrorKind::kIo, "QEMU ended " + when + ": " + vm->exit_text_ + "\ncommand: " + command_line);
  };
  // QEMU connects to our two listeners while it sets up its chardevs. The
  // event fd also wakes on QEMU's exit (its pidfd) and on a cancel.
  RACERIG_TRY(vm->ports_->accept(
      deadline,
      [&]() -> std::string {
        if (!qemu_died()) return {};
        vm->reap(true);
        return vm->exit_text_ + "\ncommand: " + command_line;
      },
      {pidfd, process::cancel_fd()}));
  // QMP comes up once QEMU has finished setting up; a QEMU that dies on the
  // way (bad memory size, unusable accelerator) is noticed between attempts.
  Result<qmp::Client> client = make_error(ErrorKind::kTimeout, "QMP did not come up in time");
  while (true) {
    client = qmp::Client::connect((vm->run_dir_ / "qmp.sock").string(),
                                  deadline.earlier(Deadline::after(std::chrono::milliseconds(200))));
    if (client.ok()) break;
    if (qemu_died()) return died("during start-up");
    if (client.error().kind != ErrorKind::kTimeout) {
      // QEMU closing the socket on us is usually QEMU exiting: give it a
      // moment to be seen as dead so the error quotes its stderr.
      pollfd p{pidfd, POLLIN, 0};
      if (::poll(&p, 1, 2000) > 0) return died("during start-up");
    }
    if (client.error().kind != ErrorKind::kTimeout || deadline.expired()) return client.error().wrap("QEMU's QMP");
  }
  vm->qmp_ = std::make_unique<qmp::Client>(std::move(*client));
  std::error_code ec;
  if (!fs::exists(vm->gdb_path_, ec)) return make_error(ErrorKind::kIo, "QEMU is up but " + vm->gdb_path_ + " does not exist");

  return vm;
}

Vm::~Vm() { (void)shutdown(Deadline::after(std::chrono::milliseconds(3000))); }

void Vm::drain_events() {
  if (ports_) ports_->drain();
  reap(false);
}

std::vector<std::string> Vm::take_new_console_lines() {
  return ports_ ? ports_->take_console_lines() : std::vector<std::string>();
}
std::vector<std::string> Vm::take_new_agent_lines() {
  return ports_ ? ports_->take_agent_lines() : std::vector<std::string>();
}

const std::string& Vm::console_log() const {
  static const std::string kNone;
  return ports_ ? ports_->console_log() : kNone;
}

Status Vm::send_agent_line(std::string_view line) {
  if (!ports_) return make_error(ErrorKind::kIo, "the agent port is closed (QEMU exited?)");
  return ports_->send_agent_line(line);
}

Result<std::string> Vm::qmp(std::string_view command, std::string_view args_json, Deadline deadline) {
  if (!qmp_) return make_error(ErrorKind::kIo, "QMP is closed");
  return qmp_->execute(command, args_json, deadline);
}

Status Vm::save_snapshot(const std::string& name, Deadline deadline) {
  RACERIG_ASSIGN(std::string r, qmp("human-monitor-command", "{\"command-line\": " + qmp::json_quote("savevm " + name) + "}", deadline));
  // HMP answers "" on success and prints its error otherwise.
  auto text = qmp::json_string(r);
  if (!text || !text->empty()) return make_error(ErrorKind::kIo, "savevm " + name + ": " + (text ? *text : r));
  return Status::Ok();
}

Status Vm::load_snapshot(const std::string& name, Deadline deadline) {
  RACERIG_ASSIGN(std::string r, qmp("human-monitor-command", "{\"command-line\": " + qmp::json_quote("loadvm " + name) + "}", deadline));
  auto text = qmp::json_string(r);
  if (!text || !text->empty()) return make_error(ErrorKind::kIo, "loadvm " + name + ": " + (text ? *text : r));
  return Status::Ok();
}

void Vm::discard_output() {
  // The unfinished line too: a restored guest starts its lines afresh, and a
  // leftover prefix would hide the first line of the next oops.
  if (ports_) ports_->discard();
  reap(false);
}

std::string Vm::qemu_log() const {
  constexpr off_t kMax = 1 << 20;  // the last MiB
  struct stat st {};
  if (!log_.valid() || ::fstat(log_.get(), &st) != 0) return {};
  off_t from = st.st_size > kMax ? st.st_size - kMax : 0;
  std::string out(static_cast<size_t>(st.st_size - from), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(log_.get(), out.data() + got, out.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return from > 0 ? "...\n" + out : out;
}

void Vm::reap(bool block) {
  if (!child_ || exited_) return;
  if (block) {
    child_->wait(Deadline::after(std::chrono::hours(24)));
  } else if (!child_->try_reap()) {
    return;
  }
  exited_ = true;
  exit_status_ = child_->exit_code();
  const std::string log = qemu_log();
  if (sandboxed_) {
    // bwrap wrote its records before exiting: all of them are in the pipe.
    std::string records;
    char buf[4096];
    ssize_t n;
    while (status_.valid() && (n = ::read(status_.get(), buf, sizeof buf)) > 0) records.append(buf, static_cast<size_t>(n));
    status_.reset();
    auto parsed = process::parse_bwrap_status(records);
    std::optional<int> code = parsed.ok() ? parsed->exit_code : std::nullopt;
    if (code) exit_status_ = *code;
    exit_failed_ = !code || *code != 0;
    exit_text_ = describe_sandboxed_qemu_exit(code, child_->wait_status(), log);
    if (!parsed.ok()) exit_text_ += " (" + parsed.error().message + ")";
  } else {
    exit_failed_ = !WIFEXITED(child_->wait_status()) || WEXITSTATUS(child_->wait_status()) != 0;
    exit_text_ = describe_qemu_exit(child_->wait_status(), log);
  }
  if (ports_) ports_->unwatch(child_->pidfd());
}

Status Vm::wait_exit(Deadline deadline) {
  while (!exited_) {
    reap(false);
    if (exited_) break;
    if (deadline.expired()) return make_error(ErrorKind::kTimeout, "QEMU did not exit in time");
    if (child_) {
      pollfd p{child_->pidfd(), POLLIN, 0};
      (void)::poll(&p, 1, std::min(deadline.poll_timeout_ms(), 100));
    } else {
      ::usleep(10000);
    }
    drain_events();  // keep the console flowing so QEMU never blocks on it
  }
  return Status::Ok();
}

void Vm::wait_until_exit_or_cancel() {
  while (!exited_ && !process::cancelled()) {
    pollfd p{event_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 1000);
    drain_events();
    (void)take_new_console_lines();
    (void)take_new_agent_lines();
  }
}

void Vm::remove_run_dir() {
  if (run_dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(run_dir_, ec);
}

Status Vm::shutdown(Deadline deadline) {
  if (shut_down_) return Status::Ok();
  shut_down_ = true;
  Status result = Status::Ok();
  if (pid_ > 0 && !exited_) {
    drain_events();
    if (qmp_ && !exited_) (void)qmp_->execute("quit", "", deadline.earlier(Deadline::after(std::chrono::milliseconds(2000))));
    if (!wait_exit(deadline).ok()) {
      child_->signal_group(SIGTERM);
      if (!wait_exit(Deadline::after(std::chrono::milliseconds(2000))).ok()) {
        child_->signal_group(SIGKILL);
        reap(true);
      }
      result = make_error(ErrorKind::kTimeout, "QEMU did not quit when asked and was killed");
    }
  }
  drain_events();
  if (child_ && !exited_) {  // only when the polite path above was skipped
    child_->signal_group(SIGKILL);
    reap(true);
  }
  qmp_.reset();
  if (ports_) ports_->close();
  child_.reset();
  remove_run_dir();
  return result;
}

}  // namespace racerig::qemu
