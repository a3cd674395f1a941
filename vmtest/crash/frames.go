package crash

import (
	"regexp"
	"strings"
)

var (
	// ripRe is x86's "RIP: 0010:func+0x1c/0x30"; segment 0010 is kernel
	// code, 0033 user code (whose RIP is a bare address and never matches).
	ripRe = regexp.MustCompile(`^RIP: [0-9a-f]{4}:([A-Za-z0-9_.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+`)
	// frameRe is one call-trace frame: " func+0x15/0x30 [module]". A
	// leading "? " marks a frame the unwinder is not sure of.
	frameRe = regexp.MustCompile(`^\s*(\? )?([A-Za-z0-9_.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[[A-Za-z0-9_]+\])?\s*$`)
	// atRe is lockdep's lock description: "..., at: func+0x12/0x34".
	atRe = regexp.MustCompile(`at: (?:\[?<?[0-9a-f]{8,}>?\]? )?([A-Za-z0-9_.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+`)
	// pcFuncRe is the line after one ending in "at:" (print_unlock_
	// imbalance_bug): "[<ffffffff8145a2b3>] func+0x53/0x120".
	pcFuncRe = regexp.MustCompile(`^\s*(?:\[<[0-9a-f]+>\] )?([A-Za-z0-9_.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+`)
)

// cleanFunc drops the compiler's suffixes (.cold, .isra.0, .constprop.0,
// .part.0, ...): they change with the compiler, not with the bug, and a
// title should stay the same across builds.
func cleanFunc(f string) string {
	if i := strings.IndexByte(f, '.'); i > 0 {
		return f[:i]
	}
	return f
}

// ripFunc is the function the first kernel-mode RIP line points into.
func ripFunc(ex []string) string {
	for _, s := range ex {
		if m := ripRe.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
			return cleanFunc(m[1])
		}
	}
	return ""
}

// traceFunc is the first reliable call-trace frame (after "Call Trace:")
// whose function does not start with one of skip: the reporting machinery
// sits on top of the stack and says nothing about the bug.
func traceFunc(ex []string, skip ...string) string {
	in := false
	for _, s := range ex {
		if strings.Contains(s, "Call Trace:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		m := frameRe.FindStringSubmatch(s)
		if m == nil || m[1] != "" {
			continue
		}
		f := cleanFunc(m[2])
		if !hasAnyPrefix(f, skip) {
			return f
		}
	}
	return ""
}

// atFunc is the function of the first lockdep "at: func+0x.." at or after
// the first line containing after ("" means from the start). When "at:"
// ends a line, the function is on the next one.
func atFunc(ex []string, after string) string {
	in := after == ""
	for i, s := range ex {
		if !in && strings.Contains(s, after) {
			in = true
		}
		if !in {
			continue
		}
		if m := atRe.FindStringSubmatch(s); m != nil {
			return cleanFunc(m[1])
		}
		if strings.HasSuffix(strings.TrimSpace(s), " at:") && i+1 < len(ex) {
			if m := pcFuncRe.FindStringSubmatch(ex[i+1]); m != nil {
				return cleanFunc(m[1])
			}
		}
	}
	return ""
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// withFunc appends " in FUNC" to a title when the function is known; without it
// the title is still a useful one-line summary.
func withFunc(title, fn string) string {
	if fn == "" {
		return title
	}
	return title + " in " + fn
}

// summarize cuts a free-form header at the first detail that varies from
// run to run (an address, a pid, a comm), keeping the stable words.
func summarize(s string) string {
	for _, sep := range []string{", ", " at ", " in process ", ": ", " pfn:", " - "} {
		if i := strings.Index(s, sep); i > 0 {
			s = s[:i]
		}
	}
	s = strings.TrimSpace(strings.TrimRight(s, "!:"))
	const max = 100
	if len(s) > max {
		s = s[:max]
	}
	return s
}
