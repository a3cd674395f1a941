package crash

import (
	"regexp"
	"strings"
)

// Kinds of report. The set follows the families syzkaller's pkg/report
// tells apart for Linux; the names are ours.
const (
	KindPanic      = "panic"
	KindOops       = "oops"
	KindBug        = "bug"
	KindWarning    = "warning"
	KindLockdep    = "lockdep"
	KindHungTask   = "hung-task"
	KindRCUStall   = "rcu-stall"
	KindSoftLockup = "soft-lockup"
	KindGPF        = "gpf"
	KindUBSAN      = "ubsan"
	KindKASAN      = "kasan"
)

// pattern is one row of the table: a report header and how to title it.
type pattern struct {
	kind string
	// re matches the printk message of the report's first line, prefixes
	// removed. Anchored: a header is always a line of its own.
	re *regexp.Regexp
	// title builds the one-line title from the header's submatches and
	// the report's lines (the excerpt, first line included).
	title func(m, ex []string) string
	// end, if set, is a line that closes the report (inclusive) besides
	// the generic end-of-trace rules.
	end *regexp.Regexp
	// fatal: the report itself means the kernel stopped.
	fatal bool
	// multiTrace: the report holds several stack dumps, the one that
	// matters not necessarily first (an RCU stall dumps the starved GP
	// kthread, then where it last ran).
	multiTrace bool
}

// Functions the scheduler, lock and wait paths put on top of a blocked
// task's stack; the hung-task title names the first frame below them.
var waitFrames = []string{
	"__schedule", "schedule", "io_schedule", "preempt_schedule",
	"__mutex_lock", "mutex_lock", "__rt_mutex", "rt_mutex", "rwsem_down", "down_", "__down",
	"percpu_down", "percpu_rwsem", "wait_for_", "__wait_", "wait_on_", "__wait_on_",
	"folio_wait", "__folio_lock", "folio_lock", "__lock_page", "bit_wait", "__bit_wait",
	"out_of_line_wait", "__flush_work", "flush_work", "_raw_spin", "do_raw_spin",
	"__cond_resched", "msleep", "usleep", "freezable_schedule", "d_alloc_parallel",
}

// Functions every dump_stack-based report starts with.
var dumpFrames = []string{"dump_stack", "show_stack", "__dump_stack", "lockdep_", "__lock_acquire", "lock_acquire"}

// Allocator entry points: a sleeping allocation in atomic context is the
// caller's bug, not the allocator's.
var allocFrames = []string{"__kmalloc", "kmalloc", "kmem_cache_alloc", "__alloc_pages", "alloc_pages", "folio_alloc", "__folio_alloc", "kzalloc", "kvmalloc", "__kvmalloc"}

// Functions the UBSAN runtime adds on top of the faulting function.
var ubsanFrames = append([]string{"ubsan_", "__ubsan_", "handle_overflow", "handle_null_ptr_deref", "ubsan_epilogue", "ubsan_prologue"}, dumpFrames...)

