// Command iomapct checks a Linux patch series against an executable model of
// the 6.12 iomap buffered-write path: it builds the kernel, boots it in QEMU,
// runs write cases on ext2/ext4/xfs/gfs2 images and judges the on-disk bytes
// from the host.
//
// Exit codes: 0 every verdict passed; 1 at least one case failed; 2 bad
// usage or an infrastructure error (build, boot, image); 3 the guest crashed
// or hung before finishing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/runner"
	"github.com/iomapct/iomapct/vmtest"
)

const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
	exitCrash = 3
)

func main() {
	// SIGTERM is what CI timeouts and kill send, SIGHUP a closed
	// terminal: all three end the run the same way, QEMU killed and the
	// reports of the finished cases written (see runner.Run).
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-sigs // later ones are caught too, and ignored: the first is being handled
		fmt.Fprintf(os.Stderr, "iomapct: %v: stopping the VMs and writing the reports\n", sig)
		cancel(fmt.Errorf("interrupted by %v", sig))
	}()
	os.Exit(run(ctx, os.Args[1:]))
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: iomapct <command> [flags]

commands:
  run           build, boot and judge one revision (default: the unpatched baseline)
  replay FILE   run one op sequence (a replay file, e.g. from a failing random case)
  minimise FILE shrink a failing op sequence on one filesystem to a short repro
  compare       run several revisions (default baseline,v1,v2,v3) and tabulate every difference
  bisect        find the first patch of a series after which the run fails
  crash         cut the power at every flush of the crash cases, recover, judge what fsync promised
  judge RUNDIR  judge a finished run again from its images and records, without booting
  build         build (or find in the cache) the kernel for a revision and print its path
  coverage      run on a gcov kernel and report the write path's lines reached (lcov tracefile too)
  series check  say whether a series applies, without building
  merge DIR...  one report from the run directories of a sharded run (--shard)
  list          the case catalogue: names, filesystems, what each does
  gc            keep only the newest run directories under ./runs
  deps          the Debian packages of the filesystems' mkfs and fsck tools (scripts/deps.sh)
  shell         boot the kernel with images mounted and a shell on the console (--after FILE replays a case first)
  selftest      build each mutant of kernel/mutants and check the catalogue catches it

