package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/kernel"
)

// Signature is what a failure looks like: the (image, case, check)
// triples that failed. Bisect holds every prefix to exactly these, so a
// prefix that fails some other way, or that cannot run a check at all, is
// not mistaken for the one that introduced this failure.
type Signature []SigEntry

// SigEntry is one failing check of one case on one image.
type SigEntry struct {
	Disk  string `json:"disk"`
	Case  string `json:"case"`
	Check string `json:"check"`
}

func (e SigEntry) String() string { return e.Disk + " " + e.Case + " [" + e.Check + "]" }

// SignatureOf collects a report's failures (FAIL and ERROR verdicts; KNOWN
// ones are recorded kernel deviations, not this failure), keeping only the
// checks in only when it is not empty.
func SignatureOf(r *Report, only []string) Signature {
	seen := map[SigEntry]bool{}
	var sig Signature
	for _, v := range r.Verdicts {
		if v.Status != Fail && v.Status != Error {
			continue
		}
		for _, f := range v.Failures {
			e := SigEntry{Disk: v.Disk, Case: v.Case, Check: string(f.Check)}
			if (len(only) == 0 || slices.Contains(only, string(f.Check))) && !seen[e] {
				seen[e] = true
				sig = append(sig, e)
			}
		}
	}
	sort.Slice(sig, func(a, b int) bool { return sig[a].String() < sig[b].String() })
	return sig
}

// StepVerdict is what one prefix says about the signature.
type StepVerdict string

const (
	StepGood StepVerdict = "good"
	StepBad  StepVerdict = "bad"
	// StepUntestable: a check of the signature cannot run on this prefix
	// (callouts without trace events), or the prefix does not build or
	// boot: like `git bisect skip`, it says nothing either way.
	StepUntestable StepVerdict = "untestable"
)

// BisectStep is one tested prefix.
type BisectStep struct {
	Patches int         `json:"patches"`
	Verdict StepVerdict `json:"verdict"`
	// Why says what made it bad or untestable.
	Why string `json:"why,omitempty"`
	// Failing lists the signature entries that failed on this prefix.
	Failing []string `json:"failing,omitempty"`
	Out     string   `json:"out"`
	Crash   string   `json:"crash,omitempty"`
}

