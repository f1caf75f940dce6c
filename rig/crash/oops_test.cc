// The console oops parser against 6.1-format reports, mixed with ordinary
// console output, timestamps and garbage.
#include <gtest/gtest.h>

#include <sstream>

#include "rig/crash/oops.h"

namespace racerig::crash {
namespace {

// The shape of the crash measured on the buggy kernel (6.1, x86_64).
const char* kNullDeref = R"([    3.412345] racerig: something before
[    3.512770] BUG: kernel NULL pointer dereference, address: 0000000000000008
[    3.513001] #PF: supervisor read access in kernel mode
[    3.513201] #PF: error_code(0x0000) - not-present page
[    3.513400] PGD 0 P4D 0 
[    3.513600] Oops: 0000 [#1] SMP NOPTI
[    3.513800] CPU: 0 PID: 61 Comm: faulter Not tainted 6.1.0 #1
[    3.514000] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
[    3.514200] RIP: 0010:iomap_page_mkwrite+0x48/0x1e0
[    3.514400] Code: 00 00 00 48 89 fb 48 8b 47 08 4c 8b 60 70 ...
[    3.514600] RSP: 0000:ffffc900001bfd58 EFLAGS: 00010246
[    3.514800] RAX: 0000000000000000 RBX: ffffc900001bfdf8 RCX: 0000000000000000
[    3.515000] RDX: 0000000000000001 RSI: ffffffff81c2a0a0 RDI: ffffc900001bfdf8
[    3.515200] CR2: 0000000000000008 CR3: 0000000002d3c000 CR4: 00000000000006f0
[    3.515400] Call Trace:
[    3.515500]  <TASK>
[    3.515600]  __xfs_filemap_fault+0x1bd/0x250
[    3.515700]  xfs_filemap_fault+0x2f/0x40
[    3.515800]  __do_fault+0x36/0xd0
[    3.515900]  __handle_mm_fault+0x9e4/0xf20
[    3.516000]  ? find_vma+0x10/0x50
[    3.516100]  handle_mm_fault+0x9b/0x1d0
[    3.516200]  exc_page_fault+0x1d1/0x4d0
[    3.516300]  asm_exc_page_fault+0x22/0x30
[    3.516400] RIP: 0033:0x401a3c
[    3.516500] RSP: 002b:00007ffd1c8c9e38 EFLAGS: 00010206
[    3.516600]  </TASK>
[    3.516700] Modules linked in:
[    3.516800] CR2: 0000000000000008
[    3.516900] ---[ end trace 0000000000000000 ]---
[    3.517000] RIP: 0010:iomap_page_mkwrite+0x48/0x1e0
)";

ConsoleParser feed(const std::string& text) {
  ConsoleParser p;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) p.feed_line(line);
  return p;
}

TEST(OopsTest, ParsesTheNullDereferenceReport) {
  ConsoleParser p = feed(kNullDeref);
  ASSERT_TRUE(p.first_report_complete());
  auto o = p.first_report();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->kind(), "BUG");
  EXPECT_EQ(o->headline(), "BUG: kernel NULL pointer dereference, address: 0000000000000008");
  EXPECT_EQ(o->cpu(), 0);
  EXPECT_EQ(o->pid(), 61);
  EXPECT_EQ(o->comm(), "faulter");
  EXPECT_EQ(o->rip().function(), "iomap_page_mkwrite");
  EXPECT_EQ(o->rip().offset(), 0x48u);
  ASSERT_EQ(o->trace_size(), 8);
  EXPECT_EQ(o->trace(0).function(), "__xfs_filemap_fault");
  EXPECT_EQ(o->trace(0).offset(), 0x1bdu);
  EXPECT_EQ(o->trace(1).function(), "xfs_filemap_fault");
  EXPECT_TRUE(o->trace(4).uncertain());
  EXPECT_EQ(o->trace(4).function(), "find_vma");
  EXPECT_NE(o->text().find("---[ end trace"), std::string::npos);
  EXPECT_EQ(o->text().find("racerig: something before"), std::string::npos);
}

