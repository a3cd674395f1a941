package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/iomapct/iomapct/cases"
)

// MinimiseResult is a shrunk failing sequence.
type MinimiseResult struct {
	Ops []cases.Op
	// Check is the failure kind that was preserved while shrinking.
	Check Check
	Runs  int
	// BudgetSpent is true when the search stopped because the budget of VM
	// runs ran out; otherwise no single op can be removed or shrunk
	// further and still fail (1-minimal).
	BudgetSpent bool
	// Best is the run directory of the smallest failing candidate, the
	// only one kept: every other try's directory is removed as soon as it
	// is judged.
	Best string
}

// Minimise shrinks ops that fail on target to a short sequence that still
// fails the same check, one VM run per candidate (about two seconds each
// under TCG). budget caps the runs; when it is spent the smallest failing
// sequence found so far is returned.
func Minimise(ctx context.Context, o Options, target Target, ops []cases.Op, budget int, progress func(string)) (*MinimiseResult, error) {
	return minimiseBy(ctx, o, target, ops, budget, progress, "", func(ro Options, _ int) (*Report, error) {
		return Run(ctx, ro)
	})
}

// minimiseBy is the search Minimise and MinimiseCrash share: run gives a
// candidate's report (try counts from 0), kind names the run in the
// refusal of a sequence that does not fail ("" or "a crash run").
func minimiseBy(ctx context.Context, o Options, target Target, ops []cases.Op, budget int, progress func(string),
	kind string, run func(ro Options, try int) (*Report, error)) (*MinimiseResult, error) {
	res := &MinimiseResult{}
	if progress == nil {
		progress = func(string) {}
	}
	var lastOut string
	try := func(cand []cases.Op) (*Verdict, error) {
		ro := o
		ro.Matrix = []Target{target}
		ro.Cases = []cases.Case{{Name: "minimise", Gen: func(int64) []cases.Op { return cand }}}
		ro.Out = filepath.Join(o.Out, fmt.Sprintf("try-%03d", res.Runs))
		lastOut = ro.Out
		res.Runs++
		rep, err := run(ro, res.Runs-1)
		if err != nil {
			return nil, err
		}
		for i := range rep.Verdicts {
			if rep.Verdicts[i].Case == "minimise" {
				return &rep.Verdicts[i], nil
			}
		}
		return nil, fmt.Errorf("no verdict for the candidate")
	}
	first, err := try(ops)
	if err != nil {
		return nil, err
	}
	if first.Status != Fail || len(first.Failures) == 0 {
		on := "on"
		if kind != "" {
			on = kind + " on"
		}
		return nil, fmt.Errorf("the sequence does not fail %s %s (%s); nothing to minimise", on, target.Name(), first.Status)
	}
	res.Check = first.Failures[0].Check
	res.Best = lastOut
	progress(fmt.Sprintf("try %d/%d: %d ops fail %s on %s: minimising", res.Runs, budget, len(ops), res.Check, target.Name()))
	var runErr error
	res.Ops = cases.Minimise(ops, func(cand []cases.Op) bool {
		if runErr != nil || ctx.Err() != nil {
			return false
		}
		if res.Runs >= budget {
			res.BudgetSpent = true
			return false
		}
		v, err := try(cand)
		if err != nil {
			runErr = err
			return false
		}
		kept := false
		if v.Status == Fail {
			for _, f := range v.Failures {
				if f.Check == res.Check {
					kept = true
				}
			}
		}
		// Only the best candidate's run directory stays: each try is a
		// full set of images and logs.
		if kept {
			os.RemoveAll(res.Best)
			res.Best = lastOut
			progress(fmt.Sprintf("try %d/%d: %d ops still fail %s: kept", res.Runs, budget, len(cand), res.Check))
		} else {
			os.RemoveAll(lastOut)
			progress(fmt.Sprintf("try %d/%d: %d ops: %s", res.Runs, budget, len(cand), v.Status))
		}
		return kept
	})
	return res, runErr
}
