// Device state by migration against a real QEMU 7.2 (firmware only): a VM
// whose RAM and NVDIMM are shared files saves only its device state; a fresh
// VM mapping the same files copy-on-write loads it, runs, and leaves the
// files as they were. A stream QEMU cannot load is an error, never a hang.
#include "rig/qemu/migration.h"

#include <poll.h>
#include <sys/stat.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace racerig::qemu {
namespace {

namespace fs = std::filesystem;

Deadline soon() { return Deadline::after(std::chrono::milliseconds(30000)); }

class Migration : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "racerig-migration-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0711);  // QEMU runs as the worker user and must reach the memory files
    for (auto [name, mb] : {std::pair{"ram.img", 128}, std::pair{"pmem.img", 16}}) {
      std::ofstream out(dir_ / name, std::ios::binary);
      out.seekp((static_cast<std::streamoff>(mb) << 20) - 1);
      out.put('\0');
    }
    // A marker in the NVDIMM: it must survive every run untouched.
    std::fstream f(dir_ / "pmem.img", std::ios::in | std::ios::out | std::ios::binary);
    f << "ready-state marker";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  machine::VmConfig config(bool share, bool incoming) const {
    machine::VmConfig cfg;
    cfg.firmware_only = true;
    cfg.memory_mb = 128;
    cfg.pmem_mb = 16;
    cfg.ram_file = dir_ / "ram.img";
    cfg.pmem_file = dir_ / "pmem.img";
    cfg.share_files = share;
    cfg.incoming = incoming;
    return cfg;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

std::string run_state(Vm& vm) {
  auto r = vm.qmp("query-status", "", soon());
  return r.ok() ? *r : r.error().message;
}

// The BIOS tick count: the word at 0x46C (the BIOS data area), which
// SeaBIOS's timer interrupt increments; -1 when the monitor cannot read it.
long bios_ticks(Vm& vm) {
  auto r = vm.qmp("human-monitor-command", R"({"command-line": "xp /1wx 0x46c"})", soon());
  if (!r.ok()) return -1;
  const size_t at = r->rfind("0x");
  if (at == std::string::npos) return -1;
  return std::strtol(r->c_str() + at, nullptr, 16);
}

// Waits until the firmware's tick count passes `after`: proof that it runs
// (and writes its RAM). A poll of guest state with a deadline: SeaBIOS says
// nothing on a port we read, so no event tells of its progress; between
// reads it waits on the VM's event fd (which also wakes when QEMU exits).
bool ticks_pass(Vm& vm, long after) {
  const Deadline deadline = soon();
  while (!deadline.expired()) {
    if (bios_ticks(vm) > after) return true;
    pollfd p{vm.event_fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) vm.drain_events();
  }
  return false;
}

TEST_F(Migration, DeviceStateRoundTripLeavesTheMemoryFilesUntouched) {
  {
    auto src = Vm::start(config(true, false), soon());
    ASSERT_TRUE(src.ok()) << src.error().message;
    ASSERT_TRUE((*src)->qmp("cont", "", soon()).ok());
    ASSERT_TRUE(ticks_pass(**src, 0)) << "SeaBIOS's timer never ticked:\n" << (*src)->qemu_log();
    ASSERT_TRUE((*src)->qmp("stop", "", soon()).ok());
    Status saved = save_device_state(**src, dir_ / "device.state", soon());
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    ASSERT_TRUE((*src)->shutdown(soon()).ok());
  }
  const auto state_size = fs::file_size(dir_ / "device.state");
  EXPECT_GT(state_size, 0u);
  EXPECT_LT(state_size, 16u << 20) << "RAM left out of the stream (x-ignore-shared)";
  const std::string ram = read("ram.img"), pmem = read("pmem.img");
  EXPECT_EQ(pmem.rfind("ready-state marker", 0), 0u);
  for (int run = 0; run < 2; ++run) {
    auto dst = Vm::start(config(false, true), soon());
    ASSERT_TRUE(dst.ok()) << dst.error().message;
    Status loaded = load_device_state(**dst, dir_ / "device.state", soon());
    ASSERT_TRUE(loaded.ok()) << loaded.error().message << "\n" << (*dst)->qemu_log();
    EXPECT_NE(run_state(**dst).find("\"paused\""), std::string::npos) << run_state(**dst);
    const long saved_ticks = bios_ticks(**dst);
    ASSERT_TRUE((*dst)->qmp("cont", "", soon()).ok());
    // The firmware runs on from where it was saved, writing its RAM.
    EXPECT_TRUE(ticks_pass(**dst, saved_ticks)) << "the restored firmware did not run on from tick " << saved_ticks;
    EXPECT_NE(run_state(**dst).find("\"running\""), std::string::npos) << run_state(**dst);
    ASSERT_TRUE((*dst)->shutdown(soon()).ok());
    // (not EXPECT_EQ: a failure would print 144 MiB)
    EXPECT_TRUE(read("ram.img") == ram) << "run " << run << " wrote the RAM file";
    EXPECT_TRUE(read("pmem.img") == pmem) << "run " << run << " wrote the NVDIMM file";
  }
}

TEST_F(Migration, AStreamQemuCannotLoadIsAnErrorNamingTheFile) {
  {
    std::ofstream out(dir_ / "garbage.state", std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>(i * 7 + 3));
  }
  auto dst = Vm::start(config(false, true), soon());
  ASSERT_TRUE(dst.ok()) << dst.error().message;
  Status loaded = load_device_state(**dst, dir_ / "garbage.state", soon());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("garbage.state"), std::string::npos) << loaded.error().message;
  (void)(*dst)->shutdown(soon());
  EXPECT_EQ(read("pmem.img").rfind("ready-state marker", 0), 0u);
}

TEST_F(Migration, AMissingOrEmptyStreamIsAnInputError) {
  { std::ofstream out(dir_ / "empty.state"); }
  for (const char* name : {"missing.state", "empty.state"}) {
    auto dst = Vm::start(config(false, true), soon());
    ASSERT_TRUE(dst.ok()) << dst.error().message;
    Status loaded = load_device_state(**dst, dir_ / name, soon());
    ASSERT_FALSE(loaded.ok()) << name;
    EXPECT_EQ(loaded.error().kind, ErrorKind::kInput) << loaded.error().message;
    EXPECT_NE(loaded.error().message.find(name), std::string::npos) << loaded.error().message;
  }
}

TEST_F(Migration, MissingMemoryFilesAreInputErrors) {
  machine::VmConfig cfg = config(false, true);
  cfg.ram_file = dir_ / "nope.img";
  auto vm = Vm::start(cfg, soon());
  ASSERT_FALSE(vm.ok());
  EXPECT_EQ(vm.error().kind, ErrorKind::kInput);
  EXPECT_NE(vm.error().message.find("nope.img"), std::string::npos) << vm.error().message;
}

}  // namespace
}  // namespace racerig::qemu
