// libvirt error conversion: kinds and messages naming the operation.
#include "rig/libvirt/error.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "rig/libvirt/connection.h"

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
