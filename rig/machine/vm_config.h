// What a run's VM is made of, whichever backend starts it (rig/qemu's Vm or
// rig/libvirt's LibvirtVm): the checks both make before they create
// anything, and the NVDIMM image both put in the run dir. Some fields only
// the direct QEMU backend honours (said below).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "rig/base/result.h"

namespace racerig::machine {

struct VmConfig {
  std::string qemu = "qemu-system-x86_64";
  std::filesystem::path bzimage, initrd;
  std::string append;  // kernel command line
  int cpus = 2;
  bool kvm = false;            // -accel kvm instead of tcg (hosts where KVM boots a stock kernel)
  bool start_paused = true;    // -S: no vCPU runs until the gdb client resumes them
  bool firmware_only = false;  // no -kernel/-initrd/-append: just SeaBIOS (tests)
  // A small unattached qcow2 drive (made with qemu-img) to hold savevm
  // snapshots; a snapshot includes the NVDIMM's contents.
  bool snapshot_drive = false;
  std::string qemu_img = "qemu-img";
  int memory_mb = 512;
  int pmem_mb = 512;  // size of the fresh NVDIMM backing file
  // When set: the NVDIMM backing file starts as a copy of this image (its
  // size must be pmem_mb) instead of zeroes. Copied sparsely, or cloned.
  std::filesystem::path pmem_template;
  // Direct QEMU only. Ready-state snapshots restored by mapping files (see
  // rig/qemu/migration.h): guest RAM from this file (memory-backend-file)
  // instead of anonymous memory; empty: anonymous RAM.
  std::filesystem::path ram_file;
  // Direct QEMU only. The NVDIMM's backing file, used in place (not copied
  // into the run dir, not removed with it); empty: a fresh image in the run dir.
  std::filesystem::path pmem_file;
  // Direct QEMU only. How ram_file and pmem_file are mapped: true (share=on)
  // makes guest writes reach the files (making a ready state); false
  // (share=off) maps them copy-on-write (MAP_PRIVATE), so nothing the guest
  // writes reaches them. The run dir's own fresh NVDIMM image is always shared.
  bool share_files = true;
  // Direct QEMU only. -incoming defer: the VM waits, paused, for a migration stream.
  bool incoming = false;
  std::filesystem::path run_parent;  // where the run dir is made (empty: $TMPDIR or /tmp)
  // A virtio-blk disk (the guest's /dev/vda) of this many MiB, a qcow2
  // image in the run dir (kDiskImage), so that savevm/loadvm cover it too;
  // 0: no disk. It starts empty, or as a copy of disk_template (a ready
  // state's disk: its size must be disk_mb).
  int disk_mb = 0;
  std::filesystem::path disk_template;
};

// The disk's file name in the run dir.
inline constexpr char kDiskImage[] = "disk.qcow2";

// The command that makes a fresh disk at `img` (qemu-img create -f qcow2 IMG
// <disk_mb>M); empty when the disk comes from disk_template or there is none.
std::vector<std::string> disk_create_argv(const VmConfig& cfg, const std::filesystem::path& img);

// What every backend checks before it makes anything: a vCPU count from 1 to
// 64; unless firmware_only, a kernel and an initrd that are regular files;
// when the run makes its own NVDIMM image from pmem_template (pmem_file
// empty), a template of exactly pmem_mb MiB; a disk of 0 to 65536 MiB,
// and a disk_template (when set) that is a file and comes with a disk.
// kInput naming the value or the file and what was expected.
Status check_config(const VmConfig& cfg);

// The run's own NVDIMM image at `img` (which must not exist): a sparse copy
// of cfg.pmem_template when set, else a sparse file of pmem_mb MiB of zeroes.
// Assumes check_config passed. kIo naming the file and the step that failed.
Status make_pmem_image(const VmConfig& cfg, const std::filesystem::path& img);

}  // namespace racerig::machine
