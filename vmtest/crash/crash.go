// Package crash finds kernel crash reports (panic, oops, BUG, WARNING,
// lockdep, hung task, RCU stall, soft lockup, GPF, UBSAN, KASAN) in a VM's
// console log and says which case was running when each one was printed,
// so that a run which dies in case 37 keeps cases 1 to 36 and blames 37.
//
// The header table is modelled on the report families syzkaller's
// pkg/report recognises; the strings were checked against Linux 6.12.
// Case attribution uses the guest agent's kmsg markers
// ("iomapct: case NAME start|end", see vmtest/guest.Mark).
package crash

import (
	"regexp"
	"strings"
)

// Report is one kernel report found on the console.
type Report struct {
	// Kind is one of the Kind* constants.
	Kind string
	// Title is a one-line summary that stays the same across runs of the
	// same bug, e.g. "WARNING in iomap_write_begin".
	Title string
	// Case is the case running when the report's first line was printed,
	// "" if before any case or between two cases.
	Case string
	// Line is the 1-based console line of the report's header.
	Line int
	// Excerpt is the report's lines (printk prefixes removed) from the
	// header through the call trace and the end-of-trace marker, at most
	// MaxExcerpt lines.
	Excerpt []string
	// Fatal means the kernel did not carry on normally afterwards: a
	// panic, an oops that killed the running task, or a report that a
	// panic followed straight away (softlockup_panic, hung_task_panic,
	// panic_on_warn, an oops in interrupt context). Results logged after
	// a fatal report cannot be trusted.
	Fatal bool
}

// MaxExcerpt bounds a report's excerpt: lockdep's circular-dependency
// reports, the longest common ones, fit in it.
const MaxExcerpt = 160

const (
	// afterTrace is how many lines past a call trace's closing "</TASK>"
	// may still belong to the report: x86 prints "Modules linked in:",
	// CR2, lockdep's irq event stamps and then "---[ end trace ... ]---".
	afterTrace = 15
	// betweenTraces is how far apart the stack dumps of a multi-trace
	// report (an RCU stall) may be: a dump's header, registers and
	// "Call Trace:" come some 15 lines after the previous "</TASK>".
	betweenTraces = 30
	// panicFollows is how many console lines a panic may start after a
	// report and still count as that report's consequence: an oops in
	// interrupt context reprints its registers before panicking.
	panicFollows = 40
)

// endRe closes any report, inclusive: the end-of-trace line of __warn,
// oops_exit and ubsan_epilogue ("---[ end trace ]---", with or without a
// number) and panic's closing line.
var endRe = regexp.MustCompile(`^---\[ end (?:trace|Kernel panic)`)

// Classify returns the kernel reports in console, in console order. It
// accepts vmtest's console.log (each line prefixed "[%8.3f] ") as well as
// a bare serial log or dmesg output.
func Classify(console []byte) []Report {
	lines := splitLines(console)
	// With CONFIG_PRINTK_TIME every printk line has a timestamp; lines
	// without one are user space writing to the console (our agent, a Go
	// panic) and can neither start nor continue a kernel report.
	printkTime := false
	for _, l := range lines {
		if l.kernel {
			printkTime = true
			break
		}
	}
	var (
		out    []Report
		epochs []int // the marker epoch of each report
		t      caseTracker
		open   *builder
	)
	closeOpen := func() {
		if open != nil {
			out = append(out, open.finish())
			epochs = append(epochs, open.epoch)
			open = nil
		}
	}
	for _, l := range lines {
		if t.observe(l) {
			closeOpen()
			continue
		}
		if printkTime && !l.kernel {
			continue
		}
		if open != nil && open.continues(l) {
			if !open.add(l) {
				closeOpen()
			}
			continue
		}
		if p, m := match(l.msg); p != nil {
			closeOpen()
			open = newBuilder(p, m, l, t)
			continue
		}
		if open != nil && !open.add(l) {
			closeOpen()
		}
	}
	closeOpen()
	for i := 1; i < len(out); i++ {
		prev := out[i-1]
		if out[i].Kind == KindPanic && epochs[i] == epochs[i-1] &&
			out[i].Line-(prev.Line+len(prev.Excerpt)) <= panicFollows {
			out[i-1].Fatal = true
		}
	}
	return out
}

// builder collects one report's lines.
type builder struct {
	p     *pattern
	m     []string
	r     Report
	epoch int
	// sawOops: the report went through die() ("Oops: ..."), which kills
	// the running task.
	sawOops bool
	// traceEnd is len(r.Excerpt) just after the last "</TASK>", 0 before.
	traceEnd int
	// inTrace: a multi-trace report is inside a later stack dump.
	inTrace bool
	// ended: an end-of-report line closed it, so nothing is trimmed.
	ended bool
}

func newBuilder(p *pattern, m []string, l line, t caseTracker) *builder {
	b := &builder{p: p, m: m, epoch: t.epoch}
	b.r = Report{Kind: p.kind, Case: t.current, Line: l.num, Excerpt: []string{l.msg}}
	b.sawOops = strings.HasPrefix(l.msg, "Oops: ")
	return b
}

// continues reports whether l, which may look like a header, is part of
// the open report: x86 prints "Oops: ..." a few lines after the fault's own
// header ("BUG: kernel NULL pointer dereference", "kernel BUG at").
func (b *builder) continues(l line) bool {
	if !b.sawOops && len(b.r.Excerpt) <= 8 && strings.HasPrefix(l.msg, "Oops: ") &&
		!strings.HasPrefix(l.msg, "Oops: general protection fault") {
		b.sawOops = true
		return true
	}
	return false
}

// add appends l and reports whether the report may go on.
func (b *builder) add(l line) bool {
	if len(b.r.Excerpt) >= MaxExcerpt {
		return false
	}
	b.r.Excerpt = append(b.r.Excerpt, l.msg)
	switch {
	case endRe.MatchString(l.msg), b.p.end != nil && b.p.end.MatchString(l.msg):
		b.ended = true
		return false
	case strings.TrimSpace(l.msg) == "</TASK>":
		b.traceEnd = len(b.r.Excerpt)
		b.inTrace = false
	case b.p.multiTrace && strings.HasPrefix(l.msg, "Call Trace:"):
		// Another stack dump: it runs to its own "</TASK>".
		b.inTrace = true
	case b.p.end == nil && !b.inTrace && b.traceEnd > 0 && len(b.r.Excerpt)-b.traceEnd > b.window():
		// A report with its own closing line (KASAN) goes on past its
		// first trace: the allocation and free stacks follow it.
		return false
	}
	return true
}

// window is how many lines after the last "</TASK>" the report may still
// go on without its end-of-trace line or another trace.
func (b *builder) window() int {
	if b.p.multiTrace {
		return betweenTraces
	}
	return afterTrace
}

func (b *builder) finish() Report {
	if !b.ended && b.traceEnd > 0 {
		// What came after the trace was not this report's tail (no end
		// marker followed): another subsystem's output, or the rest of
		// a multi-task dump.
		b.r.Excerpt = b.r.Excerpt[:b.traceEnd]
	}
	b.r.Title = strings.Join(strings.Fields(b.p.title(b.m, b.r.Excerpt)), " ")
	b.r.Fatal = b.p.fatal || b.sawOops
	return b.r
}
