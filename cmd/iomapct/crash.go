package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/runner"
)

// cmdCrash runs the crash catalogue (or --cases, or one --ops sequence)
// with every write recorded, cuts the power at every flush, has the kernel
// recover each image and judges it (runner.RunCrash).
func cmdCrash(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("crash", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	// The crash cases are about persistence, not geometry: 4k by default.
	bs := fs.Lookup("bs")
	bs.DefValue = "4096"
	bs.Value.Set("4096")
	fs.Lookup("cases").Usage = "comma-separated crash case names (default: the whole crash catalogue)"
	var co runner.CrashOptions
	var opsFile string
	fs.IntVar(&co.PerVM, "per-vm", runner.DefaultCrashPerVM, "crash images mounted per recovery VM")
	fs.BoolVar(&co.Keep, "keep", false, "keep every crash image (default: only failing ones)")
	fs.StringVar(&opsFile, "ops", "", "run this op sequence (a replay file) as the only crash case")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "iomapct crash: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "iomapct crash:", err)
		return exitUsage
	}
	caseList := rf.caseList
	rf.caseList = ""
	if rf.random > 0 {
		return fail(fmt.Errorf("--random is not supported by crash yet"))
	}
	opts, err := rf.options(ctx, "crash-"+rf.revision)
	if err == nil {
		opts.SeriesDir, err = rf.seriesDir()
	}
	if err != nil {
		return fail(err)
	}
	if caseList != "" {
		for _, n := range strings.Split(caseList, ",") {
			c, ok := cases.LookupCrash(n)
			if !ok {
				return fail(fmt.Errorf("--cases: no crash case named %q", n))
			}
			opts.Cases = append(opts.Cases, c)
		}
	}
	if opsFile != "" {
		f, err := os.Open(opsFile)
		if err != nil {
			return fail(err)
		}
		ops, err := cases.ReadSequence(f)
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("%s: %w", opsFile, err))
		}
		name := strings.TrimSuffix(filepath.Base(opsFile), filepath.Ext(opsFile))
		opts.Cases = append(opts.Cases, cases.Case{Name: "replay-" + name, Doc: "replayed from " + opsFile, Gen: func(int64) []cases.Op { return ops }})
	}
	rep, err := runner.RunCrash(ctx, opts, co)
	if rep != nil && (len(rep.Verdicts) > 0 || rep.Crash != "") {
		runner.PrintHuman(os.Stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct crash:", err)
		return exitUsage
	}
	return exitCode(rep)
}
