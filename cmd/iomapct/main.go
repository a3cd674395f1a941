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
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/runner"
)

const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
	exitCrash = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: iomapct <command> [flags]

commands:
  run           build, boot and judge one revision (default: the unpatched baseline)
  build         build (or find in the cache) the kernel for a revision and print its path
  series check  say whether a series applies, without building

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
	case "series":
		if len(args) > 1 && args[1] == "check" {
			return cmdSeriesCheck(ctx, args[2:])
		}
	case "-h", "--help", "help":
		usage()
		return exitPass
	}
	fmt.Fprintf(os.Stderr, "iomapct: unknown command %q\n", strings.Join(args, " "))
	usage()
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
}

func (b *buildFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.kernelSrc, "kernel-src", "", "kernel source: a tree (git or plain) or a tarball; default Debian's "+kernel.DebianTarball)
	fs.StringVar(&b.series, "series", "", "patch series directory (quilt series file, git format-patch files or an mbox); default kernel/patches/iomap-write-ops/<revision>")
	fs.StringVar(&b.revision, "revision", "baseline", "revision name: picks the default series directory and labels reports")
	fs.StringVar(&b.configDir, "config-dir", "", "directory of NN-*.config fragments replacing the built-in kernel/config")
	fs.BoolVar(&b.debug, "debug", false, "add kernel/config/debug.config (lockdep, DEBUG_VM, ...)")
	fs.IntVar(&b.jobs, "j", 0, "make -j for the kernel build (default: number of CPUs)")
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
// series directory means no patches at all.
func (b *buildFlags) seriesDir() (string, error) {
	if b.series != "" {
		return b.series, nil
	}
	d := filepath.Join("kernel", "patches", "iomap-write-ops", b.revision)
	if _, err := os.Stat(d); err != nil {
		if b.revision == "baseline" {
			return "", nil
		}
		return "", fmt.Errorf("revision %q: no series directory %s (give one with --series)", b.revision, d)
	}
	return d, nil
}

func cmdRun(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var bf buildFlags
	bf.register(fs)
	fsList := fs.String("fs", "ext2,ext4,xfs,gfs2", "filesystems to test")
	bsList := fs.String("bs", "1024,4096", "block sizes to test")
	caseList := fs.String("cases", "", "comma-separated case names (default: the whole catalogue)")
	out := fs.String("out", "", "run directory for images, logs and reports (default: a new one under ./runs)")
	agent := fs.String("agent", "", "prebuilt static guest agent (default: built with go build)")
	timeout := fs.Duration("vm-timeout", 10*time.Minute, "deadline for the whole VM")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	matrix, err := parseMatrix(*fsList, *bsList)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		return exitUsage
	}
	var cs []cases.Case
	if *caseList != "" {
		for _, n := range strings.Split(*caseList, ",") {
			c, ok := cases.Lookup(n)
			if !ok {
				fmt.Fprintf(os.Stderr, "iomapct run: no case named %q\n", n)
				return exitUsage
			}
			cs = append(cs, c)
		}
	}
	src, err := bf.source(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		return exitUsage
	}
	sd, err := bf.seriesDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		return exitUsage
	}
	if *out == "" {
		*out = filepath.Join("runs", time.Now().Format("20060102-150405")+"-"+bf.revision)
	}
	opts := runner.Options{
		Source: src, SeriesDir: sd, Revision: bf.revision, ConfigDir: bf.configDir, Debug: bf.debug,
		Matrix: matrix, Cases: cs, Out: *out, Agent: *agent, Jobs: bf.jobs, Log: os.Stderr, VMTimeout: *timeout,
		// Test hook (documented in README): proves the verdict can fail.
		CorruptExpected: os.Getenv("IOMAPCT_TEST_CORRUPT_EXPECTED") == "1",
	}
	rep, err := runner.Run(ctx, opts)
	if rep != nil && len(rep.Verdicts) > 0 {
		runner.PrintHuman(os.Stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct run:", err)
		if rep != nil && rep.Console != "" {
			fmt.Fprintln(os.Stderr, "console log:", rep.Console)
		}
		return exitUsage
	}
	if rep.Crash != "" {
		if len(rep.Verdicts) == 0 {
			runner.PrintHuman(os.Stdout, rep)
		}
		return exitCrash
	}
	if !rep.Passed() {
		return exitFail
	}
	return exitPass
}

func parseMatrix(fsList, bsList string) ([]runner.Target, error) {
	var out []runner.Target
	for _, f := range strings.Split(fsList, ",") {
		switch f {
		case "ext2", "ext4", "xfs", "gfs2":
		default:
			return nil, fmt.Errorf("--fs: unknown filesystem %q (want ext2, ext4, xfs, gfs2)", f)
		}
		for _, b := range strings.Split(bsList, ",") {
			bs, err := strconv.ParseInt(b, 10, 64)
			if err != nil || bs < 512 || bs&(bs-1) != 0 {
				return nil, fmt.Errorf("--bs: %q is not a power-of-two block size >= 512", b)
			}
			out = append(out, runner.Target{FS: f, BlockSize: bs})
		}
	}
	if len(out) > 26 {
		return nil, errors.New("at most 26 filesystem images per VM")
	}
	return out, nil
}

func cmdBuild(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var bf buildFlags
	bf.register(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	src, err := bf.source(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct build:", err)
		return exitUsage
	}
	sd, err := bf.seriesDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct build:", err)
		return exitUsage
	}
	var series kernel.Series
	if sd != "" {
		if series, err = kernel.ReadSeries(sd); err != nil {
			fmt.Fprintln(os.Stderr, "iomapct build:", err)
			return exitUsage
		}
	}
	frags, err := kernel.DefaultFragments(bf.configDir, bf.debug)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct build:", err)
		return exitUsage
	}
	cache, err := kernel.CacheDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct build:", err)
		return exitUsage
	}
	start := time.Now()
	a, err := kernel.Build(ctx, cache, kernel.Spec{Source: *src, Series: series, Fragments: frags, Jobs: bf.jobs, Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct build:", err)
		return exitUsage
	}
	how := "built"
	if a.Cached {
		how = "cached"
	}
	fmt.Fprintf(os.Stderr, "kernel %s in %.1fs: %s\n", how, time.Since(start).Seconds(), src.ID)
	fmt.Println(a.BzImage)
	return exitPass
}

func cmdSeriesCheck(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("series check", flag.ContinueOnError)
	var bf buildFlags
	bf.register(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() == 1 {
		bf.series = fs.Arg(0)
	}
	src, err := bf.source(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct series check:", err)
		return exitUsage
	}
	sd, err := bf.seriesDir()
	if err != nil || sd == "" {
		fmt.Fprintln(os.Stderr, "iomapct series check: give a series directory")
		return exitUsage
	}
	s, err := kernel.ReadSeries(sd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct series check:", err)
		return exitUsage
	}
	dir, err := s.Stage(ctx, src.Dir)
	os.RemoveAll(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct series check:", err)
		return exitFail
	}
	for i, p := range s.Patches {
		fmt.Printf("%2d %s %s\n", i+1, p.Name, p.Subject)
	}
	fmt.Printf("%d patches apply cleanly to %s\n", len(s.Patches), src.ID)
	return exitPass
}
