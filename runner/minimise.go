package runner

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/iomapct/iomapct/cases"
)

// MinimiseResult is a shrunk failing sequence.
type MinimiseResult struct {
	Ops []cases.Op
	// Check is the failure kind that was preserved while shrinking.
	Check Check
	Runs  int
}

// Minimise shrinks ops that fail on target to a short sequence that still
// fails the same check, one VM run per candidate (about two seconds each
// under TCG). budget caps the runs; when it is spent the smallest failing
// sequence found so far is returned.
func Minimise(ctx context.Context, o Options, target Target, ops []cases.Op, budget int) (*MinimiseResult, error) {
	res := &MinimiseResult{}
	run := func(cand []cases.Op) (*Verdict, error) {
		ro := o
		ro.Matrix = []Target{target}
		ro.Cases = []cases.Case{{Name: "minimise", Gen: func(int64) []cases.Op { return cand }}}
		ro.Out = filepath.Join(o.Out, fmt.Sprintf("try-%03d", res.Runs))
		res.Runs++
		rep, err := Run(ctx, ro)
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
	first, err := run(ops)
	if err != nil {
		return nil, err
	}
	if first.Status != Fail || len(first.Failures) == 0 {
		return nil, fmt.Errorf("the sequence does not fail on %s (%s); nothing to minimise", target.Name(), first.Status)
	}
	res.Check = first.Failures[0].Check
	var runErr error
	res.Ops = cases.Minimise(ops, func(cand []cases.Op) bool {
		if runErr != nil || res.Runs >= budget || ctx.Err() != nil {
			return false
		}
		v, err := run(cand)
		if err != nil {
			runErr = err
			return false
		}
		if v.Status != Fail {
			return false
		}
		for _, f := range v.Failures {
			if f.Check == res.Check {
				return true
			}
		}
		return false
	})
	return res, runErr
}