// patterns is the table, most specific first: the first match wins.
var patterns = []pattern{
	{
		kind:  KindPanic,
		re:    regexp.MustCompile(`^Kernel panic - not syncing:? ?(.*)$`),
		title: func(m, _ []string) string { return "kernel panic: " + strings.TrimSpace(m[1]) },
		fatal: true,
	},
	{
		// "BUG: KASAN: slab-use-after-free in func+0x12/0x34", then
		// "Read of size 8 at addr ..."; the report is framed by lines of '='.
		kind: KindKASAN,
		re:   regexp.MustCompile(`^BUG: KASAN: ([A-Za-z0-9-]+)(?: in ([A-Za-z0-9_.$]+))?`),
		title: func(m, ex []string) string {
			t := "KASAN: " + m[1]
			for _, s := range ex {
				if a := kasanAccessRe.FindStringSubmatch(s); a != nil {
					t += " " + a[1]
					break
				}
			}
			return withFunc(t, cleanFunc(m[2]))
		},
		end: regexp.MustCompile(`^={20,}\s*$`),
	},
	{
		// kernel/watchdog.c: pr_emerg("BUG: soft lockup - CPU#%d stuck
		// for %us! [%s:%d]") under pr_fmt "watchdog: ".
		kind:  KindSoftLockup,
		re:    regexp.MustCompile(`^(?:watchdog: )?BUG: soft lockup`),
		title: func(_, ex []string) string { return withFunc("BUG: soft lockup", ripFunc(ex)) },
	},
	{
		kind: KindBug,
		re:   regexp.MustCompile(`^BUG: sleeping function called from invalid context`),
		title: func(_, ex []string) string {
			return withFunc("BUG: sleeping function called from invalid context",
				traceFunc(ex, append([]string{"__might_resched", "__might_sleep", "___might_sleep", "might_sleep", "__might_fault"}, append(allocFrames, dumpFrames...)...)...))
		},
	},
	{
		kind: KindBug,
		re:   regexp.MustCompile(`^BUG: scheduling while atomic`),
		title: func(_, ex []string) string {
			return withFunc("BUG: scheduling while atomic", traceFunc(ex, append([]string{"__schedule_bug", "schedule_debug"}, append(waitFrames, dumpFrames...)...)...))
		},
	},
	{
		// arch/x86/mm/fault.c show_fault_oops.
		kind:  KindOops,
		re:    regexp.MustCompile(`^BUG: (?:kernel NULL pointer dereference|unable to handle kernel NULL pointer dereference)`),
		title: func(_, ex []string) string { return withFunc("BUG: kernel NULL pointer dereference", ripFunc(ex)) },
	},
	{
		kind:  KindOops,
		re:    regexp.MustCompile(`^BUG: unable to handle (?:page fault|kernel paging request)`),
		title: func(_, ex []string) string { return withFunc("BUG: unable to handle page fault", ripFunc(ex)) },
	},
	{
		// The arm64/arm spelling of the same two faults.
		kind: KindOops,
		re:   regexp.MustCompile(`^Unable to handle kernel (NULL pointer dereference|paging request)`),
		title: func(m, ex []string) string {
			return withFunc("unable to handle kernel "+m[1], ripFunc(ex))
		},
	},
	{
		// lib/bug.c report_bug: "kernel BUG at %s:%u!", then the oops.
		kind: KindBug,
		re:   regexp.MustCompile(`^kernel BUG at ([^ :]+):([0-9]+)`),
		title: func(m, ex []string) string {
			if f := ripFunc(ex); f != "" {
				return "kernel BUG in " + f
			}
			return "kernel BUG at " + m[1] + ":" + m[2]
		},
	},
	{
		// arch/x86/kernel/traps.c: die_addr(GPFSTR...), printed by
		// __die_header as "Oops: general protection fault, ...".
		kind:  KindGPF,
		re:    regexp.MustCompile(`^(?:Oops: )?general protection fault`),
		title: func(_, ex []string) string { return withFunc("general protection fault", ripFunc(ex)) },
	},
	{
		// A die() with no more specific header before it, e.g.
		// "Oops: invalid opcode: 0000 [#1] SMP NOPTI" from a stray ud2.
		kind:  KindOops,
		re:    regexp.MustCompile(`^Oops: (.*?)(?:: [0-9a-f]{4} \[#[0-9]+\].*)?$`),
		title: func(m, ex []string) string { return withFunc("Oops: "+summarize(m[1]), ripFunc(ex)) },
	},
	{
		kind:  KindOops,
		re:    regexp.MustCompile(`^PANIC: double fault`),
		title: func(_, ex []string) string { return withFunc("PANIC: double fault", ripFunc(ex)) },
		fatal: true,
	},
	// lockdep (kernel/locking/lockdep.c). Older kernels said "INFO:".
	{
		kind:  KindLockdep,
		re:    regexp.MustCompile(`^(?:WARNING|INFO): possible circular locking dependency detected`),
		title: func(_, ex []string) string { return withFunc("possible deadlock", atFunc(ex, "is trying to acquire")) },
	},
	{
		kind:  KindLockdep,
		re:    regexp.MustCompile(`^(?:WARNING|INFO): possible recursive locking detected`),
		title: func(_, ex []string) string { return withFunc("possible deadlock", atFunc(ex, "is trying to acquire")) },
	},
	{
		kind: KindLockdep,
		re:   regexp.MustCompile(`^(?:WARNING|INFO): possible irq lock inversion dependency detected`),
		title: func(_, ex []string) string {
			return withFunc("possible deadlock", atFunc(ex, "just changed the state"))
		},
	},
	{
		kind:  KindLockdep,
		re:    regexp.MustCompile(`^(?:WARNING|INFO): (?:HARD|SOFT)IRQ-safe -> (?:HARD|SOFT)IRQ-unsafe lock order detected`),
		title: func(_, ex []string) string { return withFunc("possible deadlock", atFunc(ex, "is trying to acquire")) },
	},
	{
		kind:  KindLockdep,
		re:    regexp.MustCompile(`^(?:WARNING|INFO): inconsistent lock state`),
		title: func(_, ex []string) string { return withFunc("inconsistent lock state", atFunc(ex, "takes")) },
	},
	{
		kind:  KindLockdep,
		re:    regexp.MustCompile(`^(?:WARNING|BUG): bad unlock balance detected`),
		title: func(_, ex []string) string { return withFunc("bad unlock balance", atFunc(ex, "is trying to release")) },
	},
	{
		kind: KindLockdep,
		re:   regexp.MustCompile(`^(?:WARNING|INFO): suspicious RCU usage`),
		title: func(_, ex []string) string {
			return withFunc("suspicious RCU usage", traceFunc(ex, append([]string{"lockdep_rcu_suspicious"}, dumpFrames...)...))
		},
	},
	{
		kind:  KindLockdep,
		re:    regexp.MustCompile(`^WARNING: (held lock freed|lock held when returning to user space)`),
		title: func(m, ex []string) string { return withFunc(m[1], atFunc(ex, "")) },
	},
	{
		// Any other "BUG: ..." (bad page state, spinlock lockup, workqueue
		// lockup, held lock freed, ...): the stable words of the header.
		kind:  KindBug,
		re:    regexp.MustCompile(`^BUG: (.+)$`),
		title: func(m, _ []string) string { return "BUG: " + summarize(m[1]) },
	},
	{
		// kernel/panic.c __warn: "WARNING: CPU: %d PID: %d at %s:%d %pS";
		// without a file (no CONFIG_BUG file info) "at %pS".
		kind: KindWarning,
		re:   regexp.MustCompile(`^WARNING: CPU: [0-9]+ PID: [0-9]+ at (?:\S+:[0-9]+ )?([A-Za-z0-9_.$]+)\+0x`),
		title: func(m, _ []string) string {
			return "WARNING in " + cleanFunc(m[1])
		},
	},
	{
		kind: KindWarning,
		re:   regexp.MustCompile(`^WARNING: (.+)$`),
		title: func(m, ex []string) string {
			return withFunc("WARNING: "+summarize(m[1]), ripFunc(ex))
		},
	},
	{
		// lib/ubsan.c ubsan_prologue: "UBSAN: %s in %s:%d:%d".
		kind: KindUBSAN,
		re:   regexp.MustCompile(`^UBSAN: ([A-Za-z0-9-]+) in ([^ :]+)`),
		title: func(m, ex []string) string {
			if f := traceFunc(ex, ubsanFrames...); f != "" {
				return "UBSAN: " + m[1] + " in " + f
			}
			return "UBSAN: " + m[1] + " in " + m[2]
		},
	},
	{
		// kernel/hung_task.c check_hung_task.
		kind:  KindHungTask,
		re:    regexp.MustCompile(`^INFO: task (\S+):([0-9]+) blocked for more than [0-9]+ seconds`),
		title: func(_, ex []string) string { return withFunc("INFO: task hung", traceFunc(ex, waitFrames...)) },
	},
	{
		// kernel/rcu/tree_stall.h under pr_fmt "rcu: ": "INFO: %s detected
		// stalls on CPUs/tasks:", "INFO: %s self-detected stall on CPU",
		// and the expedited variant.
		kind: KindRCUStall,
		re:   regexp.MustCompile(`^(?:rcu: )?INFO: (rcu_\w+) (?:self-)?detected (?:expedited )?stalls?`),
		title: func(_, ex []string) string {
			f := ripFunc(ex)
			if f == "" {
				f = traceFunc(ex, append([]string{"rcu_", "sysvec_apic_timer", "asm_sysvec", "__sysvec", "update_process_times", "tick_", "__hrtimer", "hrtimer_", "nmi_", "arch_trigger", "trigger_", "print_cpu_stall", "check_cpu_stall"}, dumpFrames...)...)
			}
			return withFunc("INFO: rcu detected stall", f)
		},
		multiTrace: true,
	},
}

var kasanAccessRe = regexp.MustCompile(`^(Read|Write) of size`)

// match returns the first pattern whose header matches msg.
func match(msg string) (*pattern, []string) {
	// Every header starts with one of these letters; skipping the
	// regexps for all other lines keeps a clean boot log cheap.
	if msg == "" || !strings.ContainsRune("KBwUPWIOgrk", rune(msg[0])) {
		return nil, nil
	}
	for i := range patterns {
		if m := patterns[i].re.FindStringSubmatch(msg); m != nil {
			return &patterns[i], m
		}
	}
	return nil, nil
}
