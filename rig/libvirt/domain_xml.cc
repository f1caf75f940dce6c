// The domain XML builder (see domain_xml.h).
#include "rig/libvirt/domain_xml.h"

#include <sstream>
#include <string_view>

#include <pugixml.hpp>

namespace racerig::libvirt {

namespace {

constexpr char kQemuNamespace[] = "http://libvirt.org/schemas/domain/qemu/1.0";

pugi::xml_node child(pugi::xml_node parent, const char* name) { return parent.append_child(name); }

pugi::xml_node text_child(pugi::xml_node parent, const char* name, const std::string& text) {
  pugi::xml_node n = parent.append_child(name);
  n.text() = text.c_str();
  return n;
}

void attr(pugi::xml_node n, const char* name, const std::string& value) {
  n.append_attribute(name) = value.c_str();
}

void mib(pugi::xml_node n, int value) {
  attr(n, "unit", "MiB");
  n.text() = std::to_string(value).c_str();
}

// <serial type="unix"> that connects to `socket`, or <serial type="pipe">
// on the FIFOs PIPE.in and PIPE.out.
void serial(pugi::xml_node devices, const char* type, const std::filesystem::path& path, int port) {
  pugi::xml_node s = child(devices, "serial");
  attr(s, "type", type);
  pugi::xml_node source = child(s, "source");
  if (std::string_view(type) == "unix") attr(source, "mode", "connect");
  attr(source, "path", path.string());
  attr(child(s, "target"), "port", std::to_string(port));
}

// <disk type="file" device="disk"> of a qcow2 image on `bus` as `dev`.
void qcow2_disk(pugi::xml_node devices, const std::filesystem::path& image, const char* dev, const char* bus) {
  pugi::xml_node disk = child(devices, "disk");
  attr(disk, "type", "file");
  attr(disk, "device", "disk");
  pugi::xml_node driver = child(disk, "driver");
  attr(driver, "name", "qemu");
  attr(driver, "type", "qcow2");
  attr(child(disk, "source"), "file", image.string());
  pugi::xml_node target = child(disk, "target");
  attr(target, "dev", dev);
  attr(target, "bus", bus);
}

void qemu_args(pugi::xml_node commandline, const char* option, const std::string& value) {
  attr(child(commandline, "qemu:arg"), "value", option);
  attr(child(commandline, "qemu:arg"), "value", value);
}

}  // namespace

std::string domain_xml(const DomainSpec& spec) {
  pugi::xml_document doc;
  pugi::xml_node domain = doc.append_child("domain");
  attr(domain, "type", spec.kvm ? "kvm" : "qemu");
  attr(domain, "xmlns:qemu", kQemuNamespace);
  text_child(domain, "name", spec.name);
  if (!spec.metadata_element.empty()) {
    pugi::xml_node metadata = child(domain, "metadata");
    pugi::xml_document element;
    if (element.load_string(spec.metadata_element.c_str())) metadata.append_copy(element.document_element());
  }
  mib(child(domain, "memory"), spec.memory_mb);
  // The NVDIMM is a memory device: libvirt wants DIMM slots and a ceiling
  // (the same ceiling as the direct backend's maxmem).
  pugi::xml_node max = child(domain, "maxMemory");
  attr(max, "slots", "2");
  mib(max, spec.memory_mb + spec.pmem_mb + 1024);
  text_child(domain, "vcpu", std::to_string(spec.cpus));

  pugi::xml_node os = child(domain, "os");
  pugi::xml_node type = text_child(os, "type", "hvm");
  attr(type, "arch", "x86_64");
  attr(type, "machine", "pc");
  if (!spec.kernel.empty()) {
    text_child(os, "kernel", spec.kernel.string());
    text_child(os, "initrd", spec.initrd.string());
    text_child(os, "cmdline", spec.cmdline);
  }
  child(child(domain, "features"), "acpi");  // the NVDIMM's NFIT is an ACPI table
  pugi::xml_node cell = child(child(child(domain, "cpu"), "numa"), "cell");
  attr(cell, "id", "0");
  attr(cell, "cpus", spec.cpus > 1 ? "0-" + std::to_string(spec.cpus - 1) : "0");
  attr(cell, "memory", std::to_string(spec.memory_mb));
  attr(cell, "unit", "MiB");
  text_child(domain, "on_poweroff", "destroy");
  text_child(domain, "on_reboot", "destroy");
  text_child(domain, "on_crash", "destroy");

  pugi::xml_node devices = child(domain, "devices");
  text_child(devices, "emulator", spec.emulator);
  // Only holds savevm snapshots. On the built-in IDE controller, which the
  // guest kernel has no driver for, so the guest never sees it.
  if (!spec.snapshot_disk.empty()) qcow2_disk(devices, spec.snapshot_disk, "hda", "ide");
  // The scenario's disk (setup { device: virtio_blk }), on virtio-blk-pci.
  if (!spec.virtio_disk.empty()) qcow2_disk(devices, spec.virtio_disk, "vda", "virtio");
  pugi::xml_node nvdimm = child(devices, "memory");
  attr(nvdimm, "model", "nvdimm");
  attr(nvdimm, "access", "shared");
  text_child(child(nvdimm, "source"), "path", spec.pmem_image.string());
  pugi::xml_node target = child(nvdimm, "target");
  mib(child(target, "size"), spec.pmem_mb);
  text_child(target, "node", "0");
  serial(devices, "pipe", spec.console_pipe, 0);
  serial(devices, "unix", spec.agent_socket, 1);
  pugi::xml_node usb = child(devices, "controller");
  attr(usb, "type", "usb");
  attr(usb, "model", "none");
  attr(child(devices, "memballoon"), "model", "none");

  if (spec.dac_label) {
    pugi::xml_node seclabel = child(domain, "seclabel");
    attr(seclabel, "type", "static");
    attr(seclabel, "model", "dac");
    attr(seclabel, "relabel", "no");
    text_child(seclabel, "label", *spec.dac_label);
  }
  pugi::xml_node commandline = child(domain, "qemu:commandline");
  qemu_args(commandline, "-gdb", "unix:" + spec.gdb_socket.string() + ",server=on,wait=off");
  qemu_args(commandline, "-qmp", "unix:" + spec.qmp_socket.string() + ",server=on,wait=off");

  std::ostringstream out;
  doc.save(out, "  ", pugi::format_indent | pugi::format_no_declaration);
  return out.str();
}

}  // namespace racerig::libvirt
