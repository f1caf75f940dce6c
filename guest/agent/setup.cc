// Guest set-up: namespace, mkfs, mount.
#include "guest/agent/setup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "rig/base/file.h"
#include "rig/base/scoped_fd.h"
#include "rig/base/text.h"

namespace racerig::agent {

namespace {

constexpr size_t kKeepOutput = 4096;

std::string unescape_mount_field(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

void reap(pid_t pid, CommandResult* r) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    r->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r->exit_code = -1;
    r->signal = WTERMSIG(status);
  }
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Result<CommandResult> run_command(const std::vector<std::string>& argv, Deadline deadline) {
  if (argv.empty()) return make_error(ErrorKind::kInternal, "run_command: empty argv");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe for " + argv[0]);
  ScopedFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork for " + argv[0]);
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(wr.get(), 1);
    ::dup2(wr.get(), 2);
    ::execv(cargv[0], cargv.data());
    const char msg[] = "exec failed\n";
    ssize_t ignored = ::write(2, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(127);
  }
  wr.reset();
  CommandResult r;
  char buf[4096];
  for (;;) {
    struct pollfd pfd = {rd.get(), POLLIN, 0};
    int pr = ::poll(&pfd, 1, deadline.poll_timeout_ms());
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0 || deadline.expired()) {
      r.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    r.output.append(buf, static_cast<size_t>(n));
    if (r.output.size() > 2 * kKeepOutput) r.output.erase(0, r.output.size() - kKeepOutput);
  }
  if (r.output.size() > kKeepOutput) r.output.erase(0, r.output.size() - kKeepOutput);
  // EOF: the tool closed its output, so it is exiting; or it was killed.
  reap(pid, &r);
  return r;
}

std::optional<MountEntry> find_mount(std::string_view text, std::string_view target) {
  std::optional<MountEntry> found;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto words = split_words(text.substr(pos, end - pos));
    pos = end + 1;
    if (words.size() < 4) continue;
    MountEntry e{unescape_mount_field(words[0]), unescape_mount_field(words[1]), words[2], words[3]};
    if (e.target == target) found = e;
  }
  return found;
}

MountArgs split_mount_options(std::string_view options) {
  struct Flag {
    const char* name;
    unsigned long set, clear;
  };
  static constexpr Flag kFlags[] = {
      {"ro", MS_RDONLY, 0},          {"rw", 0, MS_RDONLY},
      {"nosuid", MS_NOSUID, 0},      {"suid", 0, MS_NOSUID},
      {"nodev", MS_NODEV, 0},        {"dev", 0, MS_NODEV},
      {"noexec", MS_NOEXEC, 0},      {"exec", 0, MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS, 0},   {"async", 0, MS_SYNCHRONOUS},
      {"dirsync", MS_DIRSYNC, 0},    {"noatime", MS_NOATIME, 0},
      {"atime", 0, MS_NOATIME},      {"nodiratime", MS_NODIRATIME, 0},
      {"diratime", 0, MS_NODIRATIME}, {"relatime", MS_RELATIME, 0},
      {"norelatime", 0, MS_RELATIME}, {"strictatime", MS_STRICTATIME, 0},
      {"lazytime", MS_LAZYTIME, 0},  {"nolazytime", 0, MS_LAZYTIME},
  };
  MountArgs out;
  size_t pos = 0;
  while (pos <= options.size()) {
    size_t end = options.find(',', pos);
    if (end == std::string_view::npos) end = options.size();
    const std::string_view opt = options.substr(pos, end - pos);
    pos = end + 1;
    if (opt.empty()) continue;
    bool generic = false;
    for (const Flag& f : kFlags) {
      if (opt != f.name) continue;
      out.flags = (out.flags | f.set) & ~f.clear;
      generic = true;
    }
    if (!generic) out.data += (out.data.empty() ? "" : ",") + std::string(opt);
  }
  return out;
}

std::string fs_type_name(uint64_t magic) {
  switch (magic) {
    case 0x58465342: return "xfs";
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x858458f6: return "ramfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: return hex(magic);
  }
}

Status check_empty_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno_error("opening " + dir);
  std::string found;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    // mkfs.ext4 makes lost+found: empty, it is part of an empty file system.
    if (name == "lost+found" && check_empty_dir(dir + "/" + name).ok()) continue;
    found += (found.empty() ? "" : ", ") + name;
  }
  ::closedir(d);
  if (!found.empty()) return make_error(ErrorKind::kIo, dir + " is not empty: " + found);
  return Status::Ok();
}