// Another CPU's printk between the trace's lines (measured under libvirt: a
// PS/2 mouse probe right after "Call Trace:") does not end the trace; the
// register dump after it does.
TEST(OopsTest, AForeignLineInsideTheTraceIsSkipped) {
  std::string text = kNullDeref;
  const std::string after = "[    3.515400] Call Trace:\n";
  text.insert(text.find(after) + after.size(),
              "[    3.515450] input: ImExPS/2 Generic Explorer Mouse as /devices/platform/i8042/serio1/input/input3\n");
  const std::string mid = "[    3.515800]  __do_fault+0x36/0xd0\n";
  text.insert(text.find(mid), "[    3.515750] random: crng init done\n");
  ConsoleParser p = feed(text);
  ASSERT_TRUE(p.first_report_complete());
  auto o = p.first_report();
  ASSERT_TRUE(o.has_value());
  ASSERT_EQ(o->trace_size(), 8);
  EXPECT_EQ(o->trace(0).function(), "__xfs_filemap_fault");
  EXPECT_EQ(o->trace(2).function(), "__do_fault");
  EXPECT_EQ(o->trace(7).function(), "asm_exc_page_fault") << "the user RIP line after the frames ends the trace";
}

TEST(OopsTest, AnIncompleteReportIsVisibleButNotComplete) {
  std::string text = kNullDeref;
  ConsoleParser p = feed(text.substr(0, text.find("Call Trace")));
  ASSERT_TRUE(p.first_report().has_value());
  EXPECT_FALSE(p.first_report_complete());
  EXPECT_EQ(p.first_report()->rip().function(), "iomap_page_mkwrite");
}

TEST(OopsTest, RecognizesOtherReportKinds) {
  auto kind_of = [](const std::string& line) {
    ConsoleParser p;
    p.feed_line(line);
    return p.first_report() ? p.first_report()->kind() : std::string("none");
  };
  EXPECT_EQ(kind_of("[   1.0] WARNING: CPU: 1 PID: 70 at fs/xfs/xfs_file.c:1300 xfs_filemap_fault+0x1/0x2"), "WARNING");
  EXPECT_EQ(kind_of("general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP"),
            "general protection fault");
  EXPECT_EQ(kind_of("BUG: KASAN: use-after-free in iomap_page_mkwrite+0x48/0x1e0"), "KASAN");
  EXPECT_EQ(kind_of("kernel BUG at fs/xfs/xfs_file.c:1234!"), "BUG");
  EXPECT_EQ(kind_of("Oops: 0000 [#1] SMP"), "Oops");
  EXPECT_EQ(kind_of("racerig-agent: BUGS are fine here"), "none");
  EXPECT_EQ(kind_of("[    0.1] Run /init as init process"), "none");
}

TEST(OopsTest, AWarningWithItsTrace) {
  ConsoleParser p = feed(
      "[    2.0] ------------[ cut here ]------------\n"
      "[    2.0] WARNING: CPU: 1 PID: 70 at fs/iomap/buffered-io.c:1017 iomap_page_mkwrite+0x1a/0x1e0\n"
      "[    2.0] CPU: 1 PID: 70 Comm: flipper Not tainted 6.1.0 #1\n"
      "[    2.0] RIP: 0010:iomap_page_mkwrite+0x1a/0x1e0\n"
      "[    2.0] Call Trace:\n"
      "[    2.0]  <TASK>\n"
      "[    2.0]  xfs_filemap_page_mkwrite+0x10/0x20\n"
      "[    2.0]  </TASK>\n"
      "[    2.0] ---[ end trace 0000000000000000 ]---\n");
  ASSERT_TRUE(p.first_report_complete());
  EXPECT_EQ(p.first_report()->kind(), "WARNING");
  EXPECT_EQ(p.first_report()->comm(), "flipper");
  EXPECT_EQ(p.first_report()->trace_size(), 1);
}

