// The ready-state snapshot cache without QEMU: keys, publication, the checks
// that refuse a corrupt or mismatched snapshot, locking and leftovers.
#include "rig/run/ready_store.h"
#include "rig/run/scratch_dir_test.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>

namespace racerig::run {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ScratchDirTest {
 protected:
  static SnapshotInputs inputs() {
    SnapshotInputs in;
    in.kernel_build_id = "abc123";
    in.base_initramfs = "base-0011.cpio";
    in.guest_plan = std::string("\x10\x01\x18\x01", 4);
    in.append = "console=ttyS0";
    in.qemu_version = "QEMU emulator version 7.2.22";
    in.qemu_binary = "/usr/bin/qemu-system-x86_64 1 bytes";
    in.cpus = 2;
    in.memory_mb = 512;
    in.pmem_mb = 512;
    return in;
  }
  // Publishes a snapshot with small stand-ins for the four files.
  ReadySnapshotStore::Entry publish(const ReadySnapshotStore& store, const std::string& text) {
    auto staging = store.staging_dir(snapshot_key(text));
    EXPECT_TRUE(staging.ok()) << staging.error().message;
    write(*staging / kRamFile, std::string(8192, 'r'));
    write(*staging / kPmemFile, std::string(8192, 'p'));
    write(*staging / kDeviceStateFile, "QEVM device state");
    write(*staging / kInitrdFile, "070701 initrd");
    pb::ReadySnapshot meta;
    meta.set_key(snapshot_key(text));
    meta.set_key_text(text);
    meta.add_setup_events()->set_kind(pb::AgentEvent::READY);
    auto e = store.publish(*staging, meta);
    EXPECT_TRUE(e.ok()) << e.error().message;
    EXPECT_FALSE(fs::exists(*staging));
    return *e;
  }
};

TEST(SnapshotKey, EveryInputChangesTheKey) {
  const SnapshotInputs base = [] {
    SnapshotInputs in;
    in.kernel_build_id = "k";
    in.base_initramfs = "b";
    in.guest_plan = "p";
    in.append = "a";
    in.qemu_version = "q";
    in.qemu_binary = "qb";
    in.cpus = 2;
    in.memory_mb = 512;
    in.pmem_mb = 512;
    return in;
  }();
  const std::string key = snapshot_key(snapshot_key_text(base));
  EXPECT_EQ(key.size(), 24u);
  EXPECT_EQ(key, snapshot_key(snapshot_key_text(base)));
  std::vector<std::function<void(SnapshotInputs&)>> changes = {
      [](SnapshotInputs& i) { i.kernel_build_id = "k2"; },  [](SnapshotInputs& i) { i.base_initramfs = "b2"; },
      [](SnapshotInputs& i) { i.guest_plan = "p2"; },       [](SnapshotInputs& i) { i.pmem_template = "t"; },
      [](SnapshotInputs& i) { i.append = "a2"; },           [](SnapshotInputs& i) { i.qemu_version = "q2"; },
      [](SnapshotInputs& i) { i.qemu_binary = "qb2"; },     [](SnapshotInputs& i) { i.cpus = 3; },
      [](SnapshotInputs& i) { i.memory_mb = 256; },         [](SnapshotInputs& i) { i.pmem_mb = 128; },
      [](SnapshotInputs& i) { i.kvm = true; },              [](SnapshotInputs& i) { i.programs = "pgrp=1234"; },
      [](SnapshotInputs& i) { i.disk_mb = 512; },
  };
  for (size_t n = 0; n < changes.size(); ++n) {
    SnapshotInputs in = base;
    changes[n](in);
    EXPECT_NE(snapshot_key(snapshot_key_text(in)), key) << "change " << n;
  }
}

// setup { device: virtio_blk }: the disk is one of the snapshot's files,
// fingerprinted like the others; a snapshot keyed for a disk without one
// is not used.
TEST_F(StoreTest, ASnapshotWithADiskKeepsAndChecksIt) {
  ReadySnapshotStore store(root_);
  SnapshotInputs in = inputs();
  in.disk_mb = 512;
  const std::string text = snapshot_key_text(in);
  EXPECT_NE(text.find("\nvirtio-blk disk: 512 MiB\n"), std::string::npos) << text;
  EXPECT_NE(snapshot_key_text(inputs()).find("\nvirtio-blk disk: none\n"), std::string::npos);
  auto staging = store.staging_dir(snapshot_key(text));
  ASSERT_TRUE(staging.ok());
  write(*staging / kRamFile, std::string(8192, 'r'));
  write(*staging / kPmemFile, std::string(8192, 'p'));
  write(*staging / kDeviceStateFile, "QEVM device state");
  write(*staging / kInitrdFile, "070701 initrd");
  write(*staging / kDiskFile, "QFI\xfb disk");
  pb::ReadySnapshot meta;
  meta.set_key(snapshot_key(text));
  meta.set_key_text(text);
  auto e = store.publish(*staging, meta);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->meta.files_size(), 5);
  std::string why;
  auto found = store.find(snapshot_key(text), text, &why);
  ASSERT_TRUE(found.ok() && found->has_value()) << why;
  // A changed disk is a changed snapshot.
  write(e->dir / kDiskFile, "QFI\xfb another disk");
  found = store.find(snapshot_key(text), text, &why);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_NE(why.find(kDiskFile), std::string::npos) << why;
}

