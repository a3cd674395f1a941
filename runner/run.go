package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/judge"
	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/crash"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// Run builds, boots, runs the cases and judges them. The report is
// returned (and written to Out) even when a later stage fails, so results
// already produced are never lost.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults(DefaultMatrix, cases.Catalogue)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	// Every op must be one the guest can run and the model can judge:
	// checked before anything is built or booted.
	if err := validateCases(o); err != nil {
		return nil, err
	}
	rep := &Report{Revision: o.Revision, Out: o.Out}
	st := &stager{r: rep, log: o.Log, last: time.Now()}
	// Whatever ends the run early (an interrupt during the build, a
	// missing tool), report.json and junit.xml say how far it got.
	reported := false
	defer func() {
		if !reported {
			WriteReports(rep)
		}
	}()
	cache, err := kernel.CacheDir()
	if err != nil {
		return nil, err
	}

	art, version, err := o.kernel(ctx, cache, st)
	if err != nil {
		return rep, err
	}
	rep.Kernel, rep.KernelKey = art.BzImage, art.Key
	if o.largeFolios, err = largeFolios(art.Config); err != nil {
		return rep, err
	}

	// Images, plan, initramfs.
	plan, err := makePlan(ctx, o, rep)
	if err != nil {
		return rep, err
	}
	if err := savePlan(o, plan, version); err != nil {
		// plan.json only serves `iomapct judge` later: a run that cannot
		// write it (a full disk) still runs and says so.
		fmt.Fprintf(o.Log, "warning: %v (iomapct judge cannot re-judge this run)\n", err)
	}
	pairs := 0
	for _, d := range plan.Disks {
		pairs += len(d.Files)
	}
	note := fmt.Sprintf("%d filesystems, %d cases selected, %d (case, image) pairs", len(plan.Disks), len(o.Cases), pairs)
	if rep.Shard != nil {
		note += fmt.Sprintf(", shard %s: %d of %d (case, image) pairs", rep.Shard.Shard, rep.Shard.Kept, rep.Shard.Pairs)
	}
	st.done("images", note)
	if len(plan.Disks) == 0 {
		// More shards than pairs: this one has nothing to run, and says so.
		return rep, WriteReports(rep)
	}
	agent := o.Agent
	if agent == "" {
		if agent, err = BuildAgent(ctx, filepath.Join(cache, "agent")); err != nil {
			return rep, err
		}
	}

	// Boot and run: the plan's disks split across o.VMs machines.
	total := 0
	for _, d := range plan.Disks {
		total += len(d.Files)
	}
	var mu sync.Mutex // OnRecord runs on each VM's reader goroutine
	doneCases := 0
	progress := func(r proto.Record) {
		if r.Type != proto.Result || judge.IsUnmount(r) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		doneCases++
		// About twenty progress lines per run, whatever its size, and
		// every case whose guest side went wrong.
		if doneCases == total || doneCases%max(1, total/20) == 0 || r.Error != "" || strings.Contains(string(r.Data), `"err":`) {
			fmt.Fprintf(o.Log, "  [%d/%d] %s\n", doneCases, total, r.Name)
		}
	}
	machines, runs, cachedN, err := prepareVMs(o, plan, vmtest.BootImage(art.BzImage, art.Vmlinux), agent, filepath.Join(cache, "initramfs"), progress)
	if err != nil {
		return rep, err
	}
	if len(machines) == 1 {
		st.done("initramfs", map[bool]string{true: "cached", false: "packed"}[cachedN == 1])
	} else {
		st.done("initramfs", fmt.Sprintf("%d VMs, %d cached", len(machines), cachedN))
	}
	outs := runVMs(ctx, machines, runs)
	records, events, vmErr := mergeOutcomes(rep, outs)
	var boot time.Duration
	for _, vm := range rep.VMs {
		boot = max(boot, vm.Boot)
	}
	if boot > 0 {
		st.r.Stages = append(st.r.Stages, Stage{Name: "boot", Duration: boot})
		note := "to agent ready"
		if len(outs) > 1 {
			note += fmt.Sprintf(" (slowest of %d VMs)", len(outs))
		}
		fmt.Fprintf(o.Log, "stage %-9s %7.1fs  %s\n", "boot", boot.Seconds(), note)
	}
	// The cases stage is the wall time of the slowest VM after its boot.
	var caseTime time.Duration
	for _, vm := range rep.VMs {
		caseTime = max(caseTime, vm.Wall-vm.Boot)
	}
	st.r.Stages = append(st.r.Stages, Stage{Name: "cases", Duration: caseTime, Note: fmt.Sprintf("%d cases", doneCases)})
	fmt.Fprintf(o.Log, "stage %-9s %7.1fs  %d cases\n", "cases", caseTime.Seconds(), doneCases)
	st.last = time.Now()

	// Judge what came back, even when a VM failed to run: results already
	// produced are reported before the error is.
	rep.Callouts = judge.NewCalloutCheck(events)
	// Judged to the end even after an interrupt: fsck of a disk the guest
	// unmounted must not die of the cancelled context and read as a
	// failure of the kernel.
	rep.Verdicts = judge.Judge(context.WithoutCancel(ctx), o.judgeConfig(), plan, records, rep.Callouts)
	rep.NotRun = notRun(plan, records, notRunCause(vmErr, rep.Crash))
	if vmErr != nil {
		markStopped(rep.Verdicts, vmErr.Error())
	}
	judge.ApplyFindings(version, rep.Verdicts)
	reproErr := writeRepros(o, rep.Verdicts)
	if !o.KeepImages {
		rep.ImagesRemoved = dropPassingImages(o.Out, rep.Verdicts)
	}
	st.done("check", summary(rep.Verdicts))
	reported = true
	if err := WriteReports(rep); err != nil {
		return rep, joinErrors(err, vmErr, reproErr)
	}
	return rep, joinErrors(vmErr, reproErr)
}