TEST(OopsTest, AWarningIsFollowedByTheReportThatMatters) {
  // The live-switch kernel under fsx: a WARN_ON_ONCE in the DAX fault path,
  // then (maybe) the NULL dereference. Both are kept, in order.
  ConsoleParser p = feed(
      "[    5.0] WARNING: CPU: 0 PID: 45 at fs/dax.c:1629 dax_iomap_pte_fault+0x4cb/0x695\n"
      "[    5.0] RIP: 0010:dax_iomap_pte_fault+0x4cb/0x695\n"
      "[    5.0] ---[ end trace 0000000000000000 ]---\n"
      "[    6.0] random line\n"
      "[    7.0] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
      "[    7.0] RIP: 0010:iomap_page_mkwrite+0x48/0x1c5\n");
  ASSERT_TRUE(p.first_report_complete());
  EXPECT_EQ(p.first_report()->kind(), "WARNING");
  auto all = p.reports();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].kind(), "BUG");
  EXPECT_EQ(all[1].rip().function(), "iomap_page_mkwrite");
  EXPECT_EQ(p.complete_reports().size(), 1u);
}

TEST(OopsTest, ARepeatedWarningIsCountedAndDoesNotHideWhatFollows) {
  // Seen under stress on the live-switch kernel: the same WARN 16 times,
  // then the NULL dereference that matters.
  ConsoleParser p;
  for (int i = 0; i < 40; ++i) {
    p.feed_line("WARNING: CPU: 1 PID: 45 at fs/dax.c:923 dax_writeback_mapping_range+0xbe/0x39d");
    p.feed_line("---[ end trace 0000000000000000 ]---");
  }
  p.feed_line("BUG: kernel NULL pointer dereference, address: 0000000000000008");
  auto all = p.reports();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].repeats(), 39);
  EXPECT_EQ(all[1].kind(), "BUG");
}

// The refcount_t family as 6.1 prints it on x86: lib/refcount.c's
// REFCOUNT_WARN is WARN_ONCE(1, "refcount_t: " str ".\n"), whose
// __warn_printk prints "cut here" and the message; the trap's __warn
// (kernel/panic.c) then prints "WARNING: CPU: %d PID: %d at %s:%d %pS",
// show_regs, the trace and the end marker. The line numbers are 6.1.192's
// (lib/refcount.c:28 is the underflow), the symbol sizes this tree's.
std::string refcount_report(const std::string& what, int line) {
  return "[   12.301000] ------------[ cut here ]------------\n"
         "[   12.301100] refcount_t: " + what + ".\n"
         "[   12.301200] WARNING: CPU: 1 PID: 73 at lib/refcount.c:" + std::to_string(line) +
         " refcount_warn_saturate+0x9e/0xe7\n"
         "[   12.301300] CPU: 1 PID: 73 Comm: revoker Not tainted 6.1.192 #1\n"
         "[   12.301400] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n"
         "[   12.301500] RIP: 0010:refcount_warn_saturate+0x9e/0xe7\n"
         "[   12.301600] Code: 1d 5c 4b 0a 01 01 e8 2c 9a e6 ff 0f 0b c3 cc cc cc cc 80 3d 45 4b 0a 01 00 75 81\n"
         "[   12.301700] RSP: 0018:ffffc9000023fe50 EFLAGS: 00010282\n"
         "[   12.301800] RAX: 0000000000000000 RBX: ffff888003a1e000 RCX: 0000000000000000\n"
         "[   12.301900] CR2: 00007f3c2d1e6000 CR3: 0000000003a42000 CR4: 00000000000006e0\n"
         "[   12.302000] Call Trace:\n"
         "[   12.302100]  <TASK>\n"
         "[   12.302200]  put_pid+0x30/0x37\n"
         "[   12.302300]  tty_ioctl+0x2c1/0x7aa\n"
         "[   12.302400]  __x64_sys_ioctl+0x8d/0x7df\n"
         "[   12.302500]  do_syscall_64+0x35/0x4c\n"
         "[   12.302600]  entry_SYSCALL_64_after_hwframe+0x64/0xce\n"
         "[   12.302700]  </TASK>\n"
         "[   12.302800] ---[ end trace 0000000000000000 ]---\n";
}