TEST_F(StoreTest, APublishedSnapshotIsFoundWithItsEvents) {
  ReadySnapshotStore store(root_);
  const std::string text = snapshot_key_text(inputs());
  publish(store, text);
  std::string why;
  auto found = store.find(snapshot_key(text), text, &why);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value()) << why;
  EXPECT_EQ((*found)->meta.setup_events_size(), 1);
  EXPECT_EQ((*found)->meta.files_size(), 4);
  EXPECT_TRUE(why.empty());
  auto deep = store.find(snapshot_key(text), text, &why, /*deep=*/true);
  ASSERT_TRUE(deep.ok() && deep->has_value()) << why;
  EXPECT_EQ(store.list().size(), 1u);
}

TEST_F(StoreTest, AMissingSnapshotIsNotAnError) {
  ReadySnapshotStore store(root_ / "never-made");
  std::string why;
  auto found = store.find("0123456789abcdef01234567", "text", &why);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_TRUE(why.empty());
}

// A write right after publishing may get the same (coarse, per-tick) mtime
// as the publish saw: the damages that write move the mtime on explicitly,
// as time would, instead of sleeping past a tick.
void later_mtime(const fs::path& p) { fs::last_write_time(p, fs::last_write_time(p) + std::chrono::seconds(1)); }

// Each damage is detected, named, and the snapshot is gone afterwards.
TEST_F(StoreTest, CorruptOrMismatchedSnapshotsAreRemovedWithAReason) {
  struct Damage {
    std::string name, expect;
    std::function<void(const fs::path&)> apply;
    bool other_inputs = false;
  };
  const std::vector<Damage> damages = {
      {"device state rewritten, same size", "device.state's content differs",
       [](const fs::path& d) {
         // Same size and times kept would still change ctime: rewrite and check the hash message or the stat one.
         {
           std::fstream f(d / kDeviceStateFile, std::ios::in | std::ios::out | std::ios::binary);
           f.seekp(0);
           f << "X";
         }
         later_mtime(d / kDeviceStateFile);
       }},
      {"RAM image truncated", "ram.img has 100 bytes", [](const fs::path& d) { fs::resize_file(d / kRamFile, 100); }},
      {"NVDIMM image written", "pmem.img was changed",
       [](const fs::path& d) {
         {
           std::fstream f(d / kPmemFile, std::ios::in | std::ios::out | std::ios::binary);
           f.seekp(10);
           f << "Z";
         }
         later_mtime(d / kPmemFile);
       }},
      {"initrd missing", "initrd.img", [](const fs::path& d) { fs::remove(d / kInitrdFile); }},
      {"meta garbage", "meta.pb does not parse", [](const fs::path& d) { write(d / kMetaFile, std::string("\xff\xff\xff", 3)); }},
      {"meta missing", "meta.pb is missing", [](const fs::path& d) { fs::remove(d / kMetaFile); }},
      {"other inputs", "inputs differ", [](const fs::path&) {}, true},
  };
  for (const auto& damage : damages) {
    ReadySnapshotStore store(root_ / damage.name);
    const std::string text = snapshot_key_text(inputs());
    auto entry = publish(store, text);
    damage.apply(entry.dir);
    std::string why;
    auto found = store.find(snapshot_key(text), damage.other_inputs ? text + "memory MiB: 1\n" : text, &why);
    ASSERT_TRUE(found.ok()) << damage.name << ": " << found.error().message;
    EXPECT_FALSE(found->has_value()) << damage.name;
    if (damage.name == "device state rewritten, same size") {
      // A rewrite shows in the times (or, failing that, in the hash).
      EXPECT_TRUE(why.find("device.state") != std::string::npos) << why;
    } else {
      EXPECT_NE(why.find(damage.expect), std::string::npos) << damage.name << ": " << why;
    }
    EXPECT_NE(why.find(entry.dir.string()), std::string::npos) << "names the directory: " << why;
    EXPECT_FALSE(fs::exists(entry.dir)) << damage.name << ": removed";
  }
}