// BisectResult is where the signature's failure began.
type BisectResult struct {
	Signature Signature `json:"signature"`
	// First is the 1-based index of the first bad patch, 0 if even the
	// unpatched kernel fails, -1 if the whole series does not fail this
	// way. When untestable prefixes hide the exact patch, First is the
	// last of the range and From its first.
	First   int    `json:"first"`
	From    int    `json:"from"`
	Patch   string `json:"patch,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Reason says in a sentence how First was decided.
	Reason string       `json:"reason"`
	Steps  []BisectStep `json:"steps"`
}

// Bisect finds the first patch of a series after which the run fails with
// the signature sig, or, when sig is empty, with the tip's own signature
// restricted to the checks in only (the full series is run first, on o's
// whole matrix, to take it). Every
// other prefix runs only the signature's cases on the signature's images
// and is judged on exactly its checks. OnStep, if set, hears each step as
// it is decided.
func Bisect(ctx context.Context, o Options, s kernel.Series, sig Signature, only []string, onStep func(BisectStep)) (*BisectResult, error) {
	res := &BisectResult{First: -1, Signature: sig}
	n := len(s.Patches)
	state := map[int]StepVerdict{}
	runPrefix := func(k int, ro Options) (*Report, error) {
		ro.SeriesDir = ""
		prefix := s.Prefix(k)
		ro.Series = &prefix
		ro.Revision = fmt.Sprintf("prefix-%d", k)
		ro.Out = filepath.Join(o.Out, fmt.Sprintf("prefix-%d", k))
		fmt.Fprintf(o.Log, "== bisect: first %d of %d patches\n", k, n)
		return Run(ctx, ro)
	}
	record := func(st BisectStep) {
		state[st.Patches] = st.Verdict
		res.Steps = append(res.Steps, st)
		if onStep != nil {
			onStep(st)
		}
	}
	if len(sig) == 0 {
		rep, err := runPrefix(n, o)
		if err != nil {
			return res, fmt.Errorf("the full series (%d patches): %w", n, err)
		}
		sig = SignatureOf(rep, only)
		res.Signature = sig
		if len(sig) == 0 && rep.Crash == "" {
			record(BisectStep{Patches: n, Verdict: StepGood, Out: rep.Out})
			res.Reason = "the whole series passes: nothing to bisect"
			return res, nil
		}
		if len(sig) == 0 {
			return res, fmt.Errorf("the full series crashed the guest before any case failed (%s): bisect needs a failing check to follow", rep.Crash)
		}
		record(judgeStep(n, rep, sig))
	}
	// Later prefixes run only what the signature names.
	so := o
	so.Matrix, so.Cases = sigMatrix(o, sig), sigCases(o, sig)
	test := func(k int) error {
		if _, done := state[k]; done {
			return nil
		}
		rep, err := runPrefix(k, so)
		if err != nil {
			var be *kernel.BuildError
			var ae *kernel.ApplyError
			if errors.As(err, &be) || errors.As(err, &ae) {
				record(BisectStep{Patches: k, Verdict: StepUntestable, Why: firstLine(err.Error()), Out: filepath.Join(o.Out, fmt.Sprintf("prefix-%d", k))})
				return nil
			}
			return fmt.Errorf("prefix of %d patches: %w", k, err)
		}
		record(judgeStep(k, rep, sig))
		return nil
	}
	if err := test(n); err != nil {
		return res, err
	}
	if state[n] != StepBad {
		res.Reason = fmt.Sprintf("the full series is %s for this signature: nothing to bisect", state[n])
		return res, nil
	}
	lo, hi, err := search(n, state, test)
	if err != nil {
		return res, err
	}
	res.decide(lo, hi, state, s)
	return res, nil
}

// search narrows [0, n] to the last good prefix lo (-1 when none could be
// tested good) and the first bad one above it, hi, with every prefix
// between them untestable (none when hi == lo+1). state holds what is
// known (state[n] must be bad); test decides one more prefix into state.
// Like git bisect with skips, it tries the unpatched kernel first, then
// the untested prefix nearest the middle of the open range; when the
// unpatched kernel is untestable, the untested prefix nearest the bad one.
func search(n int, state map[int]StepVerdict, test func(int) error) (lo, hi int, err error) {
	for {
		lo, hi = -1, n
		for k := 0; k <= n; k++ {
			if state[k] == StepGood {
				lo = k
			}
		}
		for k := n; k > lo; k-- {
			if state[k] == StepBad {
				hi = k
			}
		}
		var cands []int
		for k := lo + 1; k < hi; k++ {
			if _, done := state[k]; !done {
				cands = append(cands, k)
			}
		}
		if len(cands) == 0 {
			return lo, hi, nil
		}
		next := cands[0]
		switch {
		case lo < 0 && state[0] == StepUntestable:
			// The unpatched kernel cannot run the signature's checks
			// (the series adds what they need, e.g. trace events): look
			// for a testable good prefix from the bad end down.
			next = cands[len(cands)-1]
		case lo >= 0 || next != 0:
			mid := (lo + hi) / 2
			sort.SliceStable(cands, func(a, b int) bool { return abs(cands[a]-mid) < abs(cands[b]-mid) })
			next = cands[0]
		}
		if err := test(next); err != nil {
			return lo, hi, err
		}
	}
}

// decide turns the final bounds into a result: lo is the last good prefix
// (-1: none could be tested), hi the first bad one, everything between
// untestable.
func (res *BisectResult) decide(lo, hi int, state map[int]StepVerdict, s kernel.Series) {
	switch {
	case hi == 0:
		res.First, res.From = 0, 0
		res.Reason = "the unpatched kernel already fails this way: nothing to bisect"
		return
	case lo == -1 && state[0] == StepUntestable:
		res.First, res.From = hi, 1
	case hi == lo+1:
		res.First, res.From = hi, hi
	default:
		res.First, res.From = hi, lo+1
	}
	res.Patch, res.Subject = s.Patches[hi-1].Name, s.Patches[hi-1].Subject
	if res.From == res.First {
		if lo >= 0 {
			res.Reason = fmt.Sprintf("prefix %d is good and prefix %d bad for the signature", lo, hi)
		}
		return
	}
	good := "no prefix could be tested good"
	if lo >= 0 {
		good = fmt.Sprintf("prefix %d is good", lo)
	}
	res.Reason = fmt.Sprintf("%s and prefix %d bad; the prefixes between cannot run the signature's checks, so the first bad patch is one of %d..%d", good, hi, res.From, res.First)
}

// judgeStep holds one prefix's report to the signature.
func judgeStep(k int, rep *Report, sig Signature) BisectStep {
	st := BisectStep{Patches: k, Verdict: StepGood, Out: rep.Out, Crash: rep.Crash}
	byKey := map[string]Verdict{}
	for _, v := range rep.Verdicts {
		byKey[v.Disk+" "+v.Case] = v
	}
	var untestable []string
	for _, e := range sig {
		v, ok := byKey[e.Disk+" "+e.Case]
		switch {
		case e.Check == "callouts" && !rep.Callouts.Applies:
			untestable = append(untestable, e.String()+": "+rep.Callouts.Note)
		case !ok:
			untestable = append(untestable, e.String()+": no verdict")
		default:
			for _, f := range v.Failures {
				if string(f.Check) == e.Check && (v.Status == Fail || v.Status == Error) {
					st.Failing = append(st.Failing, e.String())
					break
				}
			}
		}
	}
	switch {
	case len(st.Failing) > 0:
		st.Verdict, st.Why = StepBad, fmt.Sprintf("%d of %d signature checks fail", len(st.Failing), len(sig))
	case rep.Crash != "" && len(rep.VMs) > 0 && neverReady(rep):
		st.Verdict, st.Why = StepUntestable, "the kernel did not boot: "+rep.Crash
	case len(untestable) > 0:
		st.Verdict, st.Why = StepUntestable, strings.Join(untestable, "; ")
	}
	return st
}

func neverReady(rep *Report) bool {
	for _, vm := range rep.VMs {
		if vm.Boot > 0 {
			return false
		}
	}
	return true
}

// sigMatrix and sigCases restrict a run to the signature's images and cases.
func sigMatrix(o Options, sig Signature) []Target {
	var out []Target
	for _, t := range o.Matrix {
		for _, e := range sig {
			if e.Disk == t.Name() {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func sigCases(o Options, sig Signature) []cases.Case {
	all := o.Cases
	if len(all) == 0 {
		all = cases.Catalogue
	}
	var out []cases.Case
	for _, c := range all {
		for _, e := range sig {
			if e.Case == c.Name {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
