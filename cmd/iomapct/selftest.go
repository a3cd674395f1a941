package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/runner"
)

// cmdSelftest runs the mutation self-test: every mutant of kernel/mutants
// must make the catalogue fail. Exit 1 if one survives (one whose check
// family the suite has), 2 on a build or boot error.
func cmdSelftest(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	dir := fs.String("mutants-dir", filepath.Join("kernel", "mutants"), "directory of mutant patches")
	list := fs.String("mutants", "", "comma-separated mutant names (default: every mutant whose check family the suite has)")
	all := fs.Bool("all", false, "also run the mutants that need a check family (Mutant-Needs) the suite may not have yet")
	allFS := fs.Bool("all-fs", false, "run each mutant on the whole matrix, not only on the filesystems it changes")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "iomapct selftest:", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	ms, err := kernel.ReadMutants(*dir)
	if err != nil {
		return fail(err)
	}
	st := runner.Selftest{Mutants: ms, Skip: map[string]bool{}, Bases: map[string]kernel.Series{}, AllFS: *allFS}
	if *list != "" {
		want := strings.Split(*list, ",")
		var picked []kernel.Mutant
		for _, n := range want {
			i := slices.IndexFunc(ms, func(m kernel.Mutant) bool { return m.Name == n })
			if i < 0 {
				return fail(fmt.Errorf("--mutants: no mutant named %q in %s", n, *dir))
			}
			picked = append(picked, ms[i])
		}
		st.Mutants = picked
	} else if !*all {
		for _, m := range ms {
			if m.Needs != "" {
				st.Skip[m.Name] = true
			}
		}
	}
	for _, m := range st.Mutants {
		if _, ok := st.Bases[m.Base]; ok || m.Base == "" {
			continue
		}
		bf := rf.buildFlags
		bf.revision, bf.series = m.Base, ""
		sd, err := bf.seriesDir()
		if err != nil {
			return fail(fmt.Errorf("mutant %s: %w", m.Name, err))
		}
		s, err := kernel.ReadSeries(sd)
		if err != nil {
			return fail(fmt.Errorf("mutant %s: %w", m.Name, err))
		}
		st.Bases[m.Base] = s
	}
	opts, err := rf.options(ctx, "selftest")
	if err != nil {
		return fail(err)
	}
	// Mutant kernels are compiled without ccache: with it, a mutant of
	// fs/ext4/page-io.c was once built into a kernel without its change
	// (its ext4_bio_write_folio identical to the baseline's; built again
	// without ccache it had the change and was killed). A mutant that
	// silently builds as the baseline is a false survivor. The files a
	// mutant touches miss ccache anyway.
	os.Setenv("CCACHE_DISABLE", "1")
	rs, err := runner.RunSelftest(ctx, opts, st)
	if len(rs) > 0 {
		runner.PrintSelftest(os.Stdout, rs)
		if b, jerr := json.MarshalIndent(rs, "", "  "); jerr == nil {
			os.WriteFile(filepath.Join(opts.Out, "selftest.json"), b, 0o644)
		}
	}
	if err != nil {
		return fail(err)
	}
	code := exitPass
	for _, r := range rs {
		switch {
		case r.Err != "":
			return exitUsage
		case r.Failed():
			code = exitFail
		}
	}
	return code
}
