// Wait classification from symbolized stacks.
#include "rig/schedule/waits.h"

#include <gtest/gtest.h>

namespace racerig::schedule {
namespace {

TEST(WaitsTest, ALockSlowPathIsALockWait) {
  EXPECT_EQ(classify_sleep({"__schedule+0x2d0/0x8a0", "schedule+0x5d/0xd0", "rwsem_down_write_slowpath+0x2a1/0x560",
                            "xfs_ilock+0x9f/0xf0", "xfs_fileattr_set+0x1c5/0x4a0"}),
            WaitKind::kLock);
  EXPECT_EQ(classify_sleep({"__schedule+0x1", "__mutex_lock+0x10/0x600", "foo+0x1"}), WaitKind::kLock);
}

TEST(WaitsTest, RcuAndCpuWaitsAreNotLockWaits) {
  EXPECT_EQ(classify_sleep({"__schedule+0x1", "schedule_timeout+0x1", "__wait_rcu_gp+0x1", "synchronize_rcu+0x1"}),
            WaitKind::kRcu);
  EXPECT_EQ(classify_sleep({"__schedule+0x1", "stop_machine_cpuslocked+0x1"}), WaitKind::kCpu);
  EXPECT_EQ(classify_spin("csd_lock_wait"), WaitKind::kCpu);
  EXPECT_EQ(classify_spin("smp_call_function_many_cond"), WaitKind::kCpu);
  EXPECT_EQ(classify_spin("xfs_ilock"), WaitKind::kNone);
}

// Measured on 6.1 (fixed): the faulter held inside spin_lock(&ip->i_flags_lock)
// left the flipper spinning in queued_spin_lock_slowpath until the step
// deadline (60 s, STALLED); it is the kernel serializing the two paths.
TEST(WaitsTest, SpinningInASpinlocksSlowPathIsALockWait) {
  EXPECT_EQ(classify_spin("queued_spin_lock_slowpath"), WaitKind::kLock);
  EXPECT_EQ(classify_spin("native_queued_spin_lock_slowpath"), WaitKind::kLock);
  EXPECT_EQ(classify_spin("queued_write_lock_slowpath"), WaitKind::kLock);
}

TEST(WaitsTest, TheInnermostRecognizedFrameWins) {
  // An RCU wait entered while holding a lock that someone else waits for is
  // an RCU wait for this task.
  EXPECT_EQ(classify_sleep({"__schedule+0x1", "__wait_rcu_gp+0x1", "synchronize_rcu+0x1", "__mutex_lock+0x1"}),
            WaitKind::kRcu);
  EXPECT_EQ(classify_sleep({"__schedule+0x1", "do_nanosleep+0x1"}), WaitKind::kOther);
  EXPECT_EQ(classify_sleep({}), WaitKind::kOther);
}

TEST(WaitsTest, WhereSkipsTheSchedulerAndKeepsFourFrames) {
  EXPECT_EQ(where_text({"__schedule+0x2d0/0x8a0", "schedule+0x5d/0xd0", "schedule_preempt_disabled+0x1",
                        "rwsem_down_write_slowpath+0x2a1/0x560", "xfs_ilock+0x9f/0xf0", "xfs_fileattr_set+0x1c5/0x4a0",
                        "vfs_fileattr_set+0x1/0x2", "do_vfs_ioctl+0x1"}),
            "rwsem_down_write_slowpath \u2190 xfs_ilock \u2190 xfs_fileattr_set \u2190 vfs_fileattr_set");
  EXPECT_EQ(where_text({}), "?");
  EXPECT_EQ(function_of("xfs_ilock+0x9f/0xf0"), "xfs_ilock");
  EXPECT_EQ(function_of("0xffffffff81000000"), "0xffffffff81000000");
}

}  // namespace
}  // namespace racerig::schedule