TEST(OopsTest, ARefcountWarningKeepsItsMessage) {
  ConsoleParser p = feed("[   12.300000] racerig: before\n" + refcount_report("underflow; use-after-free", 28));
  ASSERT_TRUE(p.first_report_complete());
  const pb::Oops r = *p.first_report();
  EXPECT_EQ(r.kind(), "WARNING");
  EXPECT_EQ(r.message(), "refcount_t: underflow; use-after-free.");
  EXPECT_EQ(r.headline(), "WARNING: CPU: 1 PID: 73 at lib/refcount.c:28 refcount_warn_saturate+0x9e/0xe7");
  EXPECT_EQ(r.text().rfind("refcount_t: underflow; use-after-free.\nWARNING: CPU: 1", 0), 0u) << r.text();
  EXPECT_EQ(r.comm(), "revoker");
  EXPECT_EQ(r.rip().function(), "refcount_warn_saturate");
  ASSERT_EQ(r.trace_size(), 5);
  EXPECT_EQ(r.trace(0).function(), "put_pid");
  EXPECT_NE(render(r).find("  refcount_t: underflow; use-after-free.\n  WARNING: CPU: 1"), std::string::npos)
      << render(r);
}

// Captured from a real run: LKDTM's REFCOUNT_DEC_AND_TEST_NEGATIVE on stock
// 6.1.192 + a variant fragment enabling LKDTM (DEBUG_FS,
// RUNTIME_TESTING_MENU, LKDTM), the console verbatim (printk time off).
const char* kLkdtmUnderflow =
    "------------[ cut here ]------------\n"
    "refcount_t: underflow; use-after-free.\n"
    "WARNING: CPU: 0 PID: 35 at lib/refcount.c:28 refcount_warn_saturate+0xa3/0xe7\n"
    "CPU: 0 PID: 35 Comm: provoker Not tainted 6.1.192+ #3 \n"
    "RIP: 0010:refcount_warn_saturate+0xa3/0xe7\n"
    "Code: 79 7b 8b 00 01 e8 97 83 e2 ff 0f 0b eb 5e 80 3d 68 7b 8b 00 00 75 55 48 c7 c7 59 c3 91 81 c6 05 58 7b 8b 00 01 e8 77 83 e2 ff <0f> 0b eb 3e 80 3d 47 7b 8b 00 00 75 35 48 c7 c7 81 c3 91 81 c6 05\n"
    "RSP: 0018:ffffc9000013fd98 EFLAGS: 00000292\n"
    "RAX: 0000000000000026 RBX: ffff88801f93e000 RCX: c0000000ffffefff\n"
    "RDX: 00000000000000d2 RSI: ffffc9000013fc58 RDI: 0000000000000001\n"
    "RBP: ffffc9000013fd98 R08: 0000000000000003 R09: ffffc9000013fc00\n"
    "R10: 0000000000001000 R11: 0000000000000003 R12: 000000000000001e\n"
    "R13: ffffffff81abe720 R14: ffffc9000013fee8 R15: ffff88801f8d6a78\n"
    "FS:  000000002c122380(0000) GS:ffff88801ec00000(0000) knlGS:0000000000000000\n"
    "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033\n"
    "CR2: 0000000000477b80 CR3: 000000001f946000 CR4: 00000000000006b0\n"
    "Call Trace:\n"
    " <TASK>\n"
    " __refcount_sub_and_test.constprop.0+0x28/0x2f\n"
    " lkdtm_REFCOUNT_DEC_AND_TEST_NEGATIVE+0x24/0x41\n"
    " lkdtm_do_action+0x17/0x19\n"
    " direct_entry+0xab/0xc2\n"
    " full_proxy_write+0x42/0x5e\n"
    " ? full_proxy_poll+0x4c/0x4c\n"
    " vfs_write+0xa1/0x17d\n"
    " ? slob_free_pages+0x89/0x8d\n"
    " ? __kmem_cache_free+0x2c/0x2e\n"
    " ? kmem_cache_free+0x31/0x33\n"
    " ? __fget_light+0x27/0x48\n"
    " ? __fdget+0xe/0x10\n"
    " ksys_write+0x66/0x97\n"
    " __x64_sys_write+0x14/0x16\n"
    " x64_sys_call+0x28/0xd6e\n"
    " do_syscall_64+0x3d/0x4c\n"
    " entry_SYSCALL_64_after_hwframe+0x4b/0xb5\n"
    "RIP: 0033:0x438460\n"
    "Code: 40 00 48 c7 c2 b8 ff ff ff f7 d8 64 89 02 48 c7 c0 ff ff ff ff eb b7 0f 1f 00 80 3d 01 ec 06 00 00 74 17 b8 01 00 00 00 0f 05 <48> 3d 00 f0 ff ff 77 58 c3 0f 1f 80 00 00 00 00 48 83 ec 28 48 89\n"
    "RSP: 002b:00007fff9f4ecb18 EFLAGS: 00000202 ORIG_RAX: 0000000000000001\n"
    "RAX: ffffffffffffffda RBX: 0000000000000003 RCX: 0000000000438460\n"
    "RDX: 000000000000001e RSI: 00007fff9f4edfbb RDI: 0000000000000003\n"
    "RBP: 00007fff9f4eccf8 R08: 0000000000000200 R09: 000000002c1236a0\n"
    "R10: 0000000000000000 R11: 0000000000000202 R12: 00007fff9f4edfbb\n"
    "R13: 0000000000000001 R14: 0000000000000001 R15: 0000000000000002\n"
    " </TASK>\n"
    "---[ end trace 0000000000000000 ]---\n";

