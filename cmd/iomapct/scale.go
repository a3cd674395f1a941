package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"text/tabwriter"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/runner"
)

// formats a report can be printed in on stdout (every run directory gets
// all of them as files).
var formats = []string{"human", "ktap", "json"}

// printReport writes rep to w in format (see formats); verbose lists every
// verdict in the human format.
func printReport(w io.Writer, format string, verbose bool, rep *runner.Report) error {
	switch format {
	case "", "human":
		if verbose {
			runner.PrintVerbose(w, rep)
		} else {
			runner.PrintHuman(w, rep)
		}
		return nil
	case "ktap":
		return runner.WriteKTAP(w, rep)
	case "json":
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return fmt.Errorf("--format %q: want one of %s", format, strings.Join(formats, ", "))
}

func checkFormat(format string) error {
	for _, f := range formats {
		if format == f {
			return nil
		}
	}
	return fmt.Errorf("--format %q: want one of %s", format, strings.Join(formats, ", "))
}

// cmdMerge builds one report from the run directories of a sharded run.
func cmdMerge(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	out := fs.String("out", "", "write the merged report.json, report.ktap and junit.xml here (default: no files)")
	format := fs.String("format", "human", "stdout format: "+strings.Join(formats, ", "))
	verbose := fs.Bool("v", false, "human format: every verdict, not only the failures grouped")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: iomapct merge [--out DIR] [--format F] SHARD_RUN_DIR...")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return exitCodeOfParse(err)
	}
	if err := checkFormat(*format); err != nil {
		fmt.Fprintln(os.Stderr, "iomapct merge:", err)
		return exitUsage
	}
	rep, err := runner.Merge(fs.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct merge:", err)
		return exitUsage
	}
	rep.Out = *out
	if *out != "" {
		// One err for both steps: the one scoped to an if would be lost,
		// and a failed write reported as success.
		err := os.MkdirAll(*out, 0o755)
		if err == nil {
			err = runner.WriteReports(rep)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "iomapct merge:", err)
			return exitUsage
		}
	}
	fmt.Fprintf(os.Stderr, "merged %d shards: %d (case, image) pairs, plan %s, kernel %s\n", len(fs.Args()), rep.Shard.Kept, rep.Shard.Plan, rep.KernelKey)
	if err := printReport(os.Stdout, *format, *verbose, rep); err != nil {
		fmt.Fprintln(os.Stderr, "iomapct merge:", err)
		return exitUsage
	}
	return exitCode(rep)
}

// cmdList prints the catalogue: what each case does, and where it runs.
func cmdList(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return exitCodeOfParse(err)
	}
	matrix, err := parseMatrix(rf.fsList, rf.bsList)
	if err == nil {
		_, err = selectCases(rf.caseList)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct list:", err)
		return exitUsage
	}
	cs, _ := selectCases(rf.caseList)
	if len(cs) == 0 {
		cs = cases.Catalogue
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tFILESYSTEMS\tBLOCK SIZES\tOPS\tWHAT IT DOES")
	for _, c := range cs {
		var fsNames []string
		seen := map[string]bool{}
		var bss []string
		seenBS := map[int64]bool{}
		opsN := ""
		for _, t := range matrix {
			if !c.AppliesTo(t.FS) {
				continue
			}
			if !seen[t.FS] {
				seen[t.FS] = true
				fsNames = append(fsNames, t.FS)
			}
			if !seenBS[t.BlockSize] {
				seenBS[t.BlockSize] = true
				bss = append(bss, fmt.Sprint(t.BlockSize))
			}
			if ops, err := c.Ops(t.BlockSize); err == nil && opsN == "" {
				opsN = fmt.Sprint(len(ops))
			}
		}
		if len(fsNames) == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, strings.Join(fsNames, ","), strings.Join(bss, ","), opsN, c.Doc)
	}
	tw.Flush()
	fmt.Fprintf(os.Stderr, "%d cases selected\n", len(cs))
	return exitPass
}

// selectCases resolves --cases: comma-separated names or shell globs
// (path.Match syntax: *, ?, [...]) over the catalogue and the race
// catalogue (--races' races are named as well); a word that matches
// nothing is an error naming it. Empty means none given.
func selectCases(list string) ([]cases.Case, error) {
	if list == "" {
		return nil, nil
	}
	var out []cases.Case
	taken := map[string]bool{}
	for _, pat := range strings.Split(list, ",") {
		if pat == "" {
			return nil, fmt.Errorf("--cases %q: empty name", list)
		}
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("--cases: bad pattern %q: %v", pat, err)
		}
		n := 0
		for _, c := range append(append([]cases.Case{}, cases.Catalogue...), cases.RaceCatalogue...) {
			if ok, _ := path.Match(pat, c.Name); ok {
				n++
				if !taken[c.Name] {
					taken[c.Name] = true
					out = append(out, c)
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("--cases: no case named or matching %q (iomapct list shows them)", pat)
		}
	}
	return out, nil
}

// parseFlags parses args, letting flags and positional arguments mix
// (iomapct merge a b --out c).
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(pos) // leaves them as fs.Args()
}

