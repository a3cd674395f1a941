package main

import (
	"fmt"
	"io"
	"strings"

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

// withRandomRaces adds n random races per filesystem of the matrix, seeds
// from seed on (the whole catalogue first when cs is empty).
func withRandomRaces(cs []cases.Case, matrix []runner.Target, seed int64, n int) []cases.Case {
	if len(cs) == 0 {
		cs = append(cs, cases.Catalogue...)
	}
	var seeds []int64
	for i := 0; i < n; i++ {
		seeds = append(seeds, seed+int64(i))
	}
	seen := map[string]bool{}
	for _, t := range matrix {
		if !seen[t.FS] {
			seen[t.FS] = true
			cs = append(cs, cases.RandomRaceCases(t.FS, seeds)...)
		}
	}
	return cs
}

// readReplay reads a replay file: an op sequence, or setup ops and a race
// (cases.ReadRace) when it holds a race line.
func readReplay(r io.Reader) ([]cases.Op, *cases.Race, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, err
	}
	if cases.IsRaceFile(string(b)) {
		return cases.ReadRace(strings.NewReader(string(b)))
	}
	ops, err := cases.ReadSequence(strings.NewReader(string(b)))
	return ops, nil, err
}
