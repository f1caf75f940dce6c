#include "rig/libvirt/domain_log.h"

#include <gtest/gtest.h>

namespace racerig::libvirt {
namespace {

TEST(DomainLog, PathsForLocalUrisOnly) {
  EXPECT_EQ(domain_log_path("qemu:///embed?root=/var/cache/racerig/libvirt", "racerig-1-2-ab"),
            std::filesystem::path("/var/cache/racerig/libvirt/log/qemu/racerig-1-2-ab.log"));
  EXPECT_EQ(domain_log_path("qemu:///system", "racerig-1-2-ab"),
            std::filesystem::path("/var/log/libvirt/qemu/racerig-1-2-ab.log"));
  EXPECT_FALSE(domain_log_path("qemu+ssh://host/system", "racerig-1-2-ab"));
  EXPECT_FALSE(domain_log_path("qemu:///system", "../../etc/passwd"));
  EXPECT_FALSE(domain_log_path("qemu:///system", ""));
}

TEST(DomainLog, SaysHowTheDomainEnded) {
  // As libvirt 9.0 writes it (a domain killed by SIGKILL: no QEMU line).
  const std::string killed =
      "2026-11-25 16:45:30.980+0000: Domain id=2 is tainted: custom-argv\n"
      "2026-11-25 16:45:43.472+0000: shutting down, reason=crashed\n";
  EXPECT_EQ(domain_end_from_log(killed), "libvirt says reason=crashed");
  const std::string terminated =
      "2026-11-25T21:26:22.125806Z qemu-system-x86_64: terminating on signal 15 from pid 27824 (/usr/bin/x)\r\n"
      "2026-11-25 21:26:24.129+0000: shutting down, reason=destroyed\n";
  EXPECT_EQ(domain_end_from_log(terminated),
            "libvirt says reason=destroyed; QEMU said: terminating on signal 15 from pid 27824 (/usr/bin/x)");
  // The last start's end, when a name's log holds several.
  EXPECT_EQ(domain_end_from_log("shutting down, reason=shutdown\nshutting down, reason=crashed"),
            "libvirt says reason=crashed");
  EXPECT_TRUE(domain_failed_from_log(killed));
  EXPECT_FALSE(domain_failed_from_log(terminated));
  EXPECT_FALSE(domain_failed_from_log("shutting down, reason=shutdown\n"));
  EXPECT_EQ(domain_end_from_log(""), "");
  EXPECT_FALSE(domain_failed_from_log(""));
  EXPECT_EQ(domain_end_from_log("garbage\n\x01\x02 shutting down"), "");
}

}  // namespace
}  // namespace racerig::libvirt