// exitCodeOfParse: -h is a request, not a mistake.
func exitCodeOfParse(err error) int {
	if err == flag.ErrHelp {
		return exitPass
	}
	return exitUsage
}

// prebuilt loads run --kernel DIR and makes the run's revision agree with
// it: the revision recorded at export unless --revision or --series names
// one, in which case that series must be the one the kernel was built
// with.
func (r *runFlags) prebuilt() (*kernel.Artifact, string, error) {
	a, m, err := kernel.LoadExported(r.kernelDir)
	if err != nil {
		return nil, "", err
	}
	if r.series == "" && r.revision == "baseline" && m.Revision != "" {
		r.revision = m.Revision
		return a, m.Version, nil
	}
	dir, err := r.seriesDir()
	if err != nil {
		return nil, "", err
	}
	var s kernel.Series
	if dir != "" {
		if s, err = kernel.ReadSeries(dir); err != nil {
			return nil, "", err
		}
	}
	if id := s.ID()[:16]; id != m.SeriesID {
		return nil, "", fmt.Errorf("--kernel %s was built with series %s (%d patches, revision %q), not with %s's %s (%d patches)",
			r.kernelDir, m.SeriesID, m.Patches, m.Revision, r.revision, id, len(s.Patches))
	}
	return a, m.Version, nil
}

// Exit codes of `git bisect run` (git-bisect(1)): 0 good, 1 bad, 125 this
// commit cannot be tested (skip it), and 128 or more stops the bisection.
const (
	bisectGood  = 0
	bisectBad   = 1
	bisectSkip  = 125
	bisectAbort = 128
)

// bisectCode turns a run's outcome into git bisect run's protocol (run
// --bisect-exit): a kernel that fails or crashes a case is bad; a tree
// whose series does not apply, that does not build, or whose kernel does
// not boot to the agent is untestable; anything else that stopped iomapct
// (a missing tool, a bad flag, a full disk) aborts the bisection rather
// than brand a commit for a fault of the machine.
func bisectCode(rep *runner.Report, err error) int {
	var be *kernel.BuildError
	var ae *kernel.ApplyError
	switch {
	case errors.As(err, &be), errors.As(err, &ae):
		return bisectSkip
	case err != nil:
		if rep != nil && len(rep.VMs) > 0 && neverBooted(rep) {
			return bisectSkip
		}
		return bisectAbort
	case rep.Crash != "" && neverBooted(rep):
		return bisectSkip
	case rep.Crash != "", !rep.Passed():
		return bisectBad
	}
	return bisectGood
}

// neverBooted: no VM of the run got as far as the agent's ready record.
func neverBooted(rep *runner.Report) bool {
	for _, vm := range rep.VMs {
		if vm.Boot > 0 {
			return false
		}
	}
	return true
}

// cmdGC prunes a runs directory by hand.
func cmdGC(_ context.Context, args []string) int {
	fs := flag.NewFlagSet("gc", flag.ContinueOnError)
	keep := fs.Int("keep", runner.DefaultKeepRuns, "how many newest run directories to keep")
	if err := parseFlags(fs, args); err != nil {
		return exitCodeOfParse(err)
	}
	dir := "runs"
	if fs.NArg() > 1 || *keep < 0 {
		fmt.Fprintln(os.Stderr, "iomapct gc: usage: iomapct gc [--keep N] [RUNS_DIR]")
		return exitUsage
	}
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	gone, err := runner.PruneRuns(dir, *keep, "")
	for _, g := range gone {
		fmt.Println("removed", g)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct gc:", err)
		return exitUsage
	}
	fmt.Fprintf(os.Stderr, "%d run director(ies) removed, the %d newest kept in %s\n", len(gone), *keep, dir)
	return exitPass
}

// cmdShell boots the kernel with images mounted and hands the console to
// the user (or to a script on stdin), as virtme-ng does.
func cmdShell(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	after := fs.String("after", "", "replay this op sequence (a replay file, e.g. a failing case's repro) into /mnt/<disk>/after before the shell starts")
	// One image unless asked: the session is about looking, not a matrix.
	fs.Set("fs", filesystems.OneImage)
	fs.Set("bs", "4096")
	fs.Set("vm-timeout", "24h")
	if err := fs.Parse(args); err != nil {
		return exitCodeOfParse(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "iomapct shell: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	opts, err := rf.options(ctx, "shell")
	if err == nil {
		opts.SeriesDir, err = rf.seriesDir()
	}
	if err == nil && *after != "" {
		var ops []cases.Op
		f, ferr := os.Open(*after)
		if ferr != nil {
			err = ferr
		} else {
			ops, err = cases.ReadSequence(f)
			f.Close()
			if err != nil {
				err = fmt.Errorf("%s: %w", *after, err)
			}
		}
		opts.Cases = []cases.Case{{Name: "after", Doc: "replayed from " + *after, Gen: func(int64) []cases.Op { return ops }}}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct shell:", err)
		return exitUsage
	}
	if err := runner.Shell(ctx, opts, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "iomapct shell:", err)
		return exitUsage
	}
	return exitPass
}