TEST(OopsTest, ARealRefcountUnderflowKeepsItsMessageAndTrace) {
  ConsoleParser p = feed(std::string("ink family for ACPI event\n") + kLkdtmUnderflow);
  ASSERT_TRUE(p.first_report_complete());
  const pb::Oops r = *p.first_report();
  EXPECT_EQ(r.kind(), "WARNING");
  EXPECT_EQ(r.message(), "refcount_t: underflow; use-after-free.");
  EXPECT_EQ(r.headline(), "WARNING: CPU: 0 PID: 35 at lib/refcount.c:28 refcount_warn_saturate+0xa3/0xe7");
  EXPECT_EQ(r.comm(), "provoker");
  EXPECT_EQ(r.pid(), 35);
  EXPECT_EQ(r.rip().function(), "refcount_warn_saturate");
  ASSERT_GE(r.trace_size(), 3);
  EXPECT_EQ(r.trace(0).function(), "__refcount_sub_and_test.constprop.0");
  EXPECT_EQ(r.trace(1).function(), "lkdtm_REFCOUNT_DEC_AND_TEST_NEGATIVE");
  EXPECT_EQ(r.trace(r.trace_size() - 1).function(), "entry_SYSCALL_64_after_hwframe");
  EXPECT_EQ(p.reports().size(), 1u);
}

TEST(OopsTest, EveryRefcountSaturationIsItsOwnReport) {
  ConsoleParser p = feed(refcount_report("saturated; leaking memory", 19) +
                         refcount_report("addition on 0; use-after-free", 25) +
                         refcount_report("decrement hit 0; leaking memory", 31) +
                         refcount_report("underflow; use-after-free", 28) +
                         refcount_report("underflow; use-after-free", 28));
  auto all = p.reports();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].message(), "refcount_t: saturated; leaking memory.");
  EXPECT_EQ(all[1].message(), "refcount_t: addition on 0; use-after-free.");
  EXPECT_EQ(all[2].message(), "refcount_t: decrement hit 0; leaking memory.");
  EXPECT_EQ(all[3].message(), "refcount_t: underflow; use-after-free.");
  EXPECT_EQ(all[3].repeats(), 1);
}

TEST(OopsTest, AWarnOnWithoutMessageAndABugAfterCutHereHaveNone) {
  // lib/bug.c's report_bug prints "cut here" itself for WARN_ON and BUG().
  ConsoleParser p = feed(
      "[    2.0] ------------[ cut here ]------------\n"
      "[    2.0] WARNING: CPU: 0 PID: 1 at fs/dax.c:923 dax_writeback_mapping_range+0xbe/0x39d\n"
      "[    2.0] ---[ end trace 0000000000000000 ]---\n"
      "[    3.0] ------------[ cut here ]------------\n"
      "[    3.0] kernel BUG at fs/xfs/xfs_file.c:1234!\n");
  auto all = p.reports();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].message(), "");
  EXPECT_EQ(all[1].kind(), "BUG");
  EXPECT_EQ(all[1].message(), "");
  EXPECT_EQ(all[1].text(), "kernel BUG at fs/xfs/xfs_file.c:1234!\n");
}

