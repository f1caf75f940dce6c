// The domain XML builder against an expected document.
#include "rig/libvirt/domain_xml.h"

#include <gtest/gtest.h>

namespace racerig::libvirt {
namespace {

DomainSpec spec() {
  DomainSpec s;
  s.name = "racerig-42-1-abcd";
  s.cpus = 2;
  s.memory_mb = 512;
  s.pmem_mb = 512;
  s.kernel = "/run/r/bzImage";
  s.initrd = "/run/r/initrd";
  s.cmdline = "console=ttyS0 nokaslr";
  s.pmem_image = "/run/r/pmem.img";
  s.snapshot_disk = "/run/r/snapshots.qcow2";
  s.console_pipe = "/run/r/console";
  s.agent_socket = "/run/r/agent.sock";
  s.gdb_socket = "/run/r/gdb.sock";
  s.qmp_socket = "/run/r/qmp.sock";
  s.metadata_element = "<racerig:owner xmlns:racerig=\"urn:racerig:libvirt:owner:1\" pid=\"42\" start=\"7\" host=\"h\"/>";
  s.dac_label = "+64055:+64055";
  return s;
}

TEST(DomainXml, MatchesTheExpectedDocument) {
  const char* expected = R"(<domain type="qemu" xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0">
  <name>racerig-42-1-abcd</name>
  <metadata>
    <racerig:owner xmlns:racerig="urn:racerig:libvirt:owner:1" pid="42" start="7" host="h" />
  </metadata>
  <memory unit="MiB">512</memory>
  <maxMemory slots="2" unit="MiB">2048</maxMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <kernel>/run/r/bzImage</kernel>
    <initrd>/run/r/initrd</initrd>
    <cmdline>console=ttyS0 nokaslr</cmdline>
  </os>
  <features>
    <acpi />
  </features>
  <cpu>
    <numa>
      <cell id="0" cpus="0-1" memory="512" unit="MiB" />
    </numa>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" />
      <source file="/run/r/snapshots.qcow2" />
      <target dev="hda" bus="ide" />
    </disk>
    <memory model="nvdimm" access="shared">
      <source>
        <path>/run/r/pmem.img</path>
      </source>
      <target>
        <size unit="MiB">512</size>
        <node>0</node>
      </target>
    </memory>
    <serial type="pipe">
      <source path="/run/r/console" />
      <target port="0" />
    </serial>
    <serial type="unix">
      <source mode="connect" path="/run/r/agent.sock" />
      <target port="1" />
    </serial>
    <controller type="usb" model="none" />
    <memballoon model="none" />
  </devices>
  <seclabel type="static" model="dac" relabel="no">
    <label>+64055:+64055</label>
  </seclabel>
  <qemu:commandline>
    <qemu:arg value="-gdb" />
    <qemu:arg value="unix:/run/r/gdb.sock,server=on,wait=off" />
    <qemu:arg value="-qmp" />
    <qemu:arg value="unix:/run/r/qmp.sock,server=on,wait=off" />
  </qemu:commandline>
</domain>
)";
  EXPECT_EQ(domain_xml(spec()), expected);
}

TEST(DomainXml, FirmwareOnlyKvmOneCpuNoDiskNoLabel) {
  DomainSpec s = spec();
  s.kernel.clear();
  s.initrd.clear();
  s.snapshot_disk.clear();
  s.dac_label.reset();
  s.metadata_element.clear();
  s.kvm = true;
  s.cpus = 1;
  const std::string xml = domain_xml(s);
  EXPECT_NE(xml.find("<domain type=\"kvm\""), std::string::npos);
  EXPECT_EQ(xml.find("<kernel>"), std::string::npos);
  EXPECT_EQ(xml.find("<disk"), std::string::npos);
  EXPECT_EQ(xml.find("<seclabel"), std::string::npos);
  EXPECT_EQ(xml.find("<metadata"), std::string::npos);
  EXPECT_NE(xml.find("cpus=\"0\""), std::string::npos);
}

TEST(DomainXml, AScenariosVirtioDiskIsAVirtioBusQcow2Disk) {
  DomainSpec s = spec();
  s.snapshot_disk.clear();
  s.virtio_disk = "/run/r/disk.qcow2";
  const std::string xml = domain_xml(s);
  EXPECT_NE(xml.find("<disk type=\"file\" device=\"disk\">\n"
                     "      <driver name=\"qemu\" type=\"qcow2\" />\n"
                     "      <source file=\"/run/r/disk.qcow2\" />\n"
                     "      <target dev=\"vda\" bus=\"virtio\" />\n"
                     "    </disk>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<memory model=\"nvdimm\""), std::string::npos) << "the NVDIMM stays";
}

TEST(DomainXml, SpecialCharactersAreEscaped) {
  DomainSpec s = spec();
  s.cmdline = "a=<b> & \"c\"";
  const std::string xml = domain_xml(s);
  EXPECT_NE(xml.find("<cmdline>a=&lt;b&gt; &amp; \"c\"</cmdline>"), std::string::npos) << xml;
}

}  // namespace
}  // namespace racerig::libvirt
