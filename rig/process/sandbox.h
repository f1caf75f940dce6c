// The bubblewrap command lines that confine kernel builds and QEMU, in one
// place: fresh PID, IPC, network, UTS and user namespaces, an empty /tmp,
// and exactly one writable tree. A build sees only what a kernel build
// needs of the host (the toolchain in /usr, a few files of /etc, /dev,
// /proc): never /var, /home, /root, /srv, /work, the cache or racerigd's
// state. QEMU sees the whole system read-only. Every process inside dies
// with racerig (--die-with-parent; the PID namespace goes with its first
// process).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace racerig::process {

struct BuildSandbox {
  std::filesystem::path tree;  // the one writable directory
  std::filesystem::path cwd;   // where the command starts, as seen inside
  // Where the tree appears inside (empty: at its own path). A copy of a
  // tree mounted at the original's path builds incrementally: kbuild
  // records absolute paths (objtool).
  std::filesystem::path mount_at;
  // Directories replaced by an empty tmpfs (e.g. the kernel cache, so a
  // build sees neither the other trees nor the published kernels). The
  // tree is bound after them, so it may lie inside one.
  std::vector<std::filesystem::path> hidden;
  // Files or directories shown read-only at their own path (the source
  // tarball a tree is unpacked from), bound after the tree.
  std::vector<std::filesystem::path> read_only;
};

// The host paths every build sees read-only, besides /usr and the
// merged-/usr links (/bin, /lib, ...): the files of /etc a kernel build
// reads (measured: see README "Untrusted patches").
const std::vector<std::string>& build_etc_files();

// bwrap ... -- command: the system view above on an otherwise empty,
// read-only root, then `hidden`, the tree, `read_only`. With the sandbox disabled (sandbox_enabled()), the
// command itself.
std::vector<std::string> build_sandbox_argv(const BuildSandbox& box, const std::vector<std::string>& command);

struct VmSandbox {
  int run_dir_fd = -1;                // an open fd of the run directory (bound by fd:
  std::filesystem::path run_dir;      // its parents need not be searchable by the user)
  bool kvm = false;                   // /dev/kvm inside
  // Files from outside the run dir that QEMU maps in place (a ready-state
  // snapshot's memory files): each open fd is bound, writable, onto `at`,
  // an existing empty file in the run dir.
  struct File {
    int fd = -1;
    std::filesystem::path at;
  };
  std::vector<File> files;
  // When >= 0: bwrap writes its JSON status records here (--json-status-fd),
  // QEMU's own exit status among them.
  int status_fd = -1;
};

// bwrap ... -- QEMU: the run directory and `files` are the only writable
// places.
std::vector<std::string> vm_sandbox_argv(const VmSandbox& box, const std::vector<std::string>& command);

// False only with RACERIG_SANDBOX=off in the environment: for measuring the
// sandbox's cost, never for untrusted input.
bool sandbox_enabled();

}  // namespace racerig::process
