package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iomapct/iomapct/coverage"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/runner"
)

// cmdCoverage is `iomapct run` on a gcov kernel (its own cache entry and
// work tree, kernel/coverage.go), then the counters the guest sent turned
// into per-file and per-function line counts: the write-path groups'
// tables on stdout, the full listing, first-reaching steps, JSON and an
// lcov tracefile in <run>/coverage/.
func cmdCoverage(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("coverage", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	objects := fs.String("objects", strings.Join(kernel.WritePathObjects, ","), "objects to instrument (tree-relative .o paths)")
	gcovTool := fs.String("gcov", "gcov", "gcov of the gcc that builds the kernel")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "iomapct coverage:", err)
		return exitUsage
	}
	cov := &kernel.Coverage{Objects: strings.Split(*objects, ",")}
	if err := cov.Validate(); err != nil {
		return fail(err)
	}
	opts, err := rf.options(ctx, "coverage-"+rf.revision)
	if err == nil {
		opts.SeriesDir, err = rf.seriesDir()
	}
	if err != nil {
		return fail(err)
	}
	if opts.Prebuilt != nil {
		return fail(fmt.Errorf("--kernel: coverage boots the gcov kernel it builds, not a prebuilt one"))
	}
	opts.Coverage = cov
	rep, err := runner.Run(ctx, opts)
	if err != nil {
		if rep != nil && rep.Console != "" {
			fmt.Fprintln(os.Stderr, "console log:", rep.Console)
		}
		return fail(err)
	}
	// The verdicts stay in the run's reports; here they are only counted.
	var human bytes.Buffer
	runner.PrintHuman(&human, rep)
	lines := strings.Split(strings.TrimSpace(human.String()), "\n")
	fmt.Fprintf(os.Stderr, "verdicts: %s (%s)\n", lines[len(lines)-1], filepath.Join(opts.Out, "report.json"))

	start := time.Now()
	var stems, disks []string
	for _, o := range cov.Objects {
		stems = append(stems, strings.TrimSuffix(o, ".o"))
	}
	for _, t := range opts.Matrix {
		disks = append(disks, t.Name())
	}
	var streams []coverage.Stream
	for _, vm := range rep.VMs {
		s, err := coverage.ReadStream(vm.Results, stems)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", vm.Results, err))
		}
		streams = append(streams, s)
	}
	g := &coverage.Gcov{Tool: *gcovTool, Notes: filepath.Join(filepath.Dir(rep.Kernel), "gcov")}
	cr, err := coverage.Analyse(g, stems, streams, coverage.DiskOrder(disks))
	if err != nil {
		return fail(err)
	}
	if err := writeCoverage(filepath.Join(opts.Out, "coverage"), rep.Revision, cr); err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "stage %-9s %7.1fs  %d gcov runs\n", "coverage", time.Since(start).Seconds(), cr.GcovRuns)

	fmt.Printf("kernel coverage, revision %s, %s\n\n", rep.Revision, rep.Kernel)
	coverage.PrintFiles(os.Stdout, cr)
	for _, gr := range coverage.WritePathGroups {
		fmt.Println()
		coverage.PrintGroup(os.Stdout, cr, gr)
	}
	dir := filepath.Join(opts.Out, "coverage")
	fmt.Printf("\nevery function: %s\nfirst reached by: %s\nlcov tracefile: %s (genhtml -o html %s)\n",
		filepath.Join(dir, "coverage.txt"), filepath.Join(dir, "first-reached.txt"),
		filepath.Join(dir, "coverage.info"), filepath.Join(dir, "coverage.info"))
	return exitCode(rep)
}

func writeCoverage(dir, revision string, cr *coverage.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var txt, first, info bytes.Buffer
	coverage.PrintFunctions(&txt, cr)
	coverage.PrintFirst(&first, cr, coverage.WritePathGroups)
	if err := coverage.WriteLCOV(&info, "iomapct_"+revision, cr); err != nil {
		return err
	}
	js, err := json.MarshalIndent(cr, "", " ")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"coverage.txt": txt.Bytes(), "first-reached.txt": first.Bytes(), "coverage.info": info.Bytes(), "coverage.json": js,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
