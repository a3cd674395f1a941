package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// DefaultVMs is how many VMs a run uses unless told otherwise. Two: on
// this project's two-core machine the full matrix with --random 50 took a
// median 26.5 s in two VMs against 37.0 s in one over five alternated
// pairs (load 2.6-5.3), two being faster in every pair (BENCHMARKS.md,
// "Parallel VMs").
const DefaultVMs = 2

// VMRun is one VM of a run: the disks it ran and where its logs are.
type VMRun struct {
	Index   int      `json:"index"`
	Disks   []string `json:"disks"`
	Console string   `json:"console_log"`
	Results string   `json:"results"`
	// Repro is the QEMU command line that reruns this VM alone.
	Repro string `json:"repro,omitempty"`
	// Crash is set when this VM's guest did not finish.
	Crash string        `json:"crash,omitempty"`
	Boot  time.Duration `json:"boot_ns,omitempty"`
	// Retried says why the VM was booted a second time (QEMU's own fault
	// before the agent reported), if it was.
	Retried string        `json:"retried,omitempty"`
	Wall    time.Duration `json:"wall_ns,omitempty"`
}

// fsCost weighs a filesystem's time per op in the guest, relative to ext2
// (percent). Measured from the agent's record timestamps of one full-matrix
// run (--random 50, one VM, TCG): per disk, from its first case to its
// unmount, with nearly equal op counts on every disk: ext2 1.4 s, xfs
// 1.7 s, ext4 2.0 s, gfs2 3.4 s (1k and 4k averaged).
// The weights are the registry's Entry.Cost.
var fsCost = func() map[string]int {
	m := map[string]int{}
	for _, e := range filesystems.All() {
		m[e.Name] = e.Cost
	}
	return m
}()

// splitPlan deals the plan's disks out to n VMs: the most expensive disk
// first, each to the VM with the least work so far (ties to the lower VM),
// so the split depends only on the plan. A disk's cost is its op count plus
// a few ops' worth per file (create, fstat, trace read, report), weighed by
// fsCost. Each VM keeps its disks in plan order; no VM is left empty.
func splitPlan(plan *cases.Plan, n int) [][]int {
	n = max(1, min(n, len(plan.Disks)))
	cost := make([]int, len(plan.Disks))
	order := make([]int, len(plan.Disks))
	for i, d := range plan.Disks {
		order[i] = i
		for _, f := range d.Files {
			cost[i] += len(f.Ops) + 4
		}
		w, ok := fsCost[d.FS]
		if !ok {
			w = 100
		}
		cost[i] *= w
	}
	sort.SliceStable(order, func(a, b int) bool { return cost[order[a]] > cost[order[b]] })
	groups := make([][]int, n)
	load := make([]int, n)
	for _, d := range order {
		best := 0
		for v := 1; v < n; v++ {
			if load[v] < load[best] {
				best = v
			}
		}
		groups[best] = append(groups[best], d)
		load[best] += cost[d]
	}
	for _, g := range groups {
		slices.Sort(g)
	}
	return groups
}

// vmOutcome is what one VM left behind.
type vmOutcome struct {
	run VMRun
	out *vmtest.Outcome
	err error
}

// prepareVMs makes one machine per group of disks. Each gets its own plan
// (its disks renumbered vda, vdb, ...), its own initramfs, and, when there
// is more than one, its own directory vm-N under the run directory for
// console.log and results.jsonl. It returns the machines and how many
// initramfs archives came from the cache.
func prepareVMs(o Options, plan *cases.Plan, kernelImage, agent, initramfsCache string, onRecord func(proto.Record)) ([]vmtest.Machine, []VMRun, int, error) {
	groups := splitPlan(plan, o.VMs)
	machines := make([]vmtest.Machine, len(groups))
	runs := make([]VMRun, len(groups))
	cachedN := 0
	for g, disks := range groups {
		sub := &cases.Plan{}
		var images, names []string
		for j, i := range disks {
			d := plan.Disks[i]
			d.Device = fmt.Sprintf("/dev/vd%c", 'a'+j)
			sub.Disks = append(sub.Disks, d)
			images = append(images, imagePath(o.Out, d.Name))
			names = append(names, d.Name)
		}
		planJSON, _ := json.MarshalIndent(sub, "", " ")
		initrd, cached, err := vmtest.Initramfs(initramfsCache, []vmtest.File{
			{Path: "init", Host: agent},
			{Path: "plan.json", Data: planJSON},
		})
		if err != nil {
			return nil, nil, 0, fmt.Errorf("initramfs of VM %d (%s): %w", g, strings.Join(names, ", "), err)
		}
		if cached {
			cachedN++
		}
		dir := o.Out
		if len(groups) > 1 {
			dir = filepath.Join(o.Out, fmt.Sprintf("vm-%d", g))
		}
		runs[g] = VMRun{Index: g, Disks: names}
		machines[g] = vmtest.Machine{Kernel: kernelImage, Initramfs: initrd, Disks: images, Dir: dir,
			Timeout: o.VMTimeout, CaseTimeout: o.CaseTimeout, OnRecord: onRecord, CPUs: planCPUs(sub)}
	}
	return machines, runs, cachedN, nil
}

