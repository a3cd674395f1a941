package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/iomapct/iomapct/kernel"
)

// Selftest is a mutation test of the suite itself: every mutant
// (kernel/mutants/) is a realistic single bug, and the catalogue must fail
// on the kernel built with it.
type Selftest struct {
	Mutants []kernel.Mutant
	// Skip names mutants listed in the table but not run (they need a
	// check family the suite does not have yet).
	Skip map[string]bool
	// Bases maps a Mutant-Base revision to its series; "" (no base) is
	// the unpatched kernel.
	Bases map[string]kernel.Series
	// AllFS runs every mutant on the whole matrix; otherwise a mutant runs
	// only on the filesystems it changes (its Mutant-FS, within the
	// matrix), since the others' code is untouched.
	AllFS bool
}

// Kill is one verdict that differs from the control run because of the
// mutant.
type Kill struct {
	Disk   string   `json:"disk"`
	Case   string   `json:"case"`
	Checks []string `json:"checks"`
}

// MutantResult is what the catalogue did to one mutant.
type MutantResult struct {
	Mutant kernel.Mutant `json:"-"`
	Name   string        `json:"name"`
	Kills  []Kill        `json:"kills,omitempty"`
	// Expected: the check the mutant names in Mutant-Kills caught it.
	Expected bool `json:"expected"`
	// Skipped: not run (Selftest.Skip).
	Skipped bool `json:"skipped,omitempty"`
	// Err is an infrastructure failure (build, boot): neither killed nor
	// survived.
	Err   string        `json:"err,omitempty"`
	Build time.Duration `json:"build_ns"`
	Wall  time.Duration `json:"wall_ns"`
	Out   string        `json:"out"`
}

// Survived reports whether the mutant ran cleanly and nothing caught it.
func (r MutantResult) Survived() bool { return !r.Skipped && r.Err == "" && len(r.Kills) == 0 }

// Failed reports whether the result fails the self-test: a survivor that
// the suite's current checks should have caught, or an error.
func (r MutantResult) Failed() bool {
	return r.Err != "" || (r.Survived() && r.Mutant.Needs == "")
}

// RunSelftest runs the control (each base without a mutant) and then every
// mutant, one kernel each (one- or two-file rebuilds in the shared work
// tree), into subdirectories of o.Out. A verdict kills a mutant when it
// fails (or errs) where the control's verdict for the same disk and case
// passed: a case the control already fails proves nothing.
func RunSelftest(ctx context.Context, o Options, st Selftest) ([]MutantResult, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Matrix) == 0 {
		o.Matrix = DefaultMatrix()
	}
	base := o.Out
	// One control per base, on the filesystems its mutants need.
	controls := map[string]map[string]Verdict{}
	fsOf := map[string][]string{}
	for _, m := range st.Mutants {
		if !st.Skip[m.Name] {
			fsOf[m.Base] = append(fsOf[m.Base], m.FS...)
		}
	}
	for _, b := range sortedKeys(fsOf) {
		series, ok := st.Bases[b]
		if !ok && b != "" {
			return nil, fmt.Errorf("mutant base %q: no such revision", b)
		}
		ro := o
		ro.Series, ro.SeriesDir = &series, ""
		ro.Revision = "control-" + label(b)
		ro.Out = filepath.Join(base, ro.Revision)
		if !st.AllFS {
			ro.Matrix = restrict(o.Matrix, fsOf[b])
		}
		fmt.Fprintf(o.Log, "== selftest control: %s on %s\n", label(b), matrixNames(ro.Matrix))
		rep, err := Run(ctx, ro)
		if err != nil {
			return nil, fmt.Errorf("control run of %s: %w", label(b), err)
		}
		if rep.Crash != "" {
			return nil, fmt.Errorf("control run of %s crashed: %s", label(b), rep.Crash)
		}
		controls[b] = map[string]Verdict{}
		for _, v := range rep.Verdicts {
			controls[b][v.Disk+"/"+v.Case] = v
		}
		dropImages(ro.Out)
	}
	// Mutants of one base run together: switching bases rebuilds every
	// file the base's series touches, switching mutants only the mutants'.
	order := slices.Clone(st.Mutants)
	sort.SliceStable(order, func(i, j int) bool { return order[i].Base < order[j].Base })
	var out []MutantResult
	for _, m := range order {
		r := MutantResult{Mutant: m, Name: m.Name}
		if st.Skip[m.Name] {
			r.Skipped = true
			out = append(out, r)
			continue
		}
		ro := o
		s := m.Series(st.Bases[m.Base])
		ro.Series, ro.SeriesDir = &s, ""
		ro.Revision = "mutant-" + m.Name
		ro.Out = filepath.Join(base, m.Name)
		r.Out = ro.Out
		if !st.AllFS {
			ro.Matrix = restrict(o.Matrix, m.FS)
		}
		if len(ro.Matrix) == 0 {
			r.Err = fmt.Sprintf("none of its filesystems (%s) is in the matrix", strings.Join(m.FS, ","))
			out = append(out, r)
			continue
		}
		fmt.Fprintf(o.Log, "== selftest mutant %s on %s: %s\n", m.Name, matrixNames(ro.Matrix), m.Subject)
		start := time.Now()
		rep, err := Run(ctx, ro)
		r.Wall = time.Since(start)
		if rep != nil {
			for _, s := range rep.Stages {
				if s.Name == "build" {
					r.Build = s.Duration
				}
			}
		}
		switch {
		case err != nil && (rep == nil || len(rep.Verdicts) == 0):
			r.Err = err.Error()
		default:
			r.Kills = kills(rep, controls[m.Base])
			if rep.Crash != "" && len(r.Kills) == 0 {
				r.Kills = append(r.Kills, Kill{Disk: "(guest)", Case: "(crash)", Checks: []string{"crash"}})
			}
		}
		for _, k := range r.Kills {
			if slices.Contains(k.Checks, m.Kills) {
				r.Expected = true
			}
		}
		fmt.Fprintf(o.Log, "   %s\n", r.short())
		dropImages(ro.Out)
		out = append(out, r)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

// kills lists the verdicts of rep that fail where the control passed.
func kills(rep *Report, control map[string]Verdict) []Kill {
	var out []Kill
	for _, v := range rep.Verdicts {
		if v.Status != Fail && v.Status != Error {
			continue
		}
		if c, ok := control[v.Disk+"/"+v.Case]; ok && c.Status != Pass && c.Status != Skip && c.Status != Known {
			continue // the control fails this case too: it proves nothing
		}
		k := Kill{Disk: v.Disk, Case: v.Case}
		for _, f := range v.Failures {
			if !slices.Contains(k.Checks, string(f.Check)) {
				k.Checks = append(k.Checks, string(f.Check))
			}
		}
		out = append(out, k)
	}
	return out
}

func label(base string) string {
	if base == "" {
		return "baseline"
	}
	return base
}

func restrict(matrix []Target, fs []string) []Target {
	var out []Target
	for _, t := range matrix {
		if slices.Contains(fs, t.FS) {
			out = append(out, t)
		}
	}
	return out
}

func matrixNames(m []Target) string {
	var s []string
	for _, t := range m {
		s = append(s, t.Name())
	}
	return strings.Join(s, ",")
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dropImages removes a finished run's filesystem images (64 MiB each):
// the reports and logs stay.
func dropImages(out string) { os.RemoveAll(filepath.Join(out, "images")) }

// checkCounts is "content×3, holes×1": how many killing verdicts each
// check failed, most first.
func (r MutantResult) checkCounts() string {
	n := map[string]int{}
	for _, k := range r.Kills {
		for _, c := range k.Checks {
			n[c]++
		}
	}
	keys := sortedKeys(n)
	sort.SliceStable(keys, func(i, j int) bool { return n[keys[i]] > n[keys[j]] })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, n[k]))
	}
	return strings.Join(parts, ", ")
}

