package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// withoutRaces drops every race from cs (from the whole catalogue when cs
// is empty).
func withoutRaces(cs []cases.Case) []cases.Case {
	if len(cs) == 0 {
		cs = cases.Catalogue
	}
	var out []cases.Case
	for _, c := range cs {
		if c.Race == nil {
			out = append(out, c)
		}
	}
	return out
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

// minimiseRace shrinks a failing race file (iomapct minimise FILE with a
// race line): each candidate runs --repeat times in one boot.
func minimiseRace(ctx context.Context, opts runner.Options, file string, setup []cases.Op, r *cases.Race, budget int) int {
	opts.Log = io.Discard
	res, err := runner.MinimiseRace(ctx, opts, opts.Matrix[0], setup, r, budget)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct minimise:", err)
		return exitUsage
	}
	var buf strings.Builder
	cases.WriteRace(&buf, res.Setup, res.Race, fmt.Sprintf("minimised from %s (%d threads) on %s in %d VM runs of %d repetitions; fails: %s",
		file, len(r.Threads), opts.Matrix[0].Name(), res.Runs, max(1, opts.Repeat), res.Check))
	out := filepath.Join(opts.Out, "minimal.race")
	os.WriteFile(out, []byte(buf.String()), 0o644)
	fmt.Print(buf.String())
	fmt.Fprintf(os.Stderr, "%d thread(s) remain (%d VM runs); written to %s\n", len(res.Race.Threads), res.Runs, out)
	return exitFail
}
