package main

import (
	"fmt"
	"io"

	"github.com/iomapct/iomapct/runner"
)

// printReproductions says, after a --repeat run, how often each failing
// case failed over its repetitions.
func printReproductions(w io.Writer, rep *runner.Report, repeat int) {
	rs := runner.Reproductions(rep.Verdicts)
	fmt.Fprintf(w, "\nrepeated %d times: %d case(s) failed at least once\n", repeat, len(rs))
	for _, r := range rs {
		fmt.Fprintf(w, "  %-8s %-40s failed %d of %d: %s\n", r.Disk, r.Case, r.Failed, r.Runs, r.First)
	}
}
