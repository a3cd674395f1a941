package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/iomapct/iomapct/runner"
)

// cmdJudge re-judges a finished run directory (iomapct judge RUNDIR): after
// a change to the model or the findings, old runs are judged again in
// seconds, without a kernel. The exit code is the run's would be.
func cmdJudge(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("judge", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print every verdict, not only the failures grouped")
	format := fs.String("format", "human", "output: "+strings.Join(formats, ", "))
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, `usage: iomapct judge [-v] [--format human|ktap|json] RUNDIR

Judges a finished run again from RUNDIR's images, results.jsonl (vm-N/ with
several VMs), plan.json and report.json, without booting, prints the
verdicts and rewrites report.json and junit.xml (the run's own report is
kept once as report.run.json). Images a run removed (filesystems whose
cases all passed, unless it had --keep-images) cannot be re-judged: their
verdicts are kept from report.json and named on stderr.`)
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	if err := checkFormat(*format); err != nil {
		fmt.Fprintln(os.Stderr, "iomapct judge:", err)
		return exitUsage
	}
	res, err := runner.Rejudge(ctx, fs.Arg(0), os.Stderr)
	if res != nil && len(res.Missing) > 0 {
		fmt.Fprintf(os.Stderr, "iomapct judge: images missing, not re-judged (verdicts kept from report.json): %s; run with --keep-images to keep every image re-judgeable\n",
			strings.Join(res.Missing, ", "))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "iomapct judge:", err)
		return exitUsage
	}
	if err := printReport(os.Stdout, *format, *verbose, res.Report); err != nil {
		fmt.Fprintln(os.Stderr, "iomapct judge:", err)
		return exitUsage
	}
	return exitCode(res.Report)
}
