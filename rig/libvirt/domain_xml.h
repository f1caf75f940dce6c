// The libvirt domain XML of one racerig VM, built from data: the same
// machine as the direct QEMU backend (pc with an NVDIMM, two serial ports,
// the gdbstub), expressed in libvirt's elements where it has them and as
// <qemu:commandline> arguments where it has none (the gdbstub, a QMP socket
// of our own).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace racerig::libvirt {

struct DomainSpec {
  std::string name;
  std::string emulator = "/usr/bin/qemu-system-x86_64";
  bool kvm = false;  // type='kvm' instead of 'qemu' (TCG)
  int cpus = 2;
  int memory_mb = 512;
  int pmem_mb = 512;
  std::filesystem::path kernel, initrd;  // both empty: firmware only
  std::string cmdline;
  std::filesystem::path pmem_image;      // the NVDIMM's backing file
  std::filesystem::path snapshot_disk;   // a qcow2 for savevm (empty: none)
  std::filesystem::path virtio_disk;     // a qcow2 the guest sees as /dev/vda (empty: none)
  // Serial port 0, the console: a pipe chardev on the FIFOs PATH.in and
  // PATH.out (guest_ports.h says why a pipe).
  std::filesystem::path console_pipe;
  // Serial port 1: a UNIX socket racerig listens on; QEMU connects.
  std::filesystem::path agent_socket;
  // UNIX sockets QEMU listens on.
  std::filesystem::path gdb_socket, qmp_socket;
  // An element for <metadata> (owner.h's owner_element), or empty.
  std::string metadata_element;
  // "+UID:+GID": QEMU runs as that user and libvirt relabels nothing (the
  // caller makes the files accessible). Unset: libvirt's default.
  std::optional<std::string> dac_label;
};

// The domain XML for `spec` (no XML declaration, two-space indentation).
// Deterministic: the same spec gives the same text.
std::string domain_xml(const DomainSpec& spec);

}  // namespace racerig::libvirt