// runVMs boots every machine at once and waits for all of them.
func runVMs(ctx context.Context, machines []vmtest.Machine, runs []VMRun) []vmOutcome {
	outs := make([]vmOutcome, len(machines))
	var wg sync.WaitGroup
	for g := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := vmtest.Run(ctx, machines[g])
			retried := ""
			if sig, ok := qemuFault(ctx, out, err); ok {
				// QEMU itself died of a fault before the guest agent said
				// a word: no case had run and no disk was mounted, so the
				// VM is booted once more rather than a kernel blamed
				// (QEMU 7.2's TCG crashed so once in this project's
				// history, early in a 2-vCPU boot). The first console is
				// kept beside the new one.
				os.Rename(out.ConsoleLog, out.ConsoleLog+".qemu-fault")
				retried = fmt.Sprintf("QEMU died of %s before the guest agent reported; booted again (console of the first boot: %s.qemu-fault)", sig, out.ConsoleLog)
				out, err = vmtest.Run(ctx, machines[g])
			}
			r := &outs[g]
			r.run, r.out, r.err = runs[g], out, err
			r.run.Retried = retried
			if out != nil {
				r.run.Console, r.run.Results, r.run.Repro = out.ConsoleLog, out.Results, out.Cmdline
				r.run.Wall = out.Ended.Sub(out.Started)
				if !out.Ready.IsZero() {
					r.run.Boot = out.Ready.Sub(out.Started)
				}
				if err == nil && !out.Stream.Complete {
					r.run.Crash = crashSummary(out)
				}
			}
		}()
	}
	wg.Wait()
	return outs
}

// qemuFault reports whether a VM ended because QEMU itself died of a
// fault signal before the guest agent reported, and which signal.
func qemuFault(ctx context.Context, out *vmtest.Outcome, err error) (string, bool) {
	var ke *vmtest.KilledError
	if ctx.Err() != nil || out == nil || !out.Ready.IsZero() || !errors.As(err, &ke) || !ke.Fault() {
		return "", false
	}
	return ke.Signal, true
}

// mergeOutcomes gathers the records of every VM and the callout events the
// kernel exports (from the first VM whose agent reported them), and sets
// the report's crash, console and repro fields: a crash names the VM and
// its disks when there is more than one. The error holds every VM's that
// failed to run, each naming its VM.
func mergeOutcomes(rep *Report, outs []vmOutcome) ([]proto.Record, []string, error) {
	var records []proto.Record
	var events []string
	gotEvents := false
	var consoles, repros, crashes []string
	var errs *multierror.Error
	for _, vo := range outs {
		rep.VMs = append(rep.VMs, vo.run)
		if vo.err != nil {
			errs = multierror.Append(errs, fmt.Errorf("VM %d (%s): %w", vo.run.Index, strings.Join(vo.run.Disks, ", "), vo.err))
		}
		if vo.out == nil {
			continue
		}
		consoles = append(consoles, vo.run.Console)
		repros = append(repros, vo.run.Repro)
		if vo.run.Crash != "" {
			c := vo.run.Crash
			if len(outs) > 1 {
				c = fmt.Sprintf("VM %d (%s): %s", vo.run.Index, strings.Join(vo.run.Disks, ", "), c)
			}
			crashes = append(crashes, c)
		}
		for _, r := range vo.out.Stream.Records {
			if r.Type == proto.Ready && !gotEvents {
				// The ready record lists the trace events the guest
				// could enable (null: none).
				if len(r.Data) > 0 && json.Unmarshal(r.Data, &events) == nil {
					gotEvents = true
				}
			}
			records = append(records, r)
		}
	}
	rep.Console = strings.Join(consoles, ", ")
	rep.Repro = strings.Join(repros, "\n  ")
	rep.Crash = strings.Join(crashes, "; ")
	return records, events, oneLine(errs)
}
