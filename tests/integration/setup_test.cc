// End-to-end: the guest's storage as scenario data (issue 23) on
// `fixed-virtio-ext4` (stock 6.1 + a variant fragment with virtio-blk and
// ext4). ext4 on a virtio-blk disk, through the direct QEMU
// backend (incoming restores) and libvirt (loadvm restores), two runs each
// so that a disk leaking from run to run is seen; no disk at all; mount
// options ext4 refuses. A program writes a file, a check program reads it back and
// checks which file system holds it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "proto/racerig.pb.h"
#include "reports.h"
#include "support.h"

namespace {

using namespace racerig::test;  // NOLINT: the shared test helpers
namespace fs = std::filesystem;
using racerig::pb::ReproduceReport;

std::string data(const std::string& file) { return std::string(RACERIG_SOURCE_DIR) + "/tests/integration/data/" + file; }

// The SETUP event that describes /mnt (the one with fs_type).
const racerig::pb::AgentEvent* mount_event(const racerig::pb::RunReport& run) {
  for (const auto& e : run.agent())
    if (e.kind() == racerig::pb::AgentEvent::SETUP && !e.fs_type().empty()) return &e;
  return nullptr;
}

const racerig::pb::AgentEvent* check_event(const racerig::pb::RunReport& run) {
  for (const auto& e : run.agent())
    if (e.kind() == racerig::pb::AgentEvent::OP_OK && e.actor() == "check" && e.program() == "fsfile") return &e;
  return nullptr;
}

// `runs` runs of `scenario` on fixed-virtio-ext4: each NOT_REPRODUCED with the
// schedule enforced, the file checked on `fs`. The writer creates its file
// with O_EXCL, so a second run from the ready-state snapshot fails if the
// first one's file leaked onto the snapshot's disk.
ReproduceReport expect_file_checked(const std::string& args, const std::string& scenario, const std::string& fs_name,
                                    int runs) {
  const std::string json = temp_json("setup", scenario);
  Ran r = run_cli("reproduce " + args + " --scenario " + data(scenario + ".textproto") + " --kernel fixed-virtio-ext4 --runs " +
                  std::to_string(runs) + " --json " + json);
  auto report = read_report<ReproduceReport>(json);
  EXPECT_EQ(report.runs_size(), runs) << r.output;
  for (const auto& run : report.runs()) {
    EXPECT_EQ(run.verdict(), racerig::pb::NOT_REPRODUCED) << run.reason() << "\n" << r.output;
    EXPECT_TRUE(run.schedule_enforced()) << run.reason();
    EXPECT_NE(run.reason().find("1 actors OK, 1 checks passed"), std::string::npos) << run.reason();
    const auto* check = check_event(run);
    EXPECT_NE(check, nullptr) << r.output;
    if (check != nullptr) {
      EXPECT_NE(check->stdout_text().find("65536 bytes as written, on " + fs_name), std::string::npos)
          << check->stdout_text();
    }
  }
  return report;
}

TEST(Setup, Ext4OnVirtioBlkHoldsTheProgramsFileDirectAndThroughLibvirt) {
  // Direct QEMU: the ready state restored by incoming (its disk copied per run).
  expect_file_checked("", "setup-ext4-on-virtio-blk", "ext4", 2);
  // libvirt: the disk in the domain XML, the ready state restored by loadvm.
  ReproduceReport report = expect_file_checked("--backend libvirt", "setup-ext4-on-virtio-blk", "ext4", 2);
  ASSERT_GE(report.runs_size(), 1);
  // What the agent reported about /mnt (before the snapshot), kept with the run.
  const auto* mnt = mount_event(report.runs(0));
  ASSERT_NE(mnt, nullptr);
  EXPECT_EQ(mnt->fs_type(), "ext4");
  EXPECT_EQ(mnt->mount_source(), "/dev/vda");
  EXPECT_NE(mnt->mount_options().find("noatime"), std::string::npos) << mnt->mount_options();
}

TEST(Setup, NoDiskKeepsTheFileInTheInitramfs) { expect_file_checked("", "setup-no-disk", "none", 1); }

TEST(Setup, MountOptionsTheKernelRefusesNameTheFieldAndTheScenario) {
  const std::string json = temp_json("setup", "refused");
  const std::string scenario = data("setup-refused-mount-options.textproto");
  Ran r = run_cli("reproduce --cold --scenario " + scenario + " --kernel fixed-virtio-ext4 --runs 1 --json " + json);
  auto report = read_report<ReproduceReport>(json);
  ASSERT_EQ(report.runs_size(), 1) << r.output;
  const auto& run = report.runs(0);
  EXPECT_EQ(run.verdict(), racerig::pb::INFRA_ERROR) << run.reason();
  EXPECT_NE(run.reason().find("setup.mount_options \"no_such_option\": the kernel refused them"), std::string::npos)
      << run.reason();
  EXPECT_NE(run.reason().find("fix workload.setup in " + scenario), std::string::npos) << run.reason();
}

TEST(Setup, ABadSetupIsAnInputErrorBeforeAnythingBoots) {
  // A copy of a good scenario with its program beside it (its source path
  // is relative to the scenario), so that only the setup is wrong.
  const fs::path dir = fs::temp_directory_path() / ("racerig-setup-it-" + std::to_string(getpid()));
  fs::create_directories(dir / "programs");
  fs::copy_file(data("programs/fsfile.c"), dir / "programs" / "fsfile.c", fs::copy_options::overwrite_existing);
  const std::string file = (dir / "bad.textproto").string();
  std::string text = read_text(data("setup-no-disk.textproto"));
  text.replace(text.find("setup { device: none }"), 22, "setup { device: none mkfs: ext4 }");
  std::ofstream(file) << text;
  Ran r = run_cli("reproduce --scenario " + file + " --kernel fixed-virtio-ext4 --runs 1");
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(file + ":9:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("setup.mkfs: mkfs: ext4 needs a device, and device is none"), std::string::npos) << r.output;
}

}  // namespace
