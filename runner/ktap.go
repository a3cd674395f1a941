package runner

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteKTAP renders the report in the kernel's own result format, KTAP
// version 1 (Documentation/dev-tools/ktap.rst): one subtest group per
// filesystem image, one result line per case. The kernel's tools read it
// (tools/testing/kunit/kunit.py parse), so a kernel developer's existing
// result tooling needs nothing of ours.
//
// Statuses map as the human summary counts them: PASS is ok; FAIL is not
// ok; ERROR is not ok with the ERROR directive (the case could not be
// judged: that is a failure to the reader, never a pass); SKIP and KNOWN
// (a recorded kernel deviation, not a pass) are ok with the SKIP directive.
func WriteKTAP(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	type group struct {
		disk string
		vs   []Verdict
	}
	var groups []*group
	idx := map[string]*group{}
	for _, v := range r.Verdicts {
		g, ok := idx[v.Disk]
		if !ok {
			g = &group{disk: v.Disk}
			idx[v.Disk] = g
			groups = append(groups, g)
		}
		g.vs = append(g.vs, v)
	}
	fmt.Fprintln(bw, "KTAP version 1")
	fmt.Fprintf(bw, "# iomapct %s: kernel %s, series %s (%d patches)\n", ktapText(r.Revision), ktapText(r.SourceID), r.SeriesID, r.Patches)
	if r.Crash != "" {
		fmt.Fprintf(bw, "# crash: %s\n", ktapText(r.Crash))
	}
	fmt.Fprintf(bw, "1..%d\n", len(groups))
	for i, g := range groups {
		fmt.Fprintln(bw, "  KTAP version 1")
		fmt.Fprintf(bw, "  # Subtest: %s\n", g.disk)
		fmt.Fprintf(bw, "  1..%d\n", len(g.vs))
		failed, skipped := false, 0
		for j, v := range g.vs {
			for _, f := range v.Failures {
				fmt.Fprintf(bw, "  # %s: %s\n", ktapText(v.Case), ktapText(f.String()))
			}
			line := ktapResult(j+1, v)
			fmt.Fprintln(bw, "  "+line)
			switch v.Status {
			case Fail, Error:
				failed = true
			case Skip, Known:
				skipped++
			}
		}
		switch {
		case failed:
			fmt.Fprintf(bw, "not ok %d %s\n", i+1, g.disk)
		case skipped == len(g.vs):
			fmt.Fprintf(bw, "ok %d %s # SKIP every case skipped\n", i+1, g.disk)
		default:
			fmt.Fprintf(bw, "ok %d %s\n", i+1, g.disk)
		}
	}
	return bw.Flush()
}

func ktapResult(n int, v Verdict) string {
	name := ktapText(v.Case)
	msg := ""
	if len(v.Failures) > 0 {
		msg = ktapText(v.Failures[0].String())
	}
	switch v.Status {
	case Pass:
		return fmt.Sprintf("ok %d %s", n, name)
	case Fail:
		return fmt.Sprintf("not ok %d %s", n, name)
	case Error:
		return fmt.Sprintf("not ok %d %s # ERROR %s", n, name, msg)
	case Known:
		id, _, _ := strings.Cut(v.Finding, ":")
		return fmt.Sprintf("ok %d %s # SKIP known kernel finding %s", n, name, ktapText(id))
	default: // Skip
		return fmt.Sprintf("ok %d %s # SKIP %s", n, name, msg)
	}
}

// ktapText makes s one line with no '#', which KTAP reserves for the
// directive separator in a description.
func ktapText(s string) string {
	s = strings.ReplaceAll(s, "#", "No.")
	return strings.Join(strings.Fields(s), " ")
}
