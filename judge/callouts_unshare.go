package judge

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// The steps of iomap_unshare_iter (op WRITE|UNSHARE in the trace) are
// compared as byte ranges, not as a sequence. The model knows which blocks
// are shared, and those the kernel must unshare; but xfs also reports
// IOMAP_F_SHARED for every block its COW fork covers
// (xfs_buffered_write_iomap_begin, xfs_iomap.c:1052-1070, found_cow at
// 1193-1207), and a copy-on-write reserves the COW fork from the write to
// the end of the shared extent and aligned to the COW extent size hint
// (1088-1101, xfs_bmapi_reserve_delalloc), for blocks the model holds as
// no longer shared (copy-on-write pending or done) or never shared. Those
// blocks are unshared too, harmlessly (their bytes are rewritten as they
// are). So: every byte the model unshares must be in a recorded unshare
// step, and every recorded unshare step must lie inside the range of an
// unshare op on the file and copy and keep all its bytes
// (iomap_unshare_iter passes bytes as copied and WARNs on a refusal,
// buffered-io.c:1332-1335). A folio the kernel skipped, or unshared short,
// fails the case.

// splitUnshare separates the unshare events of a trace from the rest.
func splitUnshare(lines []string) (rest []string, unshare []callout, err error) {
	var un []string
	for _, l := range lines {
		ev, err := parseTraceLine(l)
		if err != nil {
			return nil, nil, err
		}
		if slices.Contains(strings.Split(ev.fields["op"], "|"), "UNSHARE") {
			un = append(un, l)
		} else {
			rest = append(rest, l)
		}
	}
	unshare, err = parseTrace(un)
	return rest, unshare, err
}

// span is a byte range [a, b).
type span struct{ a, b int64 }

func checkUnshare(v *Verdict, m *reference.Model, ops []cases.Op, file int, got []callout) {
	var allowed, have []span
	for _, op := range ops {
		if op.Kind == cases.Unshare && op.File == file {
			allowed = append(allowed, span{op.Off, op.Off + op.Len})
		}
	}
	for _, c := range got {
		if c.Status != 0 || c.NoEnd || c.Copied != c.Len || c.Written != c.Len {
			v.Failf("callouts", -1, "unshare step %s: iomap_unshare_iter copies and keeps every byte of a step", c)
			return
		}
		if !inside(span{c.Pos, c.Pos + c.Len}, allowed) {
			v.Failf("callouts", -1, "unshare step %s lies outside every unshare op on the file", c)
			return
		}
		have = append(have, span{c.Pos, c.Pos + c.Len})
	}
	for _, c := range m.Callouts() {
		if c.Kind != reference.CalloutUnshare {
			continue
		}
		if !inside(span{c.Pos, c.Pos + c.Len}, have) {
			v.Failf("callouts", c.Pos, "op %d (%s): the shared bytes [%#x, %#x) were not unshared (no iomap_unshare_iter step covers them; recorded unshare steps: %s)",
				c.Op, ops[c.Op], c.Pos, c.Pos+c.Len, spansString(have))
			return
		}
	}
}

// inside reports whether s lies within the union of spans.
func inside(s span, spans []span) bool {
	for a := s.a; a < s.b; {
		next := a
		for _, t := range spans {
			if t.a <= a && t.b > next {
				next = t.b
			}
		}
		if next == a {
			return false
		}
		a = next
	}
	return true
}

func spansString(ss []span) string {
	if len(ss) == 0 {
		return "none"
	}
	var parts []string
	for _, s := range ss {
		parts = append(parts, fmt.Sprintf("[%#x, %#x)", s.a, s.b))
	}
	return strings.Join(parts, " ")
}
