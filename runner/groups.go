package runner

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// A failure group is the verdicts that failed the same way: same status,
// same first failing check, same filesystem, and the same message once its
// numbers and bytes are taken out. One root cause usually makes one group
// (a random run of 100 sequences made 52 failure blocks of one bug), so the
// default output shows each group once with one full example.
type failureGroup struct {
	key      string
	status   Status
	check    string
	fs       string
	pattern  string
	verdicts []Verdict
}

var (
	hexBytes = regexp.MustCompile(`\b[0-9a-f]{2}( [0-9a-f]{2})+( …)?`)
	hexNum   = regexp.MustCompile(`0x[0-9a-fA-F]+`)
	decNum   = regexp.MustCompile(`\b\d+\b`)
)

// normalise takes the numbers and byte dumps out of a failure message, so
// the same failure at other offsets reads the same.
func normalise(msg string) string {
	msg = hexBytes.ReplaceAllString(msg, "…")
	msg = hexNum.ReplaceAllString(msg, "N")
	return decNum.ReplaceAllString(msg, "N")
}

func groupFailures(vs []Verdict) []*failureGroup {
	idx := map[string]*failureGroup{}
	var out []*failureGroup
	for _, v := range vs {
		if v.Status != Fail && v.Status != Error {
			continue
		}
		check, msg := "", ""
		if len(v.Failures) > 0 {
			check, msg = string(v.Failures[0].Check), v.Failures[0].Msg
		}
		pat := normalise(msg)
		key := strings.Join([]string{string(v.Status), check, v.FS, pat}, "\x00")
		g, ok := idx[key]
		if !ok {
			g = &failureGroup{key: key, status: v.Status, check: check, fs: v.FS, pattern: pat}
			idx[key] = g
			out = append(out, g)
		}
		g.verdicts = append(g.verdicts, v)
	}
	// Biggest group first: usually the root cause.
	sort.SliceStable(out, func(a, b int) bool { return len(out[a].verdicts) > len(out[b].verdicts) })
	return out
}

// printVerdictDetail is the full account of one failed verdict: its ops,
// every failure and the command that replays it.
func printVerdictDetail(w io.Writer, v Verdict) {
	fmt.Fprintf(w, "--- %s %s on %s (%s)\n", v.Status, v.Case, v.Disk, v.Revision)
	if len(v.Ops) > 0 {
		fmt.Fprintf(w, "ops:\n")
		for i, op := range v.Ops {
			fmt.Fprintf(w, "  %2d %s\n", i, op)
		}
	}
	for _, f := range v.Failures {
		fmt.Fprintf(w, "  %s\n", f)
	}
	if v.Repro != "" {
		fmt.Fprintf(w, "repro: %s\n", v.Repro)
	}
}

// printGroups writes each failure group: a header with its size and where
// it struck, the others' names (a few), and one full example, the one with
// the fewest ops (the easiest to read and replay).
func printGroups(w io.Writer, groups []*failureGroup) {
	for i, g := range groups {
		ex := g.verdicts[0]
		for _, v := range g.verdicts[1:] {
			if len(v.Ops) < len(ex.Ops) {
				ex = v
			}
		}
		disks := map[string]bool{}
		var dl []string
		for _, v := range g.verdicts {
			if !disks[v.Disk] {
				disks[v.Disk] = true
				dl = append(dl, v.Disk)
			}
		}
		sort.Strings(dl)
		check := g.check
		if check == "" {
			check = "?"
		}
		fmt.Fprintf(w, "\n=== group %d: %s %s on %s: %d case(s) on %s\n", i+1, g.status, check, g.fs, len(g.verdicts), strings.Join(dl, ", "))
		fmt.Fprintf(w, "    %s\n", g.pattern)
		var others []string
		for _, v := range g.verdicts {
			if v.Disk != ex.Disk || v.Case != ex.Case {
				others = append(others, v.Case+" ("+v.Disk+")")
			}
		}
		if len(others) > 0 {
			const show = 6
			s := strings.Join(others[:min(show, len(others))], ", ")
			if len(others) > show {
				s += fmt.Sprintf(", and %d more (-v lists every verdict; report.json has all)", len(others)-show)
			}
			fmt.Fprintf(w, "    also: %s\n", s)
		}
		printVerdictDetail(w, ex)
	}
}
