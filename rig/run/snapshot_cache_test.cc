// Ready-state snapshots in `racerig cache list|prune`, without QEMU: listing
// with disk usage, pruning by last use, never a locked one, dry runs, the
// use stamp that find() leaves without breaking the integrity check, and
// the leftovers of dead makers.
#include "rig/run/snapshot_cache.h"
#include "rig/run/scratch_dir_test.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>

namespace racerig::run {
namespace {

namespace fs = std::filesystem;
using SysClock = std::chrono::system_clock;

class SnapshotCacheTest : public ScratchDirTest {
 protected:
  static std::string text_for(const std::string& kernel, const std::string& scenario) {
    SnapshotInputs in;
    in.kernel_build_id = kernel + "-build";
    in.guest_plan = scenario;
    in.qemu_version = "QEMU emulator version 7.2.22";
    in.cpus = 2;
    in.memory_mb = 64;
    in.pmem_mb = 64;
    return snapshot_key_text(in);
  }
  // Publishes a snapshot whose memory images are 64 MiB files with one
  // written page each (sparse, as the real ones are).
  std::string publish(const std::string& kernel, const std::string& scenario) {
    const std::string text = text_for(kernel, scenario);
    const std::string key = snapshot_key(text);
    auto staging = store_.staging_dir(key);
    EXPECT_TRUE(staging.ok()) << staging.error().message;
    for (const char* name : {kRamFile, kPmemFile}) {
      write(*staging / name, std::string(4096, 'm'));
      fs::resize_file(*staging / name, 64 << 20);
    }
    write(*staging / kDeviceStateFile, "QEVM device state");
    write(*staging / kInitrdFile, "070701 initrd");
    pb::ReadySnapshot meta;
    meta.set_key(key);
    meta.set_key_text(text);
    meta.set_kernel_variant(kernel);
    meta.set_scenario(scenario);
    auto e = store_.publish(*staging, meta);
    EXPECT_TRUE(e.ok()) << e.error().message;
    return key;
  }
  // Makes a snapshot look last used `days` ago (meta.pb and the stamp).
  void age(const std::string& key, int days) {
    const auto t = fs::file_time_type::clock::now() - std::chrono::hours(24 * days);
    fs::last_write_time(root_ / key / kMetaFile, t);
    if (fs::exists(root_ / key / kUsedFile)) fs::last_write_time(root_ / key / kUsedFile, t);
  }
  bool found(const std::string& key, const std::string& text, bool deep = false) {
    std::string why;
    auto f = store_.find(key, text, &why, deep);
    EXPECT_TRUE(f.ok()) << f.error().message;
    EXPECT_TRUE(why.empty()) << why;
    return f.ok() && f->has_value();
  }
  std::map<std::string, kbuild::CacheEntry> listed() {
    std::map<std::string, kbuild::CacheEntry> out;
    for (auto& e : list_snapshot_entries(store_)) out[e.path.filename().string()] = e;
    return out;
  }
  static bool no_trash_or_staging(const fs::path& root) {
    for (const auto& d : fs::directory_iterator(root))
      if (d.path().filename().string()[0] == '.') return false;
    return true;
  }
  ReadySnapshotStore store_{"/nonexistent"};
};

TEST_F(SnapshotCacheTest, ListShowsEachSnapshotByKernelAndScenarioWithItsDiskUsage) {
  store_ = ReadySnapshotStore(root_);
  const std::string a = publish("buggy", "double_unlink");
  const std::string b = publish("fixed", "double_unlink");
  write(root_ / ".staging-0123-1-2", "");  // not a snapshot
  auto entries = listed();
  ASSERT_EQ(entries.size(), 2u);
  const auto& e = entries.at(a);
  EXPECT_EQ(e.kind, "snapshot");
  EXPECT_EQ(e.name, "buggy double_unlink");
  EXPECT_EQ(entries.at(b).name, "fixed double_unlink");
  EXPECT_EQ(e.path, root_ / a);
  EXPECT_FALSE(e.kept);
  // Two 64 MiB images with one page each: what the disk holds, not the sizes.
  EXPECT_GE(e.bytes, 2u * 4096);
  EXPECT_LT(e.bytes, 16u << 20);
  EXPECT_GT(e.last_used, SysClock::now() - std::chrono::hours(1));
}

TEST_F(SnapshotCacheTest, AnUnreadableSnapshotIsListedByItsKey) {
  store_ = ReadySnapshotStore(root_);
  const std::string a = publish("buggy", "s");
  write(root_ / a / kMetaFile, std::string("\xff\xff\xff", 3));
  auto entries = listed();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries.at(a).name, "(unreadable) " + a);
}

TEST_F(SnapshotCacheTest, PruneRemovesOldOnesAndKeepsRecentAndLockedOnes) {
  store_ = ReadySnapshotStore(root_);
  const std::string old_one = publish("buggy", "old");
  const std::string recent = publish("buggy", "recent");
  const std::string locked = publish("buggy", "locked");
  age(old_one, 30);
  age(recent, 2);
  age(locked, 30);
  auto held = store_.lock(locked, Deadline::after(std::chrono::seconds(5)));
  ASSERT_TRUE(held.ok()) << held.error().message;

  kbuild::PruneResult result;
  ASSERT_TRUE(prune_snapshots(store_, std::chrono::hours(24 * 14), false, &result).ok());
  ASSERT_EQ(result.removed.size(), 1u);
  EXPECT_EQ(result.removed[0].path, root_ / old_one);
  EXPECT_EQ(result.removed[0].kind, "snapshot");
  EXPECT_GT(result.bytes, 0u);
  EXPECT_FALSE(fs::exists(root_ / old_one));
  EXPECT_TRUE(found(recent, text_for("buggy", "recent")));
  EXPECT_TRUE(found(locked, text_for("buggy", "locked")));
  ASSERT_EQ(result.skipped.size(), 1u);
  EXPECT_NE(result.skipped[0].find(locked), std::string::npos) << result.skipped[0];
  EXPECT_NE(result.skipped[0].find("lock"), std::string::npos) << result.skipped[0];
  EXPECT_TRUE(no_trash_or_staging(root_));  // removed through the store: nothing half-deleted

  // Once the lock is released (and the use stamp aged again) it goes too.
  held->reset();
  age(locked, 30);
  kbuild::PruneResult again;
  ASSERT_TRUE(prune_snapshots(store_, std::chrono::hours(24 * 14), false, &again).ok());
  ASSERT_EQ(again.removed.size(), 1u);
  EXPECT_FALSE(fs::exists(root_ / locked));
  EXPECT_TRUE(fs::exists(root_ / recent));
}

TEST_F(SnapshotCacheTest, ADryRunRemovesNothing) {
  store_ = ReadySnapshotStore(root_);
  const std::string old_one = publish("buggy", "old");
  age(old_one, 30);
  kbuild::PruneResult result;
  ASSERT_TRUE(prune_snapshots(store_, std::chrono::hours(0), true, &result).ok());
  ASSERT_EQ(result.removed.size(), 1u);
  EXPECT_EQ(result.removed[0].path, root_ / old_one);
  EXPECT_GT(result.bytes, 0u);
  EXPECT_TRUE(fs::exists(root_ / old_one / kRamFile));
  EXPECT_TRUE(found(old_one, text_for("buggy", "old"), /*deep=*/true));
}

TEST_F(SnapshotCacheTest, FindStampsTheUseAndTheSnapshotStillPassesItsChecks) {
  store_ = ReadySnapshotStore(root_);
  const std::string key = publish("buggy", "s");
  const std::string text = text_for("buggy", "s");
  age(key, 30);
  const auto before = ReadySnapshotStore::last_used(root_ / key);
  EXPECT_LT(before, SysClock::now() - std::chrono::hours(24 * 29));
  struct stat ram_before {};
  ASSERT_EQ(::stat((root_ / key / kRamFile).c_str(), &ram_before), 0);

  ASSERT_TRUE(found(key, text));
  const auto after = ReadySnapshotStore::last_used(root_ / key);
  EXPECT_GT(after, SysClock::now() - std::chrono::hours(1));
  struct stat ram_after {};
  ASSERT_EQ(::stat((root_ / key / kRamFile).c_str(), &ram_after), 0);
  EXPECT_EQ(ram_after.st_ino, ram_before.st_ino);
  EXPECT_EQ(ram_after.st_mtim.tv_nsec, ram_before.st_mtim.tv_nsec);
  EXPECT_EQ(ram_after.st_ctim.tv_sec, ram_before.st_ctim.tv_sec);
  EXPECT_EQ(ram_after.st_ctim.tv_nsec, ram_before.st_ctim.tv_nsec);

  // Used again: the stamp is rewritten, the checks (shallow and deep) pass.
  fs::last_write_time(root_ / key / kUsedFile, fs::file_time_type::clock::now() - std::chrono::hours(24 * 30));
  ASSERT_TRUE(found(key, text));
  EXPECT_GT(ReadySnapshotStore::last_used(root_ / key), SysClock::now() - std::chrono::hours(1));
  ASSERT_TRUE(found(key, text, /*deep=*/true));

  // A used snapshot is not pruned although it was published long ago.
  kbuild::PruneResult result;
  ASSERT_TRUE(prune_snapshots(store_, std::chrono::hours(24 * 14), false, &result).ok());
  EXPECT_TRUE(result.removed.empty());
  EXPECT_TRUE(fs::exists(root_ / key));
}

pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST_F(SnapshotCacheTest, LeftoversOfDeadMakersArePrunedOthersAreNot) {
  store_ = ReadySnapshotStore(root_);
  const std::string key = "0123456789abcdef01234567";
  const std::string busy_key = "fedcba9876543210fedcba98";
  const pid_t dead = dead_pid();
  const fs::path dead_staging = root_ / (".staging-" + key + "-" + std::to_string(dead) + "-7");
  const fs::path dead_trash = root_ / (".trash-" + key + "-" + std::to_string(dead) + "-8");
  const fs::path live_staging = root_ / (".staging-" + key + "-" + std::to_string(::getpid()) + "-9");
  const fs::path busy_staging = root_ / (".staging-" + busy_key + "-" + std::to_string(dead) + "-1");
  // The busy key's maker holds the lock (its staging dir named after a dead
  // pid stands for one in another pid namespace).
  auto held = store_.lock(busy_key, Deadline::after(std::chrono::seconds(5)));
  ASSERT_TRUE(held.ok()) << held.error().message;
  for (const auto& d : {dead_staging, dead_trash, live_staging, busy_staging}) {
    fs::create_directories(d);
    write(d / kRamFile, std::string(4096, 'x'));
  }

  kbuild::PruneResult dry;
  ASSERT_TRUE(prune_snapshots(store_, std::chrono::hours(24 * 14), true, &dry).ok());
  EXPECT_EQ(dry.removed.size(), 2u);
  EXPECT_TRUE(fs::exists(dead_staging));
  EXPECT_TRUE(fs::exists(dead_trash));

  kbuild::PruneResult result;
  ASSERT_TRUE(prune_snapshots(store_, std::chrono::hours(24 * 14), false, &result).ok());
  ASSERT_EQ(result.removed.size(), 2u);
  EXPECT_GT(result.bytes, 0u);
  EXPECT_FALSE(fs::exists(dead_staging));
  EXPECT_FALSE(fs::exists(dead_trash));
  EXPECT_TRUE(fs::exists(live_staging));  // its maker is running
  EXPECT_TRUE(fs::exists(busy_staging));  // its key's lock is held
}

}  // namespace
}  // namespace racerig::run
