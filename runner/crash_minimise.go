package runner

import (
	"context"
	"io"

	"github.com/iomapct/iomapct/cases"
)

// MinimiseCrash shrinks an op sequence that fails a crash run on target to
// a short one that still fails the same check, one crash run (a workload
// VM and its recovery VMs) per candidate, by Minimise's search. budget
// caps the runs; when it is spent the smallest failing sequence found so
// far is returned. Only the first run logs its stages.
func MinimiseCrash(ctx context.Context, o Options, co CrashOptions, target Target, ops []cases.Op, budget int) (*MinimiseResult, error) {
	return minimiseBy(ctx, o, target, ops, budget, nil, "a crash run", func(ro Options, try int) (*Report, error) {
		if try > 0 {
			ro.Log = io.Discard
		}
		return RunCrash(ctx, ro, co)
	})
}