run 'iomapct <command> -h' for the flags of a command.
`)
}

func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		usage()
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:])
	case "build":
		return cmdBuild(ctx, args[1:])
	case "compare":
		return cmdCompare(ctx, args[1:])
	case "replay":
		return cmdReplay(ctx, args[1:])
	case "minimise", "minimize":
		return cmdMinimise(ctx, args[1:])
	case "bisect":
		return cmdBisect(ctx, args[1:])
	case "crash":
		return cmdCrash(ctx, args[1:])
	case "coverage":
		return cmdCoverage(ctx, args[1:])
	case "merge":
		return cmdMerge(ctx, args[1:])
	case "list":
		return cmdList(ctx, args[1:])
	case "gc":
		return cmdGC(ctx, args[1:])
	case "shell":
		return cmdShell(ctx, args[1:])
	case "selftest":
		return cmdSelftest(ctx, args[1:])
	case "judge":
		return cmdJudge(ctx, args[1:])
	case "deps":
		return cmdDeps(ctx, args[1:])
	case "series":
		if len(args) > 1 && args[1] == "check" {
			return cmdSeriesCheck(ctx, args[2:])
		}
		if len(args) > 1 && isHelp(args[1]) {
			fmt.Fprintln(os.Stderr, "usage: iomapct series check [flags] [SERIES]\n\nrun 'iomapct series check -h' for its flags.")
			return exitPass
		}
	case "-h", "--help", "help":
		usage()
		return exitPass
	}
	fmt.Fprintf(os.Stderr, "iomapct: unknown command %q\n", strings.Join(args, " "))
	usage()
	return exitUsage
}

func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// parseExit is the exit status of a failed flag parse: 0 when the user
// asked for the help (as `iomapct -h`), 2 for a bad flag.
func parseExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	return exitUsage
}

// common flags of every command that builds a kernel.
type buildFlags struct {
	kernelSrc string
	series    string
	revision  string
	configDir string
	debug     bool
	jobs      int
	allowFuzz bool
}

func (b *buildFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.kernelSrc, "kernel-src", "", "kernel source: a tree (git or plain) or a tarball; default Debian's "+kernel.DebianTarball)
	fs.StringVar(&b.series, "series", "", "patch series: a directory (quilt series file, git format-patch files or an mbox) or one mbox or .patch file; default kernel/patches/iomap-write-ops/<revision>")
	fs.StringVar(&b.revision, "revision", "baseline", "revision name: picks the default series directory and labels reports")
	fs.StringVar(&b.configDir, "config-dir", "", "directory of NN-*.config fragments replacing the built-in kernel/config")
	fs.BoolVar(&b.debug, "debug", false, "add kernel/config/debug.config (lockdep, DEBUG_VM, ...)")
	fs.IntVar(&b.jobs, "j", 0, "make -j for the kernel build (default: number of CPUs)")
	fs.BoolVar(&b.allowFuzz, "allow-fuzz", false, "accept patch hunks that apply only with fuzz (by default an error: the context no longer matches)")
}

// readSeries reads a series and applies --allow-fuzz.
func (b *buildFlags) readSeries(dir string) (kernel.Series, error) {
	s, err := kernel.ReadSeries(dir)
	s.AllowFuzz = b.allowFuzz
	return s, err
}

func (b *buildFlags) source(ctx context.Context) (*kernel.Source, error) {
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}
	var s kernel.Source
	switch {
	case b.kernelSrc == "":
		s, err = kernel.FromTarball(ctx, cache, kernel.DebianTarball)
	case strings.HasSuffix(b.kernelSrc, ".tar.xz") || strings.HasSuffix(b.kernelSrc, ".tar.gz") || strings.HasSuffix(b.kernelSrc, ".tar"):
		s, err = kernel.FromTarball(ctx, cache, b.kernelSrc)
	default:
		s, err = kernel.FromDir(ctx, b.kernelSrc)
	}
	return &s, err
}

// seriesDir resolves the series for a revision; "baseline" without a
// series directory means no patches at all, and so does the named baseline
// revision's own directory when it holds none (its series file is a
// comment): that is the one place an empty series is legal.
func (b *buildFlags) seriesDir() (string, error) {
	d := filepath.Join("kernel", "patches", "iomap-write-ops", b.revision)
	if b.series != "" && filepath.Clean(b.series) != d {
		return b.series, nil
	}
	if _, err := os.Stat(d); err != nil {
		if b.revision == "baseline" {
			return "", nil
		}
		return "", fmt.Errorf("revision %q: no series directory %s (give one with --series)", b.revision, d)
	}
	var empty *kernel.EmptySeriesError
	if _, err := kernel.ReadSeries(d); b.revision == "baseline" && errors.As(err, &empty) {
		return "", nil
	}
	return d, nil
}

// runFlags are the flags of every command that runs cases.
type runFlags struct {
	buildFlags
	fsList, bsList, caseList, out, agent string
	timeout, caseTimeout                 time.Duration
	random, randomOps, vms               int
	repeat                               int
	races, noRaces                       bool
	randomRaces                          int
	seed                                 int64
	shard, format, kernelDir             string
	verbose, keepImages                  bool
	keepRuns                             int

	// replayRace is the race a replay file held (set by sequenceCommand).
	replayRace *cases.Race
}

func (r *runFlags) register(fs *flag.FlagSet) {
	r.buildFlags.register(fs)
	fs.StringVar(&r.fsList, "fs", strings.Join(filesystems.Names(), ","), "filesystems to test")
	fs.StringVar(&r.bsList, "bs", "1024,4096", "block sizes to test")
	fs.StringVar(&r.caseList, "cases", "", "comma-separated case names or globs, e.g. 'gfs2-*,append-*' (default: the whole catalogue; iomapct list shows them)")
	fs.StringVar(&r.kernelDir, "kernel", "", "boot this exported kernel (iomapct build --export DIR) instead of building one: needs no source tree or compiler; every file is checked against the manifest")
	fs.StringVar(&r.shard, "shard", "", "run only shard INDEX/TOTAL (0-based) of the (case, image) pairs; default: from GitLab's CI_NODE_INDEX/CI_NODE_TOTAL or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with IOMAPCT_SHARD_TOTAL when set, else everything; 'none' runs everything")
	fs.BoolVar(&r.keepImages, "keep-images", false, "keep every filesystem image (default: the images of filesystems whose cases all passed are removed after judging)")
	fs.IntVar(&r.keepRuns, "keep-runs", runner.DefaultKeepRuns, "without --out, keep only this many newest run directories under ./runs (0: keep all)")
	fs.BoolVar(&r.verbose, "v", false, "print every verdict and every failure in full (default: only what did not pass, grouped by how it failed, one example each)")
	fs.StringVar(&r.format, "format", "human", "stdout format: human, ktap or json (the run directory gets every format)")
	fs.StringVar(&r.out, "out", "", "run directory for images, logs and reports (default: a new one under ./runs)")
	fs.StringVar(&r.agent, "agent", "", "prebuilt static guest agent (default: built with go build)")
	fs.DurationVar(&r.timeout, "vm-timeout", 10*time.Minute, "deadline for the whole VM")
	fs.DurationVar(&r.caseTimeout, "case-timeout", vmtest.DefaultCaseTimeout, "a case running longer is a hang: the guest's blocked tasks are dumped and the VM killed (negative: no per-case limit)")
	fs.IntVar(&r.random, "random", 0, "add this many seeded random sequences per filesystem (fsx-style)")
	fs.IntVar(&r.randomOps, "random-ops", 40, "ops per random sequence")
	fs.Int64Var(&r.seed, "seed", 1, "seed of the first random sequence (the others follow)")
	fs.BoolVar(&r.races, "races", false, "add every concurrent case (cases/catalogue_concurrent.go; the default catalogue holds only the cheap core of them)")
	fs.BoolVar(&r.noRaces, "no-races", false, "leave out every concurrent case (the default catalogue's core races too): one vCPU per VM, as before races")
	fs.IntVar(&r.randomRaces, "random-races", 0, "add this many seeded random races per filesystem (seeds from --seed on)")
	fs.IntVar(&r.repeat, "repeat", 1, "run every case this many times (case, case@2, ...) and report how often each failing case failed (races: how often they reproduce)")
	// Not -j: that is make -j for the kernel build (buildFlags).
	fs.IntVar(&r.vms, "vms", runner.DefaultVMs, "run the filesystem images in this many VMs at once (at most one per image; -j is make -j of the kernel build)")
}

// options turns the flags into runner options (without the series).
func (r *runFlags) options(ctx context.Context, label string) (runner.Options, error) {
	matrix, err := parseMatrix(r.fsList, r.bsList)
	if err != nil {
		return runner.Options{}, err
	}
	cs, err := selectCases(r.caseList)
	if err != nil {
		return runner.Options{}, err
	}
	if err := checkFormat(r.format); err != nil {
		return runner.Options{}, err
	}
	shard, err := runner.ShardFlag(r.shard, func(s string) { fmt.Fprintln(os.Stderr, s) })
	if err != nil {
		return runner.Options{}, err
	}
	// With --cases, the list already names the races wanted (it reaches the
	// race catalogue too): --races adds the rest only when no list narrows
	// the run, so `--races --cases race-x` runs race-x, not every race.
	if r.races && r.caseList == "" {
		cs = withRaces(cs)
	}
	if r.random > 0 {
		if len(cs) == 0 {
			cs = append(cs, cases.Catalogue...)
		}
		var seeds []int64
		for i := 0; i < r.random; i++ {
			seeds = append(seeds, r.seed+int64(i))
		}
		seen := map[string]bool{}
		for _, t := range matrix {
			if !seen[t.FS] {
				seen[t.FS] = true
				cs = append(cs, cases.RandomCases(t.FS, seeds, r.randomOps)...)
			}
		}
	}
	if r.random < 0 {
		return runner.Options{}, fmt.Errorf("--random: %d is not a number of sequences (want 0 or more)", r.random)
	}
	if r.randomOps < 1 {
		return runner.Options{}, fmt.Errorf("--random-ops: %d is not a number of ops (want 1 or more)", r.randomOps)
	}
	if r.randomRaces > 0 {
		cs = withRandomRaces(cs, matrix, r.seed, r.randomRaces)
	}
	if r.noRaces {
		if r.races || r.randomRaces > 0 {
			return runner.Options{}, fmt.Errorf("--no-races contradicts --races and --random-races")
		}
		cs = withoutRaces(cs)
	}
	if r.repeat < 1 {
		return runner.Options{}, fmt.Errorf("--repeat: %d is not a number of runs (want 1 or more)", r.repeat)
	}
	if r.vms < 1 {
		return runner.Options{}, fmt.Errorf("--vms: %d is not a number of VMs (want 1 or more)", r.vms)
	}
	var src *kernel.Source
	var prebuilt *kernel.Artifact
	version := ""
	if r.kernelDir != "" {
		if prebuilt, version, err = r.prebuilt(); err != nil {
			return runner.Options{}, err
		}
	} else if src, err = r.source(ctx); err != nil {
		return runner.Options{}, err
	}
	if r.out == "" {
		r.out = filepath.Join("runs", time.Now().Format("20060102-150405")+"-"+label)
		if r.keepRuns > 0 {
			if gone, err := runner.PruneRuns("runs", r.keepRuns, r.out); err != nil {
				return runner.Options{}, err
			} else if len(gone) > 0 {
				fmt.Fprintf(os.Stderr, "removed %d old run director(ies) under runs/ (--keep-runs %d; iomapct gc prunes by hand)\n", len(gone), r.keepRuns)
			}
		}
	}
	return runner.Options{
		Source: src, Revision: r.revision, ConfigDir: r.configDir, Debug: r.debug, AllowFuzz: r.allowFuzz,
		Matrix: matrix, Cases: cs, Out: r.out, Agent: r.agent, Jobs: r.jobs, VMs: r.vms, Log: os.Stderr, VMTimeout: r.timeout,
		CaseTimeout: r.caseTimeout, Shard: shard, KeepImages: r.keepImages, Prebuilt: prebuilt, PrebuiltVersion: version, Repeat: r.repeat,
		// Test hook (documented in README): proves the verdict can fail.
		CorruptExpected:     os.Getenv("IOMAPCT_TEST_CORRUPT_EXPECTED") == "1",
		CorruptExpectedLast: os.Getenv("IOMAPCT_TEST_CORRUPT_EXPECTED") == "last",
	}, nil
}

// optionsWithSeries is options plus the series of --series/--revision,
// read first: a series that is no series (no patches, an empty patch) is
// said before the kernel source is resolved (hashing the tarball).
func (r *runFlags) optionsWithSeries(ctx context.Context, label string) (runner.Options, error) {
	sd, err := r.seriesDir()
	if err != nil {
		return runner.Options{}, err
	}
	if sd != "" {
		if _, err := r.readSeries(sd); err != nil {
			return runner.Options{}, err
		}
	}
	opts, err := r.options(ctx, label)
	opts.SeriesDir = sd
	return opts, err
}

func cmdRun(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	crashMode := fs.String("crash", "off", "after the run, the crash check on the same kernel (iomapct crash): off, quick (a few cases per filesystem) or full (the crash catalogue)")
	bisectExit := fs.Bool("bisect-exit", false, "exit as `git bisect run` expects: 0 good, 1 bad, 125 when the tree does not apply, build or boot, 128 when iomapct itself cannot run")
	if err := fs.Parse(args); err != nil {
		if *bisectExit && !errors.Is(err, flag.ErrHelp) {
			return bisectAbort
		}
		return parseExit(err)
	}
	if err := checkCrashMode(*crashMode); err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		return exitUsage
	}
	opts, err := rf.optionsWithSeries(ctx, rf.revision)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		if *bisectExit {
			return bisectAbort
		}
		return exitUsage
	}
	rep, err := runner.Run(ctx, opts)
	if rep != nil && (len(rep.Verdicts) > 0 || rep.Crash != "") {
		printReport(os.Stdout, rf.format, rf.verbose, rep)
		if opts.Repeat > 1 {
			printReproductions(os.Stdout, rep, opts.Repeat)
		}
	}
	code := exitUsage
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		if rep != nil && rep.Console != "" {
			fmt.Fprintln(os.Stderr, "console log:", rep.Console)
		}
	} else {
		code = exitCode(rep)
	}
	if *bisectExit {
		b := bisectCode(rep, err)
		fmt.Fprintf(os.Stderr, "iomapct run --bisect-exit: %d (%s)\n", b, map[int]string{bisectGood: "good", bisectBad: "bad", bisectSkip: "skip: cannot test this commit", bisectAbort: "abort the bisection"}[b])
		return b
	}
	if err != nil {
		return code
	}
	return crashAfterRun(ctx, opts, *crashMode, code)
}

func exitCode(rep *runner.Report) int {
	switch {
	case rep.Crash != "":
		return exitCrash
	case !rep.Passed():
		return exitFail
	}
	return exitPass
}

// sequenceCommand parses "CMD FILE [run flags]" (the file may come before
// or after the flags), reads the op sequence and builds the run options:
// what replay and minimise share.
func sequenceCommand(ctx context.Context, name string, fs *flag.FlagSet, rf *runFlags, args []string) (string, []cases.Op, runner.Options, int) {
	if err := fs.Parse(args); err != nil {
		return "", nil, runner.Options{}, parseExit(err)
	}
	file := fs.Arg(0)
	if err := fs.Parse(fs.Args()[min(1, fs.NArg()):]); err != nil {
		return "", nil, runner.Options{}, parseExit(err)
	}
	fail := func(err error) (string, []cases.Op, runner.Options, int) {
		fmt.Fprintf(os.Stderr, "iomapct %s: %v\n", name, err)
		return "", nil, runner.Options{}, exitUsage
	}
	if file == "" || fs.NArg() != 0 {
		return fail(errors.New("give one sequence file"))
	}
	f, err := os.Open(file)
	if err != nil {
		return fail(err)
	}
	ops, race, err := readReplay(f)
	rf.replayRace = race
	f.Close()
	if err != nil {
		return fail(fmt.Errorf("%s: %w", file, err))
	}
	if len(ops) == 0 {
		return fail(fmt.Errorf("%s holds no ops (only comments or blank lines)", file))
	}
	opts, err := rf.optionsWithSeries(ctx, name)
	if err != nil {
		return fail(err)
	}
	return file, ops, opts, -1
}

func cmdReplay(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	file, ops, opts, code := sequenceCommand(ctx, "replay", fs, &rf, args)
	if code >= 0 {
		return code
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	opts.Cases = []cases.Case{{Name: "replay-" + name, Doc: "replayed from " + file, Gen: func(int64) []cases.Op { return ops }}}
	if r := rf.replayRace; r != nil {
		opts.Cases[0].Race = func(int64) *cases.Race { return r }
	}
	rep, err := runner.Run(ctx, opts)
	if rep != nil && (len(rep.Verdicts) > 0 || rep.Crash != "") {
		printReport(os.Stdout, rf.format, rf.verbose, rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct replay:", err)
		return exitUsage
	}
	return exitCode(rep)
}

func cmdMinimise(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("minimise", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	budget := fs.Int("budget", 80, "at most this many VM runs")
	file, ops, opts, code := sequenceCommand(ctx, "minimise", fs, &rf, args)
	if code >= 0 {
		return code
	}
	if len(opts.Matrix) != 1 {
		fmt.Fprintln(os.Stderr, "iomapct minimise: give exactly one --fs and one --bs")
		return exitUsage
	}
	if rf.replayRace != nil {
		return minimiseRace(ctx, opts, file, ops, rf.replayRace, *budget)
	}
	opts.Log = io.Discard
	res, err := runner.Minimise(ctx, opts, opts.Matrix[0], ops, *budget, func(s string) { fmt.Fprintln(os.Stderr, "  "+s) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct minimise:", err)
		return exitUsage
	}
	out := filepath.Join(opts.Out, "minimal.ops")
	how := "1-minimal: no op can be removed or shrunk and still fail"
	if res.BudgetSpent {
		how = fmt.Sprintf("not minimal: the budget of %d VM runs ran out (raise --budget to go on from this file)", *budget)
	}
	var buf strings.Builder
	cases.WriteSequence(&buf, res.Ops, fmt.Sprintf("minimised from %s (%d ops) on %s in %d VM runs; fails: %s; %s",
		file, len(ops), opts.Matrix[0].Name(), res.Runs, res.Check, how))
	os.WriteFile(out, []byte(buf.String()), 0o644)
	fmt.Print(buf.String())
	fmt.Fprintf(os.Stderr, "%d of %d ops remain (%d VM runs, %s); written to %s; the failing run kept: %s\n", len(res.Ops), len(ops), res.Runs, how, out, res.Best)
	return exitFail
}

func cmdCompare(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	revList := fs.String("revisions", "baseline,v1,v2,v3", "revisions to compare: names of kernel/patches/iomap-write-ops/NAME, or NAME=DIR for any series directory or mbox (e.g. v2,v2b=../v2b)")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	var revs []runner.Revision
	seenRev := map[string]bool{}
	for _, r := range strings.Split(*revList, ",") {
		name, dir, ok := strings.Cut(r, "=")
		if name == "" || (ok && dir == "") || seenRev[name] {
			fmt.Fprintf(os.Stderr, "iomapct compare: --revisions %q: each revision needs a name, given once (name or name=DIR)\n", *revList)
			return exitUsage
		}
		seenRev[name] = true
		// name=DIR goes through seriesDir too: baseline=<its own
		// directory> is the empty control, any other empty series an error.
		bf := rf.buildFlags
		bf.revision, bf.series = name, dir
		var err error
		if dir, err = bf.seriesDir(); err != nil {
			fmt.Fprintln(os.Stderr, "iomapct compare:", err)
			return exitUsage
		}
		if dir != "" {
			if _, err := bf.readSeries(dir); err != nil {
				fmt.Fprintln(os.Stderr, "iomapct compare:", err)
				return exitUsage
			}
		}
		revs = append(revs, runner.Revision{Name: name, Dir: dir})
	}
	// The revisions are checked before the kernel source is resolved.
	opts, err := rf.options(ctx, "compare")
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct compare:", err)
		return exitUsage
	}
	c, err := runner.Compare(ctx, opts, revs)
	if c != nil && len(c.Revisions) > 0 {
		if rf.verbose {
			runner.PrintComparisonAll(os.Stdout, c)
		} else {
			runner.PrintComparison(os.Stdout, c)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct compare:", err)
		return exitUsage
	}
	for _, row := range c.Rows {
		if c.Differs(row) {
			return exitFail
		}
	}
	return exitPass
}

func cmdBisect(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("bisect", flag.ContinueOnError)
	var rf runFlags
	rf.register(fs)
	checks := fs.String("check", "", "follow only these checks (comma-separated, e.g. callouts,content); with --cases, the signature is every listed case on every image with these checks, and the full series is not run first")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	opts, err := rf.options(ctx, "bisect-"+rf.revision)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct bisect:", err)
		return exitUsage
	}
	sd, err := rf.seriesDir()
	if err != nil || sd == "" {
		fmt.Fprintln(os.Stderr, "iomapct bisect: give --revision or --series with a non-empty series")
		return exitUsage
	}
	s, err := rf.readSeries(sd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct bisect:", err)
		return exitUsage
	}
	var only []string
	if *checks != "" {
		only = strings.Split(*checks, ",")
	}
	var sig runner.Signature
	if rf.caseList != "" && len(only) > 0 {
		for _, t := range opts.Matrix {
			for _, c := range opts.Cases {
				if c.AppliesTo(t.FS) {
					for _, ch := range only {
						sig = append(sig, runner.SigEntry{Disk: t.Name(), Case: c.Name, Check: ch})
					}
				}
			}
		}
	}
	fmt.Printf("bisect %s (%d patches), run directories under %s\n", sd, len(s.Patches), opts.Out)
	res, err := runner.Bisect(ctx, opts, s, sig, only, func(st runner.BisectStep) {
		line := fmt.Sprintf("  %d patches: %s", st.Patches, st.Verdict)
		if st.Why != "" {
			line += " (" + st.Why + ")"
		}
		fmt.Println(line)
		for _, f := range st.Failing {
			fmt.Println("      " + f)
		}
		fmt.Println("      " + st.Out)
	})
	if res != nil && len(res.Signature) > 0 {
		fmt.Printf("signature (%d):\n", len(res.Signature))
		for _, e := range res.Signature {
			fmt.Println("  " + e.String())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct bisect:", err)
		return exitUsage
	}
	switch {
	case res.First == -1:
		fmt.Println(res.Reason)
		return exitPass
	case res.First == 0:
		fmt.Println(res.Reason)
	case res.From == res.First:
		fmt.Printf("first bad patch: %d %s %s\n", res.First, res.Patch, res.Subject)
		if res.Reason != "" {
			fmt.Println("  " + res.Reason)
		}
	default:
		fmt.Printf("first bad patch: one of %d..%d (last: %s %s)\n  %s\n", res.From, res.First, res.Patch, res.Subject, res.Reason)
	}
	return exitFail
}

func parseMatrix(fsList, bsList string) ([]runner.Target, error) {
	var out []runner.Target
	seenFS, seenBS := map[string]bool{}, map[string]bool{}
	for _, b := range strings.Split(bsList, ",") {
		if seenBS[b] {
			return nil, fmt.Errorf("--bs: %s given twice", b)
		}
		seenBS[b] = true
	}
	for _, f := range strings.Split(fsList, ",") {
		e, err := filesystems.Lookup(f)
		if err != nil {
			return nil, fmt.Errorf("--fs: %w", err)
		}
		if seenFS[f] {
			// Two images of one name would be one file opened twice
			// by QEMU ("Failed to get write lock").
			return nil, fmt.Errorf("--fs: %s given twice", f)
		}
		seenFS[f] = true
		for _, b := range strings.Split(bsList, ",") {
			bs, err := strconv.ParseInt(b, 10, 64)
			if err != nil || bs < 512 || bs&(bs-1) != 0 {
				return nil, fmt.Errorf("--bs: %q is not a power-of-two block size >= 512", b)
			}
			// The range each filesystem mounts with on the 6.12 x86_64
			// kernel (Entry.MountBlockSizes).
			if r := e.MountBlockSizes; bs < r[0] || bs > r[1] {
				return nil, fmt.Errorf("--bs: %s does not mount with %d-byte blocks on this kernel (%d to %d)", f, bs, r[0], r[1])
			}
			out = append(out, runner.Target{FS: f, BlockSize: bs})
		}
	}
	if err := runner.CheckMatrix(out); err != nil {
		return nil, err
	}
	return out, nil
}

func cmdBuild(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var bf buildFlags
	bf.register(fs)
	export := fs.String("export", "", "also copy the kernel (bzImage, vmlinux, config) with a manifest of its cache key and hashes into this directory, for run --kernel on another machine")
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "iomapct build:", err)
		return exitUsage
	}
	src, err := bf.source(ctx)
	if err != nil {
		return fail(err)
	}
	sd, err := bf.seriesDir()
	if err != nil {
		return fail(err)
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		return fail(err)
	}
	opts := runner.Options{Source: src, SeriesDir: sd, ConfigDir: bf.configDir, Debug: bf.debug, Jobs: bf.jobs, Log: os.Stderr}
	spec, err := opts.KernelSpec(ctx, cache)
	if err != nil {
		return fail(err)
	}
	// Every cached kernel is checked here, not only the one asked for:
	// a bzImage that does not hold its vmlinux is evicted.
	if n, bad, err := kernel.CheckCache(cache, os.Stderr); err != nil {
		return fail(err)
	} else if bad > 0 {
		fmt.Fprintf(os.Stderr, "kernel cache: %d of %d kernels failed their check and were evicted\n", bad, n)
	}
	start := time.Now()
	a, err := kernel.Build(ctx, cache, spec)
	if err != nil {
		return fail(err)
	}
	how := "built"
	if a.Cached {
		how = "cached"
	}
	fmt.Fprintf(os.Stderr, "kernel %s in %.1fs: %s\n", how, time.Since(start).Seconds(), src.ID)
	if *export != "" {
		if err := kernel.Export(a, bf.revision, src.Version, *export); err != nil {
			return fail(err)
		}
		fmt.Fprintf(os.Stderr, "exported kernel %s to %s (run it with: iomapct run --kernel %s)\n", a.Key, *export, *export)
		fmt.Println(filepath.Join(*export, "bzImage"))
		return exitPass
	}
	fmt.Println(a.BzImage)
	return exitPass
}

func cmdSeriesCheck(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("series check", flag.ContinueOnError)
	var bf buildFlags
	bf.register(fs)
	if err := fs.Parse(args); err != nil {
		return parseExit(err)
	}
	if fs.NArg() == 1 {
		bf.series = fs.Arg(0)
	}
	sd, err := bf.seriesDir()
	if err != nil || sd == "" {
		fmt.Fprintln(os.Stderr, "iomapct series check: give a series directory")
		return exitUsage
	}
	s, err := bf.readSeries(sd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct series check:", err)
		return exitUsage
	}
	src, err := bf.source(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct series check:", err)
		return exitUsage
	}
	dir, err := s.Stage(ctx, src.Dir)
	os.RemoveAll(dir)
	if err != nil {
		// A series that does not apply is bad input, not a kernel
		// that misbehaved: exit 2, as for a missing patch tool.
		fmt.Fprintln(os.Stderr, "iomapct series check:", err)
		return exitUsage
	}
	for i, p := range s.Patches {
		fmt.Printf("%2d %s %s\n", i+1, p.Name, p.Subject)
	}
	fmt.Printf("%d patches apply cleanly to %s\n", len(s.Patches), src.ID)
	return exitPass
}
