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
	fs.IntVar(&co.Subsets, "subsets", 0, "also cut the power between flushes: up to this many random subsets of the writes since the last flush per crash point")
	fs.BoolVar(&co.Keep, "keep", false, "keep every crash image (default: only failing ones)")
	fs.StringVar(&opsFile, "ops", "", "run this op sequence (a replay file) as the only crash case")
	quick := fs.Bool("quick", false, "only the quick subset of the crash catalogue (what make test-kernel runs)")
	var minimise bool
	var budget int
	fs.BoolVar(&minimise, "minimise", false, "with --ops and one --fs/--bs: shrink the failing sequence, one crash run per candidate")
	fs.IntVar(&budget, "budget", 40, "with --minimise: at most this many crash runs")
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
	// Random crash sequences are short: the bugs need few ops after a
	// persistence point, and every op costs a few recovery mounts.
	randomOpsSet := false
	fs.Visit(func(f *flag.Flag) { randomOpsSet = randomOpsSet || f.Name == "random-ops" })
	if !randomOpsSet {
		rf.randomOps = 8
	}
	random := rf.random
	rf.random = 0
	opts, err := rf.options(ctx, "crash-"+rf.revision)
	if err == nil {
		opts.SeriesDir, err = rf.seriesDir()
	}
	if err != nil {
		return fail(err)
	}
	if *quick {
		opts.Cases = append(opts.Cases, cases.CrashQuick()...)
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
	if random > 0 {
		if len(opts.Cases) == 0 {
			opts.Cases = append(opts.Cases, cases.CrashCatalogue...)
		}
		var seeds []int64
		for i := 0; i < random; i++ {
			seeds = append(seeds, rf.seed+int64(i))
		}
		seen := map[string]bool{}
		for _, t := range opts.Matrix {
			if !seen[t.FS] {
				seen[t.FS] = true
				opts.Cases = append(opts.Cases, cases.RandomCases(t.FS, seeds, rf.randomOps)...)
			}
		}
	}
	if minimise {
		if opsFile == "" || len(opts.Matrix) != 1 {
			return fail(fmt.Errorf("--minimise needs --ops FILE and one --fs and --bs"))
		}
		ops := opts.Cases[len(opts.Cases)-1].Gen(0)
		res, err := runner.MinimiseCrash(ctx, opts, co, opts.Matrix[0], ops, budget)
		if err != nil {
			return fail(err)
		}
		out := filepath.Join(opts.Out, "minimal.ops")
		var buf strings.Builder
		cases.WriteSequence(&buf, res.Ops, fmt.Sprintf("minimised from %s (%d ops) on %s in %d crash runs; fails: %s",
			opsFile, len(ops), opts.Matrix[0].Name(), res.Runs, res.Check))
		os.WriteFile(out, []byte(buf.String()), 0o644)
		fmt.Print(buf.String())
		fmt.Fprintf(os.Stderr, "%d of %d ops remain (%d crash runs); written to %s; the failing run kept: %s\n", len(res.Ops), len(ops), res.Runs, out, res.Best)
		return exitFail
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

func checkCrashMode(mode string) error {
	switch mode {
	case "off", "quick", "full":
		return nil
	}
	return fmt.Errorf("--crash: %q is not off, quick or full", mode)
}

// crashAfterRun runs the crash check after `iomapct run --crash MODE` on
// the same kernel (source, series, revision) and filesystems, at 4k blocks
// (or the run's only block size), with the quick subset or the whole crash
// catalogue, printing its verdicts after the run's. The exit status is the
// run's unless the run passed.
func crashAfterRun(ctx context.Context, opts runner.Options, mode string, runCode int) int {
	if mode == "off" {
		return runCode
	}
	co := opts
	co.Out = filepath.Join(opts.Out, "crash")
	co.Cases = cases.CrashCatalogue
	if mode == "quick" {
		co.Cases = cases.CrashQuick()
	}
	co.Matrix = nil
	seen := map[string]bool{}
	for _, t := range opts.Matrix {
		bs := int64(4096)
		if !hasBlockSize(opts.Matrix, t.FS, 4096) {
			bs = t.BlockSize
		}
		if !seen[t.FS] {
			seen[t.FS] = true
			co.Matrix = append(co.Matrix, runner.Target{FS: t.FS, BlockSize: bs})
		}
	}
	fmt.Fprintf(os.Stderr, "crash check (%s): %d cases, power cut at every flush\n", mode, len(co.Cases))
	rep, err := runner.RunCrash(ctx, co, runner.CrashOptions{})
	if rep != nil && (len(rep.Verdicts) > 0 || rep.Crash != "") {
		fmt.Println()
		fmt.Println("crash check: power cut at every flush, recovered, judged against what fsync/fdatasync/sync promised")
		runner.PrintHuman(os.Stdout, rep)
	}
	code := exitPass
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run --crash:", err)
		code = exitUsage
	} else {
		code = exitCode(rep)
	}
	if runCode != exitPass {
		return runCode
	}
	return code
}

func hasBlockSize(m []runner.Target, fs string, bs int64) bool {
	for _, t := range m {
		if t.FS == fs && t.BlockSize == bs {
			return true
		}
	}
	return false
}
