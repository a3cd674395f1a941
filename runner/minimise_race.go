package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/iomapct/iomapct/cases"
)

// RaceMinimiseResult is a shrunk failing race.
type RaceMinimiseResult struct {
	Setup []cases.Op
	Race  *cases.Race
	// Check is the failure kind that was preserved while shrinking.
	Check string
	Runs  int
}

// MinimiseRace shrinks a race that fails on target (cases.MinimiseRace:
// fewer threads, then fewer ops, actors, rounds, setup ops), one VM run
// per candidate. A race fails only now and then, so each candidate runs
// o.Repeat times in its boot and counts as failing when any repetition
// fails the same check. budget caps the VM runs.
func MinimiseRace(ctx context.Context, o Options, target Target, setup []cases.Op, r *cases.Race, budget int) (*RaceMinimiseResult, error) {
	res := &RaceMinimiseResult{}
	run := func(s []cases.Op, c *cases.Race) ([]Verdict, error) {
		ro := o
		ro.Matrix = []Target{target}
		ro.Cases = []cases.Case{{Name: "minimise", Gen: func(int64) []cases.Op { return s }, Race: func(int64) *cases.Race { return c }}}
		ro.Out = filepath.Join(o.Out, fmt.Sprintf("try-%03d", res.Runs))
		res.Runs++
		rep, err := Run(ctx, ro)
		if err != nil {
			return nil, err
		}
		var vs []Verdict
		for _, v := range rep.Verdicts {
			if repeatBase(v.Case) == "minimise" {
				vs = append(vs, v)
			}
		}
		return vs, nil
	}
	failsWith := func(vs []Verdict, check string) string {
		for _, v := range vs {
			if v.Status != Fail {
				continue
			}
			for _, f := range v.Failures {
				if check == "" || string(f.Check) == check {
					return string(f.Check)
				}
			}
		}
		return ""
	}
	first, err := run(setup, r)
	if err != nil {
		return nil, err
	}
	if res.Check = failsWith(first, ""); res.Check == "" {
		var st []string
		for _, v := range first {
			st = append(st, string(v.Status))
		}
		return nil, fmt.Errorf("the race does not fail on %s in %d run(s) (%s); nothing to minimise", target.Name(), len(first), strings.Join(st, ", "))
	}
	var runErr error
	res.Setup, res.Race = cases.MinimiseRace(setup, r, func(s []cases.Op, c *cases.Race) bool {
		if runErr != nil || res.Runs >= budget || ctx.Err() != nil {
			return false
		}
		vs, err := run(s, c)
		if err != nil {
			runErr = err
			return false
		}
		return failsWith(vs, res.Check) != ""
	})
	return res, runErr
}
