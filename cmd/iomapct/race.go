package main

import (
	"fmt"
	"io"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/runner"
)

// withRaces adds every race of the race catalogue to cs (the whole
// catalogue when cs is empty), each once.
func withRaces(cs []cases.Case) []cases.Case {
	if len(cs) == 0 {
		cs = append(cs, cases.Catalogue...)
	}
	have := map[string]bool{}
	for _, c := range cs {
		have[c.Name] = true
	}
	for _, c := range cases.RaceCatalogue {
		if !have[c.Name] {
			cs = append(cs, c)
		}
	}
	return cs
}

// printReproductions says, after a --repeat run, how often each failing
// case failed over its repetitions.
func printReproductions(w io.Writer, rep *runner.Report, repeat int) {
	rs := runner.Reproductions(rep.Verdicts)
	fmt.Fprintf(w, "\nrepeated %d times: %d case(s) failed at least once\n", repeat, len(rs))
	for _, r := range rs {
		fmt.Fprintf(w, "  %-8s %-40s failed %d of %d: %s\n", r.Disk, r.Case, r.Failed, r.Runs, r.First)
	}
}
