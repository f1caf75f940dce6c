// The backends' names as --backend takes them and start-up lines show them.
#include "rig/machine/backend.h"

#include <gtest/gtest.h>

namespace racerig::machine {
namespace {

TEST(Backend, NamesRoundTrip) {
  for (Backend b : {Backend::kQemu, Backend::kLibvirt}) {
    auto parsed = parse_backend(backend_name(b));
    ASSERT_TRUE(parsed.ok()) << backend_name(b);
    EXPECT_EQ(*parsed, b);
  }
  EXPECT_STREQ(backend_name(Backend::kQemu), "qemu");
  EXPECT_STREQ(backend_name(Backend::kLibvirt), "libvirt");
}

TEST(Backend, AnUnknownNameIsAnInputErrorNamingIt) {
  for (const char* bad : {"xen", "", "QEMU", "libvirt "}) {
    auto parsed = parse_backend(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInput);
    EXPECT_EQ(parsed.error().message, "--backend " + std::string(bad) + ": expected qemu or libvirt");
  }
}

}  // namespace
}  // namespace racerig::machine
