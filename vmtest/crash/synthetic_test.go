package crash

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// consoleLog renders printk messages the way vmtest's console.log holds
// them: the host's "[%8.3f] ", then the kernel's "[%5d.%06d] ". A message
// starting with "$ " is user space writing to the console: no kernel
// timestamp.
func consoleLog(msgs ...string) []byte {
	var b strings.Builder
	for i, m := range msgs {
		host := fmt.Sprintf("[%8.3f] ", 2+float64(i)*0.013)
		if u, ok := strings.CutPrefix(m, "$ "); ok {
			b.WriteString(host + u + "\n")
			continue
		}
		fmt.Fprintf(&b, "%s[%5d.%06d] %s\n", host, 1+i/100, (i%100)*10007, m)
	}
	return []byte(b.String())
}

// inCase3 wraps a report in the markers of three cases, the report
// landing in the third, as a conformance run would log it.
func inCase3(report ...string) []string {
	out := []string{
		"iomapct: case ext4/case1 start", "EXT4-fs (vda): mounted filesystem", "iomapct: case ext4/case1 end",
		"iomapct: case ext4/case2 start", "iomapct: case ext4/case2 end",
		"iomapct: case ext4/case3 start",
	}
	out = append(out, report...)
	return append(out, "iomapct: case ext4/case3 end")
}

// Reports as Linux 6.12 prints them on x86-64 (strings checked against
// the source: kernel/panic.c, arch/x86/mm/fault.c, arch/x86/kernel/
// dumpstack.c and traps.c, kernel/hung_task.c, kernel/watchdog.c,
// kernel/rcu/tree_stall.h, kernel/locking/lockdep.c, lib/ubsan.c,
// mm/kasan/report.c, kernel/sched/core.c), trimmed.
var (
	regs = []string{
		"RSP: 0018:ffffc9000013bc58 EFLAGS: 00010246",
		"RAX: 0000000000000000 RBX: ffff88800a1b2c00 RCX: 0000000000000000",
	}
	cpuLine  = "CPU: 0 UID: 0 PID: 57 Comm: iomapct-agent Not tainted 6.12.57 #1"
	hwLine   = "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014"
	userTail = []string{" do_syscall_64+0x4b/0x110", " entry_SYSCALL_64_after_hwframe+0x76/0x7e", "RIP: 0033:0x4a0a4e", " </TASK>"}
)

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func lines(s ...string) []string { return s }

var warningReport = join(lines(
	"------------[ cut here ]------------",
	"WARNING: CPU: 0 PID: 57 at fs/iomap/buffered-io.c:812 iomap_write_begin+0x5a1/0x5c0",
	"Modules linked in:",
	cpuLine, hwLine,
	"RIP: 0010:iomap_write_begin+0x5a1/0x5c0",
	"Code: 0f 0b e9 6c fd ff ff 48 89 df e8 00 00 00 00",
), regs, lines(
	"Call Trace:",
	" <TASK>",
	" ? __warn+0x7e/0x120",
	" ? iomap_write_begin+0x5a1/0x5c0",
	" ? report_bug+0x18d/0x1c0",
	" iomap_file_buffered_write+0x1c7/0x480",
	" ext4_buffered_write_iter+0x5d/0x110",
	" vfs_write+0x2a3/0x440",
	" ksys_write+0x6c/0xe0",
), userTail, lines(
	"---[ end trace 0000000000000000 ]---",
))

type synthetic struct {
	name   string
	report []string
	kind   string
	title  string
	fatal  bool
	// last is the excerpt's expected last line.
	last string
}