TEST(OopsTest, LinesAfterCutHereWithoutAReportAreForgotten) {
  // A "cut here" whose report never came (lost, or a foreign line): more
  // than a message's worth of lines later, a report has none.
  ConsoleParser p;
  p.feed_line("------------[ cut here ]------------");
  for (int i = 0; i < 20; ++i) p.feed_line("some line " + std::to_string(i));
  p.feed_line("WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2");
  ASSERT_TRUE(p.first_report());
  EXPECT_EQ(p.first_report()->message(), "");
  EXPECT_EQ(p.first_report()->text(), "WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2\n");
}

TEST(OopsTest, ReportsAreBounded) {
  ConsoleParser p;
  for (int i = 0; i < 100; ++i) {
    p.feed_line("WARNING: CPU: 0 PID: 1 at x.c:" + std::to_string(i) + " f+0x1/0x2");
    p.feed_line("---[ end trace 0000000000000000 ]---");
  }
  EXPECT_EQ(p.reports().size(), ConsoleParser::kMaxReports);
}

TEST(OopsTest, FramesParseOrAreRejected) {
  pb::Frame f;
  EXPECT_TRUE(parse_frame(" ? xfs_vm_writepages+0x10/0x90 [xfs]", &f));
  EXPECT_TRUE(f.uncertain());
  EXPECT_EQ(f.function(), "xfs_vm_writepages");
  EXPECT_FALSE(parse_frame("RSP: 0000:ffffc900001bfd58 EFLAGS: 00010246", &f));
  EXPECT_FALSE(parse_frame("+0x10/0x20", &f));
  EXPECT_FALSE(parse_frame("foo+0xZZ/0x20", &f));
  EXPECT_FALSE(parse_frame("", &f));
}

// Measured on the live-switch kernel under stress: a call through a NULL
// a_ops->readahead. The RIP has no symbol; the report keeps the address.
TEST(OopsTest, RipWithoutSymbolKeepsTheAddress) {
  ConsoleParser p;
  for (const char* l : {"[    9.1] BUG: kernel NULL pointer dereference, address: 0000000000000000",
                        "[    9.1] #PF: supervisor instruction fetch in kernel mode", "[    9.1] Oops: 0010 [#1] SMP",
                        "[    9.1] CPU: 0 PID: 46 Comm: fsx Not tainted 6.1.192+ #4", "[    9.1] RIP: 0010:0x0",
                        "[    9.1] Call Trace:", "[    9.1]  <TASK>", "[    9.1]  read_pages+0xd7/0xe4",
                        "[    9.1]  </TASK>", "[    9.1] ---[ end trace 0000000000000000 ]---"})
    p.feed_line(l);
  ASSERT_EQ(p.complete_reports().size(), 1u);
  const pb::Oops o = p.complete_reports()[0];
  EXPECT_EQ(o.rip().text(), "0x0");
  EXPECT_EQ(o.rip().function(), "");
  EXPECT_EQ(o.rip().address(), 0u);
  ASSERT_EQ(o.trace_size(), 1);
  EXPECT_EQ(o.trace(0).function(), "read_pages");
  EXPECT_NE(render(o).find("RIP: 0x0\n"), std::string::npos) << render(o);
}

TEST(OopsTest, GarbageNeverCrashes) {
  ConsoleParser p;
  std::string junk;
  for (int i = 0; i < 5000; ++i) junk.push_back(static_cast<char>((i * 131) % 256));
  p.feed_line(junk);
  p.feed_line("BUG: x");
  p.feed_line("Call Trace:");
  p.feed_line(junk);
  p.feed_line(std::string(100000, 'A'));
  p.feed_line("[");
  p.feed_line("[]");
  p.feed_line("RIP: ");
  p.feed_line("RIP: 0010:");
  EXPECT_TRUE(p.first_report().has_value());
  EXPECT_EQ(strip_console_prefix("[    1.234567] hello\r"), "hello");
  EXPECT_EQ(strip_console_prefix("[x] hello"), "[x] hello");
}

}  // namespace
}  // namespace racerig::crash
