// Without a VM: libvirt error conversion (kinds, messages naming the
// operation), embedded-root URIs and qemu.conf, and the run records
// the sweeper uses.
#include "rig/libvirt/error.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <gtest/gtest.h>

#include "rig/libvirt/connection.h"
#include "rig/libvirt/owner.h"

namespace racerig::libvirt {
namespace {

TEST(LibvirtError, KindsFollowLibvirtCodes) {
  EXPECT_EQ(kind_of_libvirt_code(VIR_ERR_XML_ERROR), ErrorKind::kInput);
  EXPECT_EQ(kind_of_libvirt_code(VIR_ERR_OPERATION_TIMEOUT), ErrorKind::kTimeout);
  EXPECT_EQ(kind_of_libvirt_code(VIR_ERR_INTERNAL_ERROR), ErrorKind::kIo);
}

TEST(LibvirtError, ABadUriIsAnErrorNamingIt) {
  auto c = open_uri("nosuchdriver:///x", Deadline::after(std::chrono::milliseconds(2000)));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("opening libvirt nosuchdriver:///x"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("libvirt error"), std::string::npos) << c.error().message;
}

TEST(LibvirtError, WithoutAnErrorItSaysSo) {
  virResetLastError();
  EXPECT_NE(last_error("x").message.find("without saying why"), std::string::npos);
}

TEST(EmbedRoot, UriParsing) {
  EXPECT_EQ(embed_root_of("qemu:///embed?root=/a/b"), std::filesystem::path("/a/b"));
  EXPECT_EQ(embed_root_of("qemu:///embed?root=/a/b&x=1"), std::filesystem::path("/a/b"));
  EXPECT_EQ(embed_root_of("qemu:///system"), std::nullopt);
  EXPECT_EQ(embed_root_of("qemu:///embed?root="), std::nullopt);
  EXPECT_EQ(default_uri("/var/cache/racerig"), "qemu:///embed?root=/var/cache/racerig/libvirt");
}

TEST(EmbedRoot, PreparesQemuConfRewritesItsOwnAndRefusesAForeignOneWithoutStdioHandler) {
  auto root = std::filesystem::temp_directory_path() / ("racerig-embed-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  ASSERT_TRUE(prepare_embed_root(root).ok());
  ASSERT_TRUE(prepare_embed_root(root).ok());  // idempotent
  std::ifstream in(root / "etc" / "qemu.conf");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("stdio_handler = \"file\""), std::string::npos);
  EXPECT_NE(text.find("user = \"root\""), std::string::npos);
  // An older file of racerig's own is brought up to date.
  std::ofstream(root / "etc" / "qemu.conf") << "# Written by racerig for libvirt's embedded driver (qemu:///embed).\nstdio_handler = \"file\"\n";
  ASSERT_TRUE(prepare_embed_root(root).ok());
  std::ifstream again(root / "etc" / "qemu.conf");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(again)), {}), embed_qemu_conf());
  // An operator's file with stdio_handler is used as it is; one without is refused.
  std::ofstream(root / "etc" / "qemu.conf") << "stdio_handler = \"file\"\n";
  ASSERT_TRUE(prepare_embed_root(root).ok());
  std::ofstream(root / "etc" / "qemu.conf") << "user = \"x\"\n";
  Status s = prepare_embed_root(root);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("lacks stdio_handler"), std::string::npos);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace racerig::libvirt

namespace racerig::libvirt {
namespace {

// Run records: a dead owner's run dir and record go, a live owner's stay,
// garbage records go, a run dir not named like racerig's is never removed.
TEST(RunRecords, SweepRemovesDeadOwnersRunDirsOnly) {
  namespace fs = std::filesystem;
  const fs::path base = fs::temp_directory_path() / ("racerig-records-test-" + std::to_string(::getpid()));
  fs::remove_all(base);
  const fs::path registry = base / "registry";
  fs::create_directories(base / "racerig-run-dead");
  fs::create_directories(base / "racerig-run-live");
  fs::create_directories(base / "precious");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  OwnerTag dead = self_owner();
  dead.pid = child;
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  dead.run_dir = (base / "racerig-run-dead").string();
  OwnerTag live = self_owner();
  live.run_dir = (base / "racerig-run-live").string();
  OwnerTag odd = dead;
  odd.run_dir = (base / "precious").string();
  ASSERT_TRUE(record_run(registry, "racerig-dead", dead).ok());
  ASSERT_TRUE(record_run(registry, "racerig-live", live).ok());
  ASSERT_TRUE(record_run(registry, "racerig-odd", odd).ok());
  std::ofstream(registry / "racerig-garbage") << "<<<";
  auto removed = sweep_run_records(registry);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{"racerig-dead", "racerig-garbage", "racerig-odd"}));
  EXPECT_FALSE(fs::exists(base / "racerig-run-dead"));
  EXPECT_TRUE(fs::exists(base / "racerig-run-live"));
  EXPECT_TRUE(fs::exists(base / "precious"));
  EXPECT_TRUE(fs::exists(registry / "racerig-live"));
  forget_run(registry, "racerig-live");
  EXPECT_FALSE(fs::exists(registry / "racerig-live"));
  EXPECT_TRUE(sweep_run_records(base / "no-such-registry").empty());
  fs::remove_all(base);
}

}  // namespace
}  // namespace racerig::libvirt
