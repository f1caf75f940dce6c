// Runs from a ready-state snapshot (see snapshot_runner.h).
#include "rig/run/snapshot_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "guest/initramfs/initramfs.h"
#include "rig/base/time.h"
#include "rig/machine/sparse_copy.h"
#include "rig/process/cancel.h"
#include "rig/process/process.h"
#include "rig/qemu/exit_status.h"
#include "rig/qemu/migration.h"
#include "rig/qemu/version.h"
#include "rig/qemu/vm.h"
#include "rig/run/boot.h"
#include "rig/run/enforce.h"
#include "rig/run/judge.h"
#include "rig/run/kept_logs.h"
#include "rig/run/live_vm.h"
#include "rig/run/pmem_template.h"
#include "rig/run/ready_store.h"
#include "rig/run/run_state.h"
#include "rig/run/standby_worker.h"

namespace racerig::run {

std::filesystem::path snapshot_store_dir(const std::filesystem::path& work_dir) { return work_dir / "snapshots"; }

namespace {

// `qemu --version`'s first line and the binary's identity, once per process.
struct QemuIdentity {
  std::string version, binary;
};
const QemuIdentity& qemu_identity(const std::string& qemu) {
  static std::mutex mu;
  static std::map<std::string, QemuIdentity> known;
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(qemu);
  if (it != known.end()) return it->second;
  QemuIdentity id;
  id.version = qemu::qemu_version(qemu, Deadline::after_seconds(20)).value_or("unknown");
  process::Limits path_limits;
  path_limits.deadline = Deadline::after_seconds(10);
  auto path = process::run_checked(process::Spec{{"sh", "-c", "command -v \"$0\"", qemu}}, path_limits);
  std::string resolved = path.ok() ? path->substr(0, path->find('\n')) : qemu;
  struct stat st {};
  if (::stat(resolved.c_str(), &st) == 0)
    id.binary = resolved + " " + std::to_string(st.st_size) + " bytes, mtime " + std::to_string(st.st_mtim.tv_sec) + "." +
                std::to_string(st.st_mtim.tv_nsec);
  else
    id.binary = resolved + " (not found)";
  return known.emplace(qemu, id).first->second;
}

Status make_sparse_file(const std::filesystem::path& p, int mb) {
  ScopedFd fd(::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("creating " + p.string());
  if (::ftruncate(fd.get(), static_cast<off_t>(mb) << 20) != 0) return errno_error("sizing " + p.string());
  return Status::Ok();
}

constexpr char kSnapshotName[] = "racerig-ready";

}  // namespace

// A run's VM restored from the persisted ready state (incoming path).
struct SnapshotRunner::Restored {
  Live live;
  double work_ms = 0;  // QEMU's launch, the device state, the gdbstub handshake
};

struct SnapshotRunner::State {
  std::unique_ptr<StandbyWorker> worker;  // first: destroyed after every VM it started
  bool incoming = false;
  std::vector<pb::AgentEvent> setup_events;  // what the agent said up to READY
  // loadvm: the one QEMU, stopped at the saved state between runs.
  Live live;
  // incoming: the published snapshot and the next run's VM, if restoring.
  std::optional<ReadySnapshotStore::Entry> entry;
  std::future<Result<Restored>> standby;
  // The logs of the standby VM's QEMU when it died while restoring.
  std::shared_ptr<std::optional<RunLogs>> standby_logs;
  ~State() {
    // A standby VM nobody will use: wait for it and let it go.
    if (standby.valid()) (void)standby.get();
  }
};

namespace {

// A fresh QEMU on the snapshot's files (copy-on-write), the device state
// loaded, the gdbstub connected: paused in the ready state. Thread-safe
// (touches only its own VM).
// When QEMU died on the way, its logs go to *dead_logs.
Result<std::unique_ptr<Live>> restore_incoming(const RunContext& ctx, const ReadySnapshotStore::Entry& e,
                                               std::optional<RunLogs>* dead_logs) {
  machine::VmConfig cfg = vm_config(ctx);
  cfg.initrd = e.file(kInitrdFile);
  cfg.ram_file = e.file(kRamFile);
  cfg.pmem_file = e.file(kPmemFile);
  // The disk is a file, not mapped memory: each run gets its own copy.
  if (cfg.disk_mb > 0) cfg.disk_template = e.file(kDiskFile);
  cfg.share_files = false;
  cfg.incoming = true;
  auto live = std::make_unique<Live>();
  RACERIG_ASSIGN(*live, start_live_with(ctx, cfg));
  RACERIG_ASSIGN(qemu::Vm* qemu, direct_qemu(*live));
  // A QEMU that died on the way: how it ended goes into the error (a killed
  // one says nothing about the snapshot).
  auto with_end = [&](Error err) {
    if (!qemu->exited()) (void)qemu->wait_exit(Deadline::after(milliseconds(2000)));
    if (qemu->exited() && err.message.find(qemu->exit_text()) == std::string::npos)
      err.message += "; " + qemu->exit_text();
    if (qemu->exited()) *dead_logs = RunLogs{qemu->console_log(), qemu->qemu_log(), qemu->agent_log()};
    return err;
  };
  if (Status s = qemu::load_device_state(*qemu, e.file(kDeviceStateFile), Deadline::after(milliseconds(30000)));
      !s.ok())
    return with_end(s.error().wrap("restoring the ready state from " + e.dir.string()));
  if (Status s = connect_gdb(ctx, *live); !s.ok()) return with_end(s.error());
  return live;
}

}  // namespace

SnapshotRunner::SnapshotRunner(const RunContext& ctx) : ctx_(ctx) {}
SnapshotRunner::~SnapshotRunner() = default;

std::string SnapshotRunner::method() const {
  if (!state_) return "";
  return state_->incoming ? "incoming" : "loadvm";
}

std::filesystem::path SnapshotRunner::snapshot_dir() const {
  return state_ && state_->entry ? state_->entry->dir : std::filesystem::path();
}

Status SnapshotRunner::prepare(const Progress& progress) {
  state_.reset();
  from_cache_ = false;
  // The incoming path maps the snapshot's files into a directly started
  // QEMU; libvirt's domains restore with loadvm (through its monitor).
  const bool libvirt = ctx_.options.backend == machine::Backend::kLibvirt;
  if (libvirt && ctx_.options.restore == RunOptions::Restore::kIncoming)
    return make_error(ErrorKind::kInput, "--restore incoming needs --backend qemu (libvirt restores with loadvm)");
  if (ctx_.options.restore != RunOptions::Restore::kLoadvm && !libvirt) {
    Status s = prepare_incoming(progress);
    // A killed QEMU is no reason to think incoming cannot work here.
    if (s.ok() || ctx_.options.restore == RunOptions::Restore::kIncoming || process::cancelled() ||
        qemu::says_qemu_was_killed(s.error().message))
      return s;
    progress("the incoming snapshot could not be made (" + s.error().message + "); restoring with loadvm instead");
  }
  return prepare_loadvm(progress);
}

// What defines this context's ready state, and its key.
struct SnapshotRunner::Identity {
  std::filesystem::path pmem_template;  // empty: the guest makes its filesystem
  pb::GuestPlan plan;
  std::string key_text, key, qemu_version;
};

Result<SnapshotRunner::Identity> SnapshotRunner::identity(const Progress& progress) const {
  pb::RunReport scratch;
  Phases phases(scratch);
  Identity id;
  RACERIG_ASSIGN(id.pmem_template, template_for_run(ctx_, progress, phases, false));
  id.plan = plan_of(ctx_, true, !id.pmem_template.empty());
  const QemuIdentity& qemu = qemu_identity(ctx_.options.qemu);
  SnapshotInputs in;
  in.kernel_build_id = ctx_.kernel.build_id;
  in.base_initramfs = ctx_.base_initramfs.filename().string();
  for (const auto& p : ctx_.programs) in.programs += (in.programs.empty() ? "" : " ") + p.name + "=" + p.key;
  {
    std::string bytes;
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    id.plan.SerializeToCodedStream(&coded);
    coded.Trim();
    in.guest_plan = bytes;
  }
  in.pmem_template = id.pmem_template.empty() ? "" : id.pmem_template.filename().string();
  in.append = ctx_.options.append;
  in.qemu_version = qemu.version;
  in.qemu_binary = qemu.binary;
  in.cpus = ctx_.options.cpus;
  in.memory_mb = ctx_.options.memory_mb;
  in.pmem_mb = kPmemMb;
  in.disk_mb = disk_mb(ctx_);
  in.kvm = ctx_.options.kvm;
  id.key_text = snapshot_key_text(in);
  id.key = snapshot_key(id.key_text);
  id.qemu_version = qemu.version;
  return id;
}

std::filesystem::path SnapshotRunner::cached_snapshot() const {
  auto id = identity([](const std::string&) {});
  if (!id.ok()) return {};
  const ReadySnapshotStore store(snapshot_store_dir(ctx_.options.work_dir));
  std::string why;
  auto found = store.find(id->key, id->key_text, &why);
  return found.ok() && *found ? (*found)->dir : std::filesystem::path();
}

Status SnapshotRunner::prepare_incoming(const Progress& progress) {
  namespace fs = std::filesystem;
  const auto t0 = Clock::now();
  RACERIG_ASSIGN(const Identity id, identity(progress));
  const fs::path& pmem = id.pmem_template;
  const pb::GuestPlan& plan = id.plan;
  const std::string& key_text = id.key_text;
  const std::string& key = id.key;
  const ReadySnapshotStore store(snapshot_store_dir(ctx_.options.work_dir));

  auto use = [&](ReadySnapshotStore::Entry e, bool cached) {
    auto state = std::make_unique<State>();
    state->incoming = true;
    state->setup_events.assign(e.meta.setup_events().begin(), e.meta.setup_events().end());
    state->entry = std::move(e);
    state_ = std::move(state);
    from_cache_ = cached;
    prepare_ms_ = ms_since(t0);
    if (cached) boot_ms_ = 0;
  };
  std::string why;
  RACERIG_ASSIGN(auto found, store.find(key, key_text, &why));
  if (!why.empty()) progress(why + "; making it again");
  if (found) {
    use(std::move(*found), true);
    return Status::Ok();
  }
  RACERIG_ASSIGN(ScopedFd lock, store.lock(key, Deadline::after(std::chrono::minutes(15))));
  why.clear();
  RACERIG_ASSIGN(found, store.find(key, key_text, &why));  // made while we waited?
  if (found) {
    use(std::move(*found), true);
    return Status::Ok();
  }

  progress("booting " + ctx_.kernel.variant + " to the ready state (once; kept in " + store.root().string() + ")");
  RACERIG_ASSIGN(fs::path staging, store.staging_dir(key));
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup{staging};
  if (!pmem.empty()) {
    RACERIG_TRY(machine::copy_sparse(pmem, staging / kPmemFile));
  } else {
    RACERIG_TRY(make_sparse_file(staging / kPmemFile, kPmemMb));
  }
  RACERIG_TRY(make_sparse_file(staging / kRamFile, ctx_.options.memory_mb));
  {
    RACERIG_ASSIGN(auto initrd, initramfs::write_run_initramfs(ctx_.base_initramfs, plan, run_files(ctx_)));
    RACERIG_TRY(machine::copy_sparse(initrd.path(), staging / kInitrdFile));
  }
  machine::VmConfig cfg = vm_config(ctx_);
  cfg.initrd = staging / kInitrdFile;
  cfg.ram_file = staging / kRamFile;
  cfg.pmem_file = staging / kPmemFile;
  cfg.share_files = true;
  RACERIG_ASSIGN(Live live, start_live_with(ctx_, cfg));
  RACERIG_TRY(connect_gdb(ctx_, live));
  RunState boot(ctx_, 0);  // the boot that makes the ready state, timed like a run
  boot.watch(ctx_, live);
  std::string not_ready = boot_to_ready(ctx_, boot, progress);
  if (!not_ready.empty()) return make_error(ErrorKind::kIo, "preparing the snapshot: " + not_ready);
  const double boot_ms = ms_since(t0);
  RACERIG_TRY(live.target->interrupt(Deadline::after(milliseconds(5000))));
  RACERIG_ASSIGN(qemu::Vm* qemu, direct_qemu(live));
  RACERIG_TRY(qemu::save_device_state(*qemu, staging / kDeviceStateFile, Deadline::after(milliseconds(60000))));
  // Once QEMU is gone the memory files hold the ready state.
  if (Status s = live.vm->shutdown(Deadline::after(milliseconds(10000))); !s.ok())
    return s.error().wrap("stopping the VM that made the ready state");
  // And the disk, which QEMU wrote in its run dir (gone with the VM).
  if (cfg.disk_mb > 0) RACERIG_TRY(machine::copy_sparse(live.vm->run_dir() / machine::kDiskImage, staging / kDiskFile));
  live = Live();

  pb::ReadySnapshot meta;
  meta.set_key(key);
  meta.set_key_text(key_text);
  meta.set_kernel_variant(ctx_.kernel.variant);
  meta.set_kernel_build_id(ctx_.kernel.build_id);
  meta.set_scenario(ctx_.scenario.scenario.name());
  meta.set_qemu_version(id.qemu_version);
  meta.set_cpus(ctx_.options.cpus);
  meta.set_memory_mb(ctx_.options.memory_mb);
  meta.set_pmem_mb(kPmemMb);
  for (const auto& e : boot.monitor->events()) *meta.add_setup_events() = e;
  meta.set_boot_ms(boot_ms);
  meta.set_prepare_ms(ms_since(t0));
  meta.set_created(utc_now());
  auto published = store.publish(staging, meta);
  cleanup.dir.clear();  // publish removed or renamed it
  if (!published.ok()) {
    // Someone else's may be there: use it if it checks out.
    RACERIG_ASSIGN(found, store.find(key, key_text, &why));
    if (!found) return published.error();
    published = std::move(*found);
  }
  use(std::move(*published), false);
  boot_ms_ = boot_ms;
  return Status::Ok();
}

Status SnapshotRunner::prepare_loadvm(const Progress& progress) {
  const auto t0 = Clock::now();
  RunState boot(ctx_, 0);  // the boot that makes the ready state, timed like a run
  RACERIG_ASSIGN(std::filesystem::path pmem, template_for_run(ctx_, progress, boot.phases, false));
  progress("booting " + ctx_.kernel.variant + " to the ready state");
  RACERIG_ASSIGN(Live live, start_live(ctx_, plan_of(ctx_, true, !pmem.empty()), true, pmem));
  boot.watch(ctx_, live);
  std::string not_ready = boot_to_ready(ctx_, boot, progress);
  if (!not_ready.empty()) return make_error(ErrorKind::kIo, "preparing the snapshot: " + not_ready);
  RACERIG_TRY(live.target->interrupt(Deadline::after(milliseconds(5000))));
  RACERIG_TRY(live.vm->save_snapshot(kSnapshotName, Deadline::after(milliseconds(60000))));
  auto state = std::make_unique<State>();
  state->setup_events = boot.monitor->events();
  state->live = std::move(live);
  state_ = std::move(state);
  prepare_ms_ = ms_since(t0);
  boot_ms_ = 0;
  for (const auto& t : boot.report.timings()) boot_ms_ += t.ms();
  return Status::Ok();
}

pb::RunReport SnapshotRunner::run(int index, const Progress& progress, const std::string& go_argument,
                                  const Schedule* schedule) {
  // This run's schedule: the context's, or the one asked for (a copy of the
  // context; the standby restore reads only ctx_).
  std::optional<RunContext> own;
  if (schedule != nullptr) {
    own = ctx_;
    own->steps = schedule->steps;
    own->trace = schedule->trace;
    own->trace_first = schedule->trace_first;
  }
  const RunContext& ctx = own ? *own : ctx_;
  RunState run(ctx, index);
  run.report.set_from_snapshot(true);
  const bool usable = state_ && (state_->incoming || !state_->live.vm->exited());
  if (!usable) {
    if (Status s = prepare(progress); !s.ok()) {
      run.report.set_verdict(pb::INFRA_ERROR);
      run.report.set_reason(s.error().message);
      return std::move(run.report);
    }
    run.phases.mark("prepare");  // the one-time boot, set-up and save (or the cache lookup), charged to this run
  }
  if (state_->incoming)
    run_incoming(ctx, run, progress, go_argument);
  else
    run_loadvm(ctx, run, progress, go_argument);
  return std::move(run.report);
}

void SnapshotRunner::run_loadvm(const RunContext& ctx, RunState& run, const Progress& progress,
                                const std::string& go_argument) {
  run.report.set_restore_method("loadvm");
  Live& live = state_->live;
  machine::Machine& vm = *live.vm;
  verdict::Evidence& ev = run.evidence;
  bool usable = false;
  // Stop whatever the last run left running, then restore the ready state.
  auto stopped = live.target->interrupt(Deadline::after(milliseconds(5000)));
  Status restored =
      stopped.ok() ? vm.load_snapshot(kSnapshotName, Deadline::after(milliseconds(30000))) : Status(stopped.error());
  vm.discard_output();
  const uint64_t console_from = vm.console_mark();
  run.phases.mark("restore");
  run.watch(ctx_, live);
  if (!restored.ok()) {
    ev.infra_error = "restoring the ready-state snapshot: " + restored.error().message;
    ev.schedule_reason = ev.infra_error;
  } else {
    run.monitor->assume_ready();
    usable = enforce(ctx, run, go_argument.empty() ? "go" : "go " + go_argument, progress);
  }
  judge(ctx, run, state_->setup_events);
  run.report.set_console(vm.console_since(console_from));
  keep_logs(ctx_, vm, run.report.console(), run.report);
  // Leave the VM stopped for the next restore. A VM that cannot be stopped,
  // or that the run left unusable (an engine error, a failed disarm, an RSP
  // timeout), is rebuilt by the next run.
  if (!usable || !live.target->interrupt(Deadline::after(milliseconds(5000))).ok() || ev.infra_error.size() > 0)
    state_.reset();
  run.phases.mark("teardown");
}

void SnapshotRunner::run_incoming(const RunContext& ctx, RunState& run, const Progress& progress,
                                  const std::string& go_argument) {
  pb::RunReport& report = run.report;
  report.set_restore_method("incoming");
  // The standby VM when one was being restored, else one now. A snapshot
  // that QEMU rejects (corrupt, or from another QEMU) is removed and made
  // again, once.
  std::optional<RunLogs> dead_logs;  // of a QEMU that died while restoring
  auto take = [&]() -> Result<std::unique_ptr<Live>> {
    const auto start = Clock::now();
    if (state_->standby.valid()) {
      auto r = state_->standby.get();
      if (state_->standby_logs) dead_logs = *state_->standby_logs;
      if (!r.ok()) return r.error();
      report.set_restore_work_ms(r->work_ms);
      return std::make_unique<Live>(std::move(r->live));
    }
    auto r = restore_incoming(ctx_, *state_->entry, &dead_logs);
    report.set_restore_work_ms(ms_since(start));
    return r;
  };
  Result<std::unique_ptr<Live>> restored = take();
  // A QEMU killed under the restore is this run's infrastructure error; the
  // snapshot is not to blame.
  if (!restored.ok() && !process::cancelled() && !qemu::says_qemu_was_killed(restored.error().message)) {
    progress("the ready-state snapshot did not restore (" + restored.error().message + "); making it again");
    const ReadySnapshotStore store(snapshot_store_dir(ctx_.options.work_dir));
    (void)store.remove(state_->entry->meta.key());
    if (Status s = prepare(progress); !s.ok()) {
      restored = s.error();
    } else {
      run.phases.mark("prepare");
      if (!state_->incoming) return run_loadvm(ctx, run, progress, go_argument);
      restored = take();
    }
  }
  run.phases.mark("restore");
  if (!restored.ok()) {
    report.set_verdict(pb::INFRA_ERROR);
    report.set_reason("restoring the ready-state snapshot: " + restored.error().message);
    if (dead_logs) keep_logs(ctx_, *dead_logs, report);
    return;
  }
  // The next run's VM, restored while this one runs.
  if (remaining_ > 0) {
    --remaining_;
    const RunContext* standby_ctx = &ctx_;
    const ReadySnapshotStore::Entry entry = *state_->entry;
    if (!state_->worker) state_->worker = std::make_unique<StandbyWorker>();
    auto logs = std::make_shared<std::optional<RunLogs>>();
    state_->standby_logs = logs;
    // The worker follows this thread's cancellation (a racerigd job's token).
    state_->standby = state_->worker->submit([standby_ctx, entry, logs, token = process::current_token()]() -> Result<Restored> {
      process::ScopedCancel scope(token);
      const auto t = Clock::now();
      RACERIG_ASSIGN(auto live, restore_incoming(*standby_ctx, entry, logs.get()));
      Restored r;
      r.live = std::move(*live);
      r.work_ms = ms_since(t);
      return r;
    });
  }
  run.watch(ctx_, **restored);
  machine::Machine& vm = run.vm();
  run.monitor->assume_ready();
  (void)enforce(ctx, run, go_argument.empty() ? "go" : "go " + go_argument, progress);
  judge(ctx, run, state_->setup_events);
  report.set_console(vm.console_log());
  // The VM is disposable: its writes went to private copies only.
  Status s = vm.shutdown(Deadline::after(milliseconds(5000)));
  if (!s.ok() && report.verdict() != pb::INFRA_ERROR)
    report.set_reason(report.reason() + " (teardown: " + s.error().message + ")");
  keep_logs(ctx_, vm, vm.console_log(), report);
  run.phases.mark("teardown");
}

}  // namespace racerig::run