var syntheticReports = []synthetic{
	{
		name: "warning", report: warningReport,
		kind: KindWarning, title: "WARNING in iomap_write_begin", last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "warning-no-file", report: lines(
			"WARNING: CPU: 1 PID: 3 at xfs_trans_cancel.cold+0x12/0x40 [xfs]",
			cpuLine, "Call Trace:", " <TASK>", " xfs_create+0x2f0/0x4c0 [xfs]", " </TASK>",
			"---[ end trace 0000000000000000 ]---"),
		kind: KindWarning, title: "WARNING in xfs_trans_cancel", last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "warning-other", report: lines(
			"WARNING: kernel stack regs at ffffc9000013bc58 in init:1 has bad 'bp' value 0000000000000000",
			cpuLine, "RIP: 0010:unwind_next_frame+0x31/0x560", "Call Trace:", " <TASK>", " show_stack+0x3f/0x50", " </TASK>"),
		kind: KindWarning, title: "WARNING: kernel stack regs in unwind_next_frame", last: " </TASK>",
	},
	{
		name: "panic", report: join(lines(
			"Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
			cpuLine, hwLine, "Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " panic+0x118/0x2f0",
			" mount_root_generic+0x1d4/0x270", " prepare_namespace+0x1f5/0x240", " kernel_init+0x1a/0x130",
			" ret_from_fork+0x31/0x50", " </TASK>", "Kernel Offset: disabled",
			"---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---")),
		kind: KindPanic, title: "kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)", fatal: true,
		last: "---[ end Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0) ]---",
	},
	{
		name: "null-deref", report: join(lines(
			"BUG: kernel NULL pointer dereference, address: 0000000000000000",
			"#PF: supervisor write access in kernel mode",
			"#PF: error_code(0x0002) - not-present page",
			"PGD 0 P4D 0 ",
			"Oops: Oops: 0002 [#1] SMP NOPTI",
			cpuLine, hwLine,
			"RIP: 0010:iomap_write_end+0x12/0x90",
			"Code: 00 00 00 00 0f 1f 44 00 00 c7 04 25 00 00 00 00 00 00 00 00",
		), regs, lines(
			"Call Trace:", " <TASK>", " ? __die+0x23/0x70", " ? page_fault_oops+0x17d/0x4c0",
			" ? exc_page_fault+0x7c/0x190", " ? asm_exc_page_fault+0x26/0x30", " ? iomap_write_end+0x12/0x90",
			" iomap_file_buffered_write+0x1f0/0x480",
		), userTail, lines(
			"Modules linked in:", "CR2: 0000000000000000", "---[ end trace 0000000000000000 ]---",
			"RIP: 0010:iomap_write_end+0x12/0x90",
		)),
		kind: KindOops, title: "BUG: kernel NULL pointer dereference in iomap_write_end", fatal: true,
		last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "page-fault", report: join(lines(
			"BUG: unable to handle page fault for address: ffffc90000a3f000",
			"#PF: supervisor read access in kernel mode",
			"#PF: error_code(0x0000) - not-present page",
			"Oops: Oops: 0000 [#1] SMP NOPTI",
			cpuLine, "RIP: 0010:memcpy_orig+0x31/0x140",
			"Call Trace:", " <TASK>", " iomap_read_inline_data+0x9c/0x130",
		), userTail, lines("---[ end trace 0000000000000000 ]---")),
		kind: KindOops, title: "BUG: unable to handle page fault in memcpy_orig", fatal: true,
		last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "kernel-bug", report: join(lines(
			"------------[ cut here ]------------",
			"kernel BUG at fs/iomap/buffered-io.c:1023!",
			"Oops: invalid opcode: 0000 [#1] SMP NOPTI",
			cpuLine, hwLine,
			"RIP: 0010:iomap_writepage_map.isra.0+0x3f0/0x400",
		), regs, lines(
			"Call Trace:", " <TASK>", " ? die+0x36/0x90", " ? do_trap+0xdd/0x100",
			" iomap_writepages+0x6b/0xa0", " ext4_writepages+0x10c/0x1e0",
		), userTail, lines("Modules linked in:", "---[ end trace 0000000000000000 ]---")),
		kind: KindBug, title: "kernel BUG in iomap_writepage_map", fatal: true,
		last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "gpf", report: join(lines(
			"Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP NOPTI",
			cpuLine, "RIP: 0010:__list_del_entry_valid_or_report+0x10/0xc0",
			"Call Trace:", " <TASK>", " ? die_addr+0x36/0x90", " iomap_finish_ioends+0x4c/0x120",
		), userTail, lines("---[ end trace 0000000000000000 ]---")),
		kind: KindGPF, title: "general protection fault in __list_del_entry_valid_or_report", fatal: true,
		last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "oops-other", report: lines(
			"Oops: divide error: 0000 [#1] SMP NOPTI",
			cpuLine, "RIP: 0010:xfs_bmap_extsize_align+0x6e/0x1c0",
			"Call Trace:", " <TASK>", " xfs_bmap_btalloc+0x9f/0x8f0", " </TASK>",
			"---[ end trace 0000000000000000 ]---"),
		kind: KindOops, title: "Oops: divide error in xfs_bmap_extsize_align", fatal: true,
		last: "---[ end trace 0000000000000000 ]---",
	},
	{
		name: "kasan", report: lines(
			"BUG: KASAN: slab-use-after-free in iomap_finish_ioend+0x4c/0x2b0",
			"Read of size 8 at addr ffff88800b9c1a18 by task kworker/0:1/23",
			"",
			cpuLine,
			"Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " print_report+0xc1/0x610",
			" kasan_report+0xb0/0xe0", " iomap_finish_ioend+0x4c/0x2b0", " iomap_finish_ioends+0x62/0x120",
			" </TASK>",
			"",
			"Allocated by task 57:",
			" kasan_save_stack+0x24/0x50", " __kasan_slab_alloc+0x63/0x80", " kmem_cache_alloc_noprof+0x13b/0x350",
			" iomap_alloc_ioend+0x42/0x90", " iomap_writepage_map+0x25b/0x400", " iomap_writepages+0x6b/0xa0",
			" ext4_writepages+0x10c/0x1e0", " do_writepages+0xd0/0x1e0", " filemap_fdatawrite_wbc+0x6a/0x90",
			"",
			"Freed by task 23:",
			" kasan_save_stack+0x24/0x50", " kasan_save_free_info+0x3b/0x60", " __kasan_slab_free+0x4f/0x70",
			" kmem_cache_free+0x130/0x3e0", " iomap_finish_ioend+0x1b7/0x2b0",
			"",
			"=================================================================="),
		kind: KindKASAN, title: "KASAN: slab-use-after-free Read in iomap_finish_ioend",
		last: "==================================================================",
	},
	{
		name: "sleeping-in-atomic", report: lines(
			"BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321",
			"in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 57, name: iomapct-agent",
			"preempt_count: 1, expected: 0",
			"RCU nest depth: 0, expected: 0",
			cpuLine,
			"Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " __might_resched+0x15a/0x1a0",
			" __kmalloc_noprof+0x2e8/0x3b0", " iomap_alloc_ifs+0x5b/0xd0", " iomap_write_begin+0x1a5/0x5c0",
			" </TASK>"),
		kind: KindBug, title: "BUG: sleeping function called from invalid context in iomap_alloc_ifs", last: " </TASK>",
	},
	{
		name: "scheduling-while-atomic", report: lines(
			"BUG: scheduling while atomic: iomapct-agent/57/0x00000002",
			"Modules linked in:",
			cpuLine,
			"Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " __schedule_bug+0x5a/0x70",
			" __schedule+0x6a4/0x8c0", " schedule+0x27/0xa0", " schedule_timeout+0x8d/0x110",
			" gfs2_glock_wait+0x3c/0xa0", " </TASK>"),
		kind: KindBug, title: "BUG: scheduling while atomic in gfs2_glock_wait", last: " </TASK>",
	},
	{
		name: "bug-other", report: lines(
			"BUG: Bad page state in process iomapct-agent  pfn:0a1b2",
			"page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0xa1b2",
			cpuLine, "Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " bad_page+0x70/0x110", " </TASK>"),
		kind: KindBug, title: "BUG: Bad page state", last: " </TASK>",
	},
	{
		name: "soft-lockup", report: join(lines(
			"watchdog: BUG: soft lockup - CPU#0 stuck for 4s! [iomapct-agent:57]",
			"Modules linked in:",
			cpuLine,
			"RIP: 0010:iomap_iter+0x30/0x300",
		), regs, lines(
			"Call Trace:", " <IRQ>", " ? watchdog_timer_fn+0x1d8/0x260", " ? __hrtimer_run_queues+0x10f/0x2a0",
			" </IRQ>", " <TASK>", " iomap_file_buffered_write+0x1f0/0x480",
		), userTail),
		kind: KindSoftLockup, title: "BUG: soft lockup in iomap_iter", last: " </TASK>",
	},
	{
		name: "hung-task", report: lines(
			"INFO: task iomapct-agent:57 blocked for more than 122 seconds.",
			"      Not tainted 6.12.57 #1",
			`"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.`,
			"task:iomapct-agent   state:D stack:0     pid:57    tgid:57    ppid:1      flags:0x00004002",
			"Call Trace:", " <TASK>", " __schedule+0x2a0/0x8c0", " schedule+0x27/0xa0", " io_schedule+0x46/0x70",
			" folio_wait_bit_common+0x13b/0x330", " iomap_writepages+0x6b/0xa0", " ext4_writepages+0x10c/0x1e0",
			" </TASK>",
			"",
			"Showing all locks held in the system:",
			"1 lock held by khungtaskd/12:",
			" #0: ffffffff82b5d3a0 (rcu_read_lock){....}-{1:2}, at: debug_show_all_locks+0x36/0x1c0"),
		kind: KindHungTask, title: "INFO: task hung in iomap_writepages", last: " </TASK>",
	},
	{
		name: "rcu-self-detected", report: join(lines(
			"rcu: INFO: rcu_preempt self-detected stall on CPU",
			"rcu: \t0-....: (21002 ticks this GP) idle=b4c4/1/0x4000000000000000 softirq=1234/1234 fqs=5240",
			"rcu: \t(t=21003 jiffies g=1265 q=82 ncpus=1)",
			cpuLine,
			"RIP: 0010:iomap_iter+0x30/0x300",
			"Call Trace:", " <IRQ>", " ? rcu_dump_cpu_stacks+0xc8/0x100", " </IRQ>", " <TASK>",
			" iomap_file_buffered_write+0x1f0/0x480",
		), userTail),
		kind: KindRCUStall, title: "INFO: rcu detected stall in iomap_iter", last: " </TASK>",
	},
	{
		name: "rcu-detected-stalls", report: lines(
			"rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
			"rcu: \t1-...!: (0 ticks this GP) idle=2b8/0/0x0 softirq=0/0 fqs=0",
			"\t(detected by 0, t=21002 jiffies, g=1265, q=3 ncpus=2)",
			"Sending NMI from CPU 0 to CPUs 1:",
			"NMI backtrace for cpu 1",
			cpuLine,
			"RIP: 0010:gfs2_log_flush+0x77/0x9a0",
			"Call Trace:", " <TASK>", " gfs2_fsync+0x8d/0x160", " </TASK>"),
		kind: KindRCUStall, title: "INFO: rcu detected stall in gfs2_log_flush", last: " </TASK>",
	},
	{
		name: "lockdep-circular", report: lines(
			"WARNING: possible circular locking dependency detected",
			"6.12.57 #1 Not tainted",
			"------------------------------------------------------",
			"iomapct-agent/57 is trying to acquire lock:",
			"ffff88800a1b2c38 (&sb->s_type->i_mutex_key#12){++++}-{3:3}, at: ext4_buffered_write_iter+0x3c/0x110",
			"",
			"but task is already holding lock:",
			"ffff88800a1b2e40 (&ei->i_data_sem){++++}-{3:3}, at: ext4_map_blocks+0x1d0/0x5e0",
			"",
			"which lock already depends on the new lock.",
			"",
			"the existing dependency chain (in reverse order) is:",
			"",
			"-> #1 (&ei->i_data_sem){++++}-{3:3}:",
			"       down_write+0x3d/0xd0",
			"       ext4_map_blocks+0x1d0/0x5e0",
			"",
			"other info that might help us debug this:",
			"",
			"stack backtrace:",
			cpuLine,
			"Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " print_circular_bug+0x26a/0x340",
			" check_noncircular+0x13a/0x150", " __lock_acquire+0x11a3/0x1f20", " lock_acquire+0xc4/0x2d0",
			" down_write+0x3d/0xd0", " ext4_buffered_write_iter+0x3c/0x110", " </TASK>"),
		kind: KindLockdep, title: "possible deadlock in ext4_buffered_write_iter", last: " </TASK>",
	},
	{
		name: "lockdep-recursive", report: lines(
			"WARNING: possible recursive locking detected",
			"6.12.57 #1 Not tainted",
			"--------------------------------------------",
			"iomapct-agent/57 is trying to acquire lock:",
			"ffff88800c3d2a10 (&xfs_nondir_ilock_class){++++}-{3:3}, at: xfs_ilock+0x9a/0x160",
			"",
			"but task is already holding lock:",
			"ffff88800c3d2a10 (&xfs_nondir_ilock_class){++++}-{3:3}, at: xfs_ilock_for_iomap+0x4c/0x90",
			cpuLine, "Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " </TASK>"),
		kind: KindLockdep, title: "possible deadlock in xfs_ilock", last: " </TASK>",
	},
	{
		name: "lockdep-inconsistent", report: lines(
			"WARNING: inconsistent lock state",
			"6.12.57 #1 Not tainted",
			"--------------------------------",
			"inconsistent {IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W} usage.",
			"iomapct-agent/57 [HC0[0]:SC0[0]:HE1:SE1] takes:",
			"ffff88800a1b2c38 (&ifs->state_lock){+.?.}-{2:2}, at: iomap_set_range_uptodate+0x2a/0x90",
			cpuLine, "Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " </TASK>"),
		kind: KindLockdep, title: "inconsistent lock state in iomap_set_range_uptodate", last: " </TASK>",
	},
	{
		name: "ubsan", report: lines(
			"UBSAN: shift-out-of-bounds in fs/iomap/buffered-io.c:99:32",
			"shift exponent 64 is too large for 64-bit type 'long unsigned int'",
			cpuLine,
			"Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " __ubsan_handle_shift_out_of_bounds+0x10e/0x170",
			" ifs_set_range_uptodate+0x2d/0x90", " iomap_set_range_uptodate+0x5e/0x90", " </TASK>",
			"---[ end trace ]---"),
		kind: KindUBSAN, title: "UBSAN: shift-out-of-bounds in ifs_set_range_uptodate", last: "---[ end trace ]---",
	},
}

func TestSyntheticPatterns(t *testing.T) {
	for _, tc := range syntheticReports {
		t.Run(tc.name, func(t *testing.T) {
			reps := Classify(consoleLog(inCase3(tc.report...)...))
			require.Len(t, reps, 1, "reports: %v", titles(reps))
			r := reps[0]
			assert.Equal(t, tc.kind, r.Kind)
			assert.Equal(t, tc.title, r.Title)
			assert.Equal(t, "ext4/case3", r.Case)
			assert.Equal(t, tc.fatal, r.Fatal, "fatal")
			// The header is the first line that matches the table; the
			// "cut here" and "=====" lines before some reports are not.
			first := 0
			for strings.HasPrefix(tc.report[first], "----") || strings.HasPrefix(tc.report[first], "====") {
				first++
			}
			// 6 lines of markers and case 1's output come before.
			assert.Equal(t, 7+first, r.Line, "header line")
			require.NotEmpty(t, r.Excerpt)
			assert.Equal(t, tc.report[first], r.Excerpt[0])
			assert.Equal(t, tc.last, r.Excerpt[len(r.Excerpt)-1])
			assert.True(t, hasCallTrace(r.Excerpt), "excerpt lacks its call trace:\n%s", strings.Join(r.Excerpt, "\n"))
			assert.NotContains(t, r.Excerpt, "iomapct: case ext4/case3 end")
		})
	}
}

// A header is only a header at the start of a printk message; the table's
// words inside other messages, in user-space output or on a kernel
// without printk times must not raise reports.
func TestNoFalsePositivesOnCleanBoot(t *testing.T) {
	msgs := []string{
		"Linux version 6.12.57 (root@build) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP",
		"Command line: console=ttyS0 panic=-1 loglevel=5 rdinit=/init iomapct.trigger=WARNING",
		"Kernel command line: console=ttyS0 panic=-1 loglevel=5 rdinit=/init iomapct.trigger=WARNING",
		"rcu: Hierarchical RCU implementation.",
		"rcu: \tRCU restricting CPUs from NR_CPUS=64 to nr_cpu_ids=1.",
		"rcu: RCU calculated value of scheduler-enlistment delay is 100 jiffies.",
		"RCU Tasks Trace: Setting shift to 0 and lim to 1 rcu_task_cb_adjust=1.",
		"watchdog: Delayed init of the lockup detector failed: -19",
		"Spectre V2 : Mitigation: Retpolines",
		"x86/fpu: x87 FPU will use FXSAVE",
		"lkdtm: No crash points registered, enable through debugfs",
		"printk: legacy console [ttyS0] enabled",
		"Freeing unused kernel image (initmem) memory: 1234K",
		"Run /init as init process",
		"$ iomapct-agent: WARNING: disk vdb has no cases",
		"$ panic: runtime error: index out of range [3] with length 3",
		"iomapct: case ext4/case1 start",
		"EXT4-fs (vda): mounted filesystem 0e1f6b4c r/w without journal. Quota mode: none.",
		"iomapct: case ext4/case1 end",
		"reboot: Restarting system",
	}
	assert.Empty(t, Classify(consoleLog(msgs...)))
	// User space printing a header-like line: with printk times on, the
	// missing kernel timestamp gives it away.
	assert.Empty(t, Classify(consoleLog(append(msgs, "$ BUG: this is user space, not the kernel")...)))
	// The same messages with no prefixes at all (CONFIG_PRINTK_TIME=n
	// and a bare serial capture).
	var bare []string
	for _, m := range msgs {
		bare = append(bare, strings.TrimPrefix(m, "$ "))
	}
	assert.Empty(t, Classify([]byte(strings.Join(bare, "\n"))))
}

func TestPrefixVariants(t *testing.T) {
	report := join(lines("iomapct: case xfs/a start"), warningReport)
	var dmesg, caller, noTime strings.Builder
	for i, m := range report {
		fmt.Fprintf(&dmesg, "[%5d.%06d] %s\r\n", 3, i, m)
		fmt.Fprintf(&caller, "[%5d.%06d][    T%d] %s\n", 3, i, 57, m)
		fmt.Fprintf(&noTime, "[%8.3f] %s\n", float64(i), m)
	}
	for name, log := range map[string]string{
		"dmesg with CRLF":             dmesg.String(),
		"PRINTK_CALLER":               caller.String(),
		"host prefix only":            noTime.String(),
		"no prefix, no final newline": strings.Join(report, "\n"),
	} {
		t.Run(name, func(t *testing.T) {
			reps := Classify([]byte(log))
			require.Len(t, reps, 1)
			assert.Equal(t, "WARNING in iomap_write_begin", reps[0].Title)
			assert.Equal(t, "xfs/a", reps[0].Case)
			assert.Equal(t, 3, reps[0].Line)
			if diff := cmp.Diff(warningReport[1:], reps[0].Excerpt); diff != "" {
				t.Errorf("excerpt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAttributionOutsideCases(t *testing.T) {
	log := consoleLog(join(
		warningReport,
		lines("iomapct: case gfs2/a start", "iomapct: case gfs2/a end"),
		warningReport,
		lines("iomapct: case gfs2/b start"),
		warningReport,
	)...)
	reps := Classify(log)
	require.Len(t, reps, 3)
	// Before any case, between cases, and in a case that never ended.
	assert.Equal(t, []string{"", "", "gfs2/b"}, []string{reps[0].Case, reps[1].Case, reps[2].Case})
}

// User-space output interleaved with a report on the serial line neither
// ends the report nor gets into its excerpt.
func TestUserSpaceLinesInsideReport(t *testing.T) {
	r := append([]string{}, warningReport...)
	r = append(r[:9:9], append([]string{"$ iomapct-agent: writing 4096 bytes at 0"}, r[9:]...)...)
	reps := Classify(consoleLog(inCase3(r...)...))
	require.Len(t, reps, 1)
	if diff := cmp.Diff(warningReport[1:], reps[0].Excerpt); diff != "" {
		t.Errorf("excerpt (-want +got):\n%s", diff)
	}
}

// Back-to-back reports are told apart, and a panic straight after a
// report makes that report fatal too.
func TestSequenceAndFatalPropagation(t *testing.T) {
	softlockup := syntheticReports[indexOf(t, "soft-lockup")].report
	hung := syntheticReports[indexOf(t, "hung-task")].report
	log := consoleLog(inCase3(join(
		warningReport,
		hung,
		softlockup,
		lines("Kernel panic - not syncing: softlockup: hung tasks", cpuLine, "Call Trace:", " <IRQ>",
			" dump_stack_lvl+0x5d/0x80", " panic+0x118/0x2f0", " watchdog_timer_fn+0x24a/0x260", " </IRQ>",
			" <TASK>", " iomap_file_buffered_write+0x1f0/0x480", " </TASK>", "Kernel Offset: disabled"),
	)...)...)
	reps := Classify(log)
	want := []struct {
		Kind, Title string
		Fatal       bool
	}{
		{KindWarning, "WARNING in iomap_write_begin", false},
		{KindHungTask, "INFO: task hung in iomap_writepages", false},
		{KindSoftLockup, "BUG: soft lockup in iomap_iter", true},
		{KindPanic, "kernel panic: softlockup: hung tasks", true},
	}
	var got []struct {
		Kind, Title string
		Fatal       bool
	}
	for _, r := range reps {
		got = append(got, struct {
			Kind, Title string
			Fatal       bool
		}{r.Kind, r.Title, r.Fatal})
		assert.Equal(t, "ext4/case3", r.Case)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	require.Len(t, reps, 4)
	assert.Equal(t, " </TASK>", reps[3].Excerpt[len(reps[3].Excerpt)-1], "panic excerpt ends with its trace")
}

// A panic much later in the same case is not the earlier report's doing.
func TestDistantPanicDoesNotMakeWarningFatal(t *testing.T) {
	filler := make([]string, panicFollows+5)
	for i := range filler {
		filler[i] = fmt.Sprintf("EXT4-fs (vda): message %d", i)
	}
	reps := Classify(consoleLog(inCase3(join(warningReport, filler, lines("Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b"))...)...))
	require.Len(t, reps, 2)
	assert.False(t, reps[0].Fatal)
	assert.True(t, reps[1].Fatal)
	// A panic in the next case is not either.
	reps = Classify(consoleLog(append(inCase3(warningReport...), "iomapct: case ext4/case4 start", "Kernel panic - not syncing: x")...))
	require.Len(t, reps, 2)
	assert.False(t, reps[0].Fatal)
	assert.Equal(t, "ext4/case4", reps[1].Case)
}

func TestExcerptIsBounded(t *testing.T) {
	r := lines("INFO: task iomapct-agent:57 blocked for more than 122 seconds.", "Call Trace:", " <TASK>")
	for i := 0; i < 3*MaxExcerpt; i++ {
		r = append(r, fmt.Sprintf(" deep_recursion_%d+0x10/0x20", i))
	}
	r = append(r, " </TASK>", "INFO: task kworker/0:1:23 blocked for more than 122 seconds.")
	reps := Classify(consoleLog(r...))
	require.Len(t, reps, 2, "the second report is still found after an overlong first one")
	assert.Len(t, reps[0].Excerpt, MaxExcerpt)
	assert.Equal(t, "INFO: task hung in deep_recursion_0", reps[0].Title)
}

func TestAttribute(t *testing.T) {
	log := consoleLog(
		"Run /init as init process",
		"iomapct: case ext4/a start",
		"EXT4-fs (vda): mounted filesystem",
		"$ agent says hi",
		"iomapct: case ext4/a end",
		"between cases",
		"iomapct: case ext4/b start",
		"iomapct: case ext4/b end",
		"iomapct: case xfs/c start",
		"XFS (vdb): Mounting V5 Filesystem",
		"Kernel panic - not syncing: dumptest",
	)
	got := Attribute(log)
	want := map[string][]string{
		"ext4/a": {"[    1.020014] EXT4-fs (vda): mounted filesystem", "agent says hi"},
		"ext4/b": nil,
		"xfs/c":  {"[    1.090063] XFS (vdb): Mounting V5 Filesystem", "[    1.100070] Kernel panic - not syncing: dumptest"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Attribute (-want +got):\n%s", diff)
	}
}

func TestSummarizeAndCleanFunc(t *testing.T) {
	assert.Equal(t, "spinlock lockup suspected on CPU#0", summarize("spinlock lockup suspected on CPU#0, iomapct-agent/57"))
	assert.Equal(t, "stack guard page was hit", summarize("stack guard page was hit at ffffc90000140000 (stack is ffffc90000144000..ffffc90000148000)"))
	assert.Equal(t, "iomap_writepage_map", cleanFunc("iomap_writepage_map.isra.0"))
	assert.Equal(t, "xfs_trans_cancel", cleanFunc("xfs_trans_cancel.cold"))
}

func indexOf(t *testing.T, name string) int {
	for i, s := range syntheticReports {
		if s.name == name {
			return i
		}
	}
	t.Fatalf("no synthetic report %q", name)
	return -1
}

func titles(reps []Report) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.Kind+": "+r.Title)
	}
	return out
}

// The table's rarer rows: the header and the line the title comes from.
func TestRarePatterns(t *testing.T) {
	for _, tc := range []struct {
		report      []string
		kind, title string
		fatal       bool
	}{
		{lines("Unable to handle kernel NULL pointer dereference at virtual address 0000000000000008", "Internal error: Oops: 0000000096000006 [#1] SMP"),
			KindOops, "unable to handle kernel NULL pointer dereference", false},
		{lines("PANIC: double fault, error_code: 0x0", cpuLine, "RIP: 0010:iomap_iter+0x30/0x300"),
			KindOops, "PANIC: double fault in iomap_iter", true},
		{lines("WARNING: possible irq lock inversion dependency detected", "6.12.57 #1 Not tainted",
			"kworker/0:1/23 just changed the state of lock:", "ffff88800a1b2c38 (&ip->i_lock){+.-.}-{2:2}, at: xfs_iflush_done+0x3e/0x1a0"),
			KindLockdep, "possible deadlock in xfs_iflush_done", false},
		{lines("WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected", "iomapct-agent/57 is trying to acquire:",
			"ffff88800a1b2c38 (&sbi->s_md_lock){+.+.}-{2:2}, at: ext4_mb_new_blocks+0x2c/0x1e0"),
			KindLockdep, "possible deadlock in ext4_mb_new_blocks", false},
		{lines("WARNING: bad unlock balance detected!", "iomapct-agent/57 is trying to release lock (&gl->gl_lockref) at:",
			"[<ffffffff8145a2b3>] gfs2_glock_dq+0x53/0x120"),
			KindLockdep, "bad unlock balance in gfs2_glock_dq", false},
		{lines("WARNING: suspicious RCU usage", "include/linux/rcupdate.h:409 Illegal context switch in RCU read-side critical section!",
			cpuLine, "Call Trace:", " <TASK>", " dump_stack_lvl+0x5d/0x80", " lockdep_rcu_suspicious+0x150/0x1a0", " iomap_dio_rw+0x41/0x90", " </TASK>"),
			KindLockdep, "suspicious RCU usage in iomap_dio_rw", false},
		{lines("WARNING: held lock freed!", "iomapct-agent/57 is freeing memory ffff88800a1b2c00-ffff88800a1b2dff, with a lock still held there!",
			"ffff88800a1b2c38 (&ifs->state_lock){+.+.}-{2:2}, at: iomap_release_folio+0x3a/0x90"),
			KindLockdep, "held lock freed in iomap_release_folio", false},
		{lines("rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 0-... } 21002 jiffies s: 117 root: 0x1/."),
			KindRCUStall, "INFO: rcu detected stall", false},
	} {
		t.Run(tc.title, func(t *testing.T) {
			reps := Classify(consoleLog(inCase3(tc.report...)...))
			require.Len(t, reps, 1, "reports: %v", titles(reps))
			assert.Equal(t, tc.kind, reps[0].Kind)
			assert.Equal(t, tc.title, reps[0].Title)
			assert.Equal(t, tc.fatal, reps[0].Fatal)
			assert.Equal(t, "ext4/case3", reps[0].Case)
		})
	}
}

// hasCallTrace reports whether an excerpt holds a stack trace: the
// "Call Trace:" header and at least one frame after it.
func hasCallTrace(ex []string) bool {
	in := false
	for _, s := range ex {
		if strings.Contains(s, "Call Trace:") {
			in = true
		} else if in && frameRe.MatchString(s) {
			return true
		}
	}
	return false
}