namespace {

// mkfs.xfs -q -f OPTIONS DEV, or mke2fs -q -F -t ext4 OPTIONS DEV.
std::vector<std::string> mkfs_argv(const Storage& storage, const SetupConfig& config, const std::string& device) {
  std::vector<std::string> argv = storage.fs == Filesystem::kExt4
                                      ? std::vector<std::string>{config.mke2fs, "-q", "-F", "-t", "ext4"}
                                      : std::vector<std::string>{config.mkfs, "-q", "-f"};
  for (auto& w : split_words(storage.mkfs_options)) argv.push_back(w);
  argv.push_back(device);
  return argv;
}

Status make_filesystem(const Storage& storage, const SetupConfig& config, const std::string& device,
                       const Reporter& reporter) {
  const std::vector<std::string> argv = mkfs_argv(storage, config, device);
  std::string cmdline;
  for (const auto& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
  RACERIG_ASSIGN(CommandResult mk, run_command(argv, Deadline::after(config.mkfs_limit)));
  if (mk.timed_out)
    return make_error(ErrorKind::kTimeout, cmdline + " did not finish in " +
                                               std::to_string(config.mkfs_limit.count() / 1000) + " s: " + mk.output);
  if (mk.exit_code != 0)
    return make_error(ErrorKind::kIo, "setup.mkfs: " + cmdline + " failed (" +
                                          (mk.signal != 0 ? "signal " + std::to_string(mk.signal)
                                                          : "exit " + std::to_string(mk.exit_code)) +
                                          "): " + mk.output);
  pb::AgentEvent mkev;
  mkev.set_kind(pb::AgentEvent::SETUP);
  mkev.set_message(cmdline);
  reporter.emit(mkev);
  return Status::Ok();
}

}  // namespace

Status setup_filesystem(const pb::GuestSetup& setup, const SetupConfig& config, const Reporter& reporter,
                        SetupMode mode) {
  RACERIG_ASSIGN(const Storage storage, resolve_storage(setup));
  if (mode != SetupMode::kFull && !(storage.device == Device::kPmem && storage.mounted()))
    return make_error(ErrorKind::kInput, "an NVDIMM template is only made or used for a file system on pmem, not " +
                                             storage_text(storage));
  std::string namespace_mode_now;
  std::string device;
  if (storage.device == Device::kPmem && storage.mounted()) {
    device = config.nvdimm.device;
    std::string how;
    if (mode == SetupMode::kFromTemplate) {
      // The template's pfn info block makes the kernel bring the namespace
      // up in fsdax by itself; anything else means the image is not one.
      RACERIG_ASSIGN(std::string m, namespace_mode(config.nvdimm));
      if (m != "fsdax")
        return make_error(ErrorKind::kIo, "the NVDIMM image should be a racerig template (namespace " +
                                              config.nvdimm.ns + " in fsdax) but the namespace is " + m);
      how = config.nvdimm.ns + " came up fsdax from the template image";
    } else {
      auto did = ensure_fsdax(config.nvdimm);
      if (!did.ok()) return did.error().wrap("putting the NVDIMM namespace into fsdax");
      how = *did;
    }
    RACERIG_TRY(wait_for_path(device, Deadline::after(config.device_wait)));
    auto ns_mode = namespace_mode(config.nvdimm);
    namespace_mode_now = ns_mode.ok() ? *ns_mode : "?";
    pb::AgentEvent ns;
    ns.set_kind(pb::AgentEvent::SETUP);
    ns.set_message(how);
    ns.set_namespace_mode(namespace_mode_now);
    reporter.emit(ns);
  } else if (storage.device == Device::kVirtioBlk) {
    device = config.virtio_device;
    if (Status s = wait_for_path(device, Deadline::after(config.device_wait)); !s.ok())
      return s.error().wrap("setup.device: virtio_blk: the disk did not appear (does the kernel have VIRTIO_BLK?)");
    pb::AgentEvent disk;
    disk.set_kind(pb::AgentEvent::SETUP);
    disk.set_message("virtio_blk disk " + device);
    reporter.emit(disk);
  }

  if (storage.mounted()) {
    if (mode != SetupMode::kFromTemplate) RACERIG_TRY(make_filesystem(storage, config, device, reporter));
    ::mkdir(config.mountpoint.c_str(), 0755);
    const char* type = filesystem_name(storage.fs);
    const MountArgs args = split_mount_options(storage.mount_options);
    if (::mount(device.c_str(), config.mountpoint.c_str(), type, args.flags,
                args.data.empty() ? nullptr : args.data.c_str()) != 0) {
      const int err = errno;
      const std::string cmd = std::string("mount -t ") + type +
                              (storage.mount_options.empty() ? "" : " -o " + storage.mount_options) + " " + device +
                              " " + config.mountpoint;
      if (err == EINVAL && !setup.mount_options().empty())
        return make_error(ErrorKind::kInput, "setup.mount_options \"" + setup.mount_options() +
                                                 "\": the kernel refused them (" + cmd + ": " + std::strerror(err) +
                                                 "; its console says which)");
      return make_error(ErrorKind::kIo, cmd + ": " + std::strerror(err));
    }
    if (mode != SetupMode::kFull) {
      if (Status s = check_empty_dir(config.mountpoint); !s.ok())
        return s.error().wrap(mode == SetupMode::kFromTemplate ? "the template's filesystem" : "the new filesystem");
    }
  }

  struct statfs sfs {};
  if (::statfs(config.mountpoint.c_str(), &sfs) != 0) return errno_error("statfs " + config.mountpoint);
  pb::AgentEvent ev;
  ev.set_kind(pb::AgentEvent::SETUP);
  ev.set_fs_type(fs_type_name(static_cast<uint64_t>(sfs.f_type)));
  std::string mounts = read_file("/proc/self/mounts").value_or("");
  auto entry = find_mount(mounts, config.mountpoint);
  if (!entry) entry = find_mount(mounts, "/");
  if (entry) {
    ev.set_mount_source(entry->source);
    ev.set_mount_options(entry->options);
  }
  ev.set_namespace_mode(namespace_mode_now);
  ev.set_message(storage.mounted() ? "mounted " + device + " on " + config.mountpoint + " (" +
                                         storage_text(storage) + ")" +
                                         (mode == SetupMode::kFromTemplate ? " (template image)" : "")
                                   : storage_text(storage) + ": " + config.mountpoint + " is not a separate mount");
  reporter.emit(ev);

  if (mode == SetupMode::kMakeTemplate) {
    // A clean unmount: every copy of the image mounts without log recovery.
    if (::umount2(config.mountpoint.c_str(), 0) != 0) return errno_error("umount " + config.mountpoint);
    ::sync();
    pb::AgentEvent done;
    done.set_kind(pb::AgentEvent::SETUP);
    done.set_message("template made: " + config.nvdimm.device + " unmounted cleanly");
    reporter.emit(done);
  }
  return Status::Ok();
}

}  // namespace racerig::agent