// kernel finds the kernel to boot, and the version of its source: the one
// given prebuilt (run --kernel), or the source and series built, or found
// in the cache. It fills the report's source and series fields and logs the
// source and build stages.
func (o Options) kernel(ctx context.Context, cache string, st *stager) (*kernel.Artifact, string, error) {
	rep := st.r
	if o.Prebuilt != nil {
		a := o.Prebuilt
		rep.SourceID, rep.SeriesID, rep.Patches = a.SourceID, a.SeriesID, a.Patches
		st.done("source", a.SourceID+" (prebuilt)")
		st.done("build", "prebuilt "+a.Key+", every file checked against its manifest")
		return a, o.PrebuiltVersion, nil
	}
	spec, err := o.KernelSpec(ctx, cache)
	if err != nil {
		return nil, "", err
	}
	rep.SourceID, rep.SeriesID, rep.Patches = spec.Source.ID, spec.Series.ID()[:16], len(spec.Series.Patches)
	st.done("source", spec.Source.ID)
	art, err := kernel.Build(ctx, cache, spec)
	if err != nil {
		return nil, "", err
	}
	note := "built " + art.Key
	if art.Cached {
		note = "cached " + art.Key
	}
	st.done("build", note)
	return art, spec.Source.Version, nil
}

func crashSummary(out *vmtest.Outcome) string {
	switch {
	case out.Hang != nil:
		return out.Hang.String() + "; see " + out.ConsoleLog
	case out.TimedOut:
		return "the VM hit its deadline and was killed (no done record)"
	case out.Ready.IsZero():
		return "the guest agent never reported (kernel did not boot, or no result port); see " + out.ConsoleLog
	}
	last := "?"
	for _, r := range out.Stream.Records {
		if r.Type == proto.Start {
			last = r.Name
		}
		if r.Type == proto.Log && r.Name == proto.AgentPanic {
			first, _, _ := strings.Cut(r.Error, "\n")
			return fmt.Sprintf("the guest agent panicked while running %s: %s (stack in %s and on the console)", last, first, out.Results)
		}
	}
	msg := fmt.Sprintf("the guest died without a done record while running %s", last)
	if con, err := os.ReadFile(out.ConsoleLog); err == nil {
		for _, r := range crash.Classify(con) {
			if r.Fatal {
				msg += fmt.Sprintf(": %s (console line %d)", r.Title, r.Line)
				if r.Case != "" && r.Case != last {
					msg += fmt.Sprintf(", logged during case %s by the console's markers", r.Case)
				}
				break
			}
		}
	}
	return msg + "; see " + out.ConsoleLog
}

func summary(vs []Verdict) string {
	n := map[Status]int{}
	for _, v := range vs {
		n[v.Status]++
	}
	var parts []string
	for _, s := range []Status{Pass, Fail, Error, Skip, Known} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], strings.ToLower(string(s))))
		}
	}
	return strings.Join(parts, ", ")
}

// largeFolios reports whether a kernel, by its .config, gives page-cache
// mappings large folios: mapping_set_folio_order_range
// (include/linux/pagemap.h:408-413) returns without setting an order unless
// CONFIG_TRANSPARENT_HUGEPAGE is on, so without THP xfs's request is
// ignored, mapping_max_folio_size is PAGE_SIZE and every folio is one page.
func largeFolios(configPath string) (bool, error) {
	b, err := os.ReadFile(configPath)
	if err != nil {
		return false, fmt.Errorf("kernel config: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "CONFIG_TRANSPARENT_HUGEPAGE=y" {
			return true, nil
		}
	}
	return false, nil
}