// short is the result column of the table.
func (r MutantResult) short() string {
	switch {
	case r.Skipped:
		return fmt.Sprintf("not run: needs %s (--all runs it)", r.Mutant.Needs)
	case r.Err != "":
		return "ERROR: " + firstLine(r.Err)
	case r.Survived() && r.Mutant.Needs != "":
		return "SURVIVED: needs " + r.Mutant.Needs
	case r.Survived():
		return "SURVIVED"
	}
	first := r.Kills[0]
	for _, k := range r.Kills {
		if slices.Contains(k.Checks, r.Mutant.Kills) {
			first = k
			break
		}
	}
	s := fmt.Sprintf("KILLED by %d verdict(s): %s; e.g. %s %s", len(r.Kills), r.checkCounts(), first.Disk, first.Case)
	if !r.Expected {
		s += fmt.Sprintf(" (not by %s)", r.Mutant.Kills)
	}
	return s
}

// PrintSelftest writes the table: one line per mutant, then the count.
func PrintSelftest(w io.Writer, rs []MutantResult) {
	width := len("mutant")
	for _, r := range rs {
		width = max(width, len(r.Name))
	}
	fmt.Fprintf(w, "%-*s  %-10s  %6s  %s\n", width, "mutant", "expects", "build", "result")
	killed, survived, needs, skipped, errs, unexpected := 0, 0, 0, 0, 0, 0
	for _, r := range rs {
		expects := r.Mutant.Kills
		build := "-"
		if !r.Skipped && r.Err == "" {
			build = fmt.Sprintf("%.0fs", r.Build.Seconds())
		}
		fmt.Fprintf(w, "%-*s  %-10s  %6s  %s\n", width, r.Name, expects, build, r.short())
		switch {
		case r.Skipped:
			skipped++
		case r.Err != "":
			errs++
		case r.Survived() && r.Mutant.Needs != "":
			needs++
		case r.Survived():
			survived++
		default:
			killed++
			if !r.Expected {
				unexpected++
			}
		}
	}
	fmt.Fprintf(w, "\n%d killed, %d survived, %d survived awaiting their check family, %d not run (need a check family), %d errors",
		killed, survived, needs, skipped, errs)
	if unexpected > 0 {
		fmt.Fprintf(w, "; %d killed but not by the check they name", unexpected)
	}
	fmt.Fprintln(w)
	for _, r := range rs {
		if r.Err != "" {
			fmt.Fprintf(w, "error %s: %s\n", r.Name, r.Err)
		}
	}
}