TEST_F(StoreTest, TheHashCatchesAChangeThatStatDoesNot) {
  // Content changed but size, inode, allocation and times put back as they
  // were: only the hash of the small files can tell.
  ReadySnapshotStore store(root_);
  const std::string text = snapshot_key_text(inputs());
  auto entry = publish(store, text);
  pb::ReadySnapshot meta = entry.meta;
  write(entry.dir / kDeviceStateFile, "QEVM device statX");
  struct stat st {};
  ASSERT_EQ(::stat((entry.dir / kDeviceStateFile).c_str(), &st), 0);
  for (auto& f : *meta.mutable_files())
    if (f.name() == kDeviceStateFile) {
      f.set_mtime_ns(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
      f.set_ctime_ns(static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec);
      f.set_inode(st.st_ino);
      f.set_allocated_blocks(static_cast<uint64_t>(st.st_blocks));
    }
  {
    std::ofstream out(entry.dir / kMetaFile, std::ios::binary);
    ASSERT_TRUE(meta.SerializeToOstream(&out));
  }
  std::string why;
  auto found = store.find(snapshot_key(text), text, &why);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_NE(why.find("content differs"), std::string::npos) << why;
}

TEST_F(StoreTest, TheLockIsExclusiveAndClearsAKilledMakersLeftovers) {
  ReadySnapshotStore store(root_);
  const std::string key = "0123456789abcdef01234567";
  auto staging = store.staging_dir(key);
  ASSERT_TRUE(staging.ok());
  write(*staging / kRamFile, "half-written");
  auto other = store.staging_dir("another-key-000000000000");
  ASSERT_TRUE(other.ok());
  {
    auto lock = store.lock(key, Deadline::after(std::chrono::milliseconds(1000)));
    ASSERT_TRUE(lock.ok()) << lock.error().message;
    EXPECT_FALSE(fs::exists(*staging)) << "a dead maker's staging dir is removed";
    EXPECT_TRUE(fs::exists(*other)) << "another key's is not";
    // A second holder (another open file description) waits and times out.
    auto second = store.lock(key, Deadline::after(std::chrono::milliseconds(300)));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().kind, ErrorKind::kTimeout);
  }
  auto again = store.lock(key, Deadline::after(std::chrono::milliseconds(1000)));
  EXPECT_TRUE(again.ok()) << "released with the fd";
}

TEST_F(StoreTest, PublishingOverAnExistingSnapshotFailsAndKeepsTheFirst) {
  ReadySnapshotStore store(root_);
  const std::string text = snapshot_key_text(inputs());
  auto first = publish(store, text);
  auto staging = store.staging_dir(snapshot_key(text));
  ASSERT_TRUE(staging.ok());
  for (const char* f : {kRamFile, kPmemFile, kDeviceStateFile, kInitrdFile}) write(*staging / f, "second");
  pb::ReadySnapshot meta;
  meta.set_key(snapshot_key(text));
  meta.set_key_text(text);
  auto second = store.publish(*staging, meta);
  EXPECT_FALSE(second.ok());
  EXPECT_FALSE(fs::exists(*staging));
  std::string why;
  auto found = store.find(snapshot_key(text), text, &why);
  ASSERT_TRUE(found.ok() && found->has_value()) << why;
  EXPECT_EQ(fs::file_size((*found)->dir / kRamFile), 8192u);
}

}  // namespace
}  // namespace racerig::run
