package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// planOf makes a plan whose disk i has files[i] files of ops[i] ops each.
func planOf(names []string, files, ops []int) *cases.Plan {
	p := &cases.Plan{}
	for i, n := range names {
		d := cases.DiskPlan{Name: n, FS: strings.Split(n, "-")[0], Device: "/dev/vdz"}
		for f := 0; f < files[i]; f++ {
			d.Files = append(d.Files, cases.FilePlan{Case: "c", Ops: make([]cases.Op, ops[i])})
		}
		p.Disks = append(p.Disks, d)
	}
	return p
}

func TestSplitPlanBalancesDeterministically(t *testing.T) {
	names := []string{"ext2-1k", "ext2-4k", "ext4-1k", "ext4-4k", "xfs-1k", "xfs-4k", "gfs2-1k", "gfs2-4k"}
	p := planOf(names, []int{10, 10, 10, 10, 10, 10, 10, 10}, []int{1, 1, 1, 1, 1, 1, 30, 30})
	// gfs2's two heavy disks go to different VMs; the light ones fill up
	// the other; each VM keeps plan order.
	assert.Equal(t, [][]int{{0, 2, 4, 6}, {1, 3, 5, 7}}, splitPlan(p, 2))
	// Deterministic (no map order leaks in) and the plan is left alone.
	before, err := json.Marshal(p)
	require.NoError(t, err)
	for range 50 {
		require.Equal(t, [][]int{{0, 2, 4, 6}, {1, 3, 5, 7}}, splitPlan(p, 2))
	}
	after, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after))
	assert.Equal(t, [][]int{{0, 1, 2, 3, 4, 5, 6, 7}}, splitPlan(p, 1))
	assert.Equal(t, [][]int{{0, 1, 2, 3, 4, 5, 6, 7}}, splitPlan(p, 0))
	// Never more VMs than disks, never an empty VM.
	small := planOf(names[:2], []int{1, 1}, []int{1, 1})
	assert.Equal(t, [][]int{{0}, {1}}, splitPlan(small, 4))

	// Equal op counts: the per-filesystem weights decide, and with two VMs
	// each gets one image of every filesystem (gfs2 costs the most).
	even := planOf(names, []int{10, 10, 10, 10, 10, 10, 10, 10}, []int{5, 5, 5, 5, 5, 5, 5, 5})
	assert.Equal(t, [][]int{{0, 2, 4, 6}, {1, 3, 5, 7}}, splitPlan(even, 2))
	// Three VMs: each gfs2 image (the heaviest) starts a VM of its own.
	assert.Equal(t, [][]int{{1, 4, 6}, {5, 7}, {0, 2, 3}}, splitPlan(even, 3))

	three := splitPlan(p, 3)
	seen := map[int]bool{}
	for _, g := range three {
		require.NotEmpty(t, g)
		for _, d := range g {
			assert.False(t, seen[d], "disk %d twice", d)
			seen[d] = true
		}
	}
	assert.Len(t, seen, len(names))
}

func TestPrepareVMsGivesEachVMItsDisksAndDirectory(t *testing.T) {
	agent := filepath.Join(t.TempDir(), "agent")
	require.NoError(t, os.WriteFile(agent, []byte("#!/bin/true\n"), 0o755))
	out := t.TempDir()
	names := []string{"ext4-1k", "xfs-1k", "gfs2-1k"}
	p := planOf(names, []int{1, 1, 1}, []int{5, 1, 1})
	o := Options{Out: out, VMs: 2}
	ms, runs, _, err := prepareVMs(o, p, "bzImage", agent, t.TempDir(), nil)
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Equal(t, []string{"ext4-1k"}, runs[0].Disks)
	assert.Equal(t, []string{"xfs-1k", "gfs2-1k"}, runs[1].Disks)
	assert.Equal(t, filepath.Join(out, "vm-0"), ms[0].Dir)
	assert.Equal(t, filepath.Join(out, "vm-1"), ms[1].Dir)
	assert.Equal(t, []string{imagePath(out, "xfs-1k"), imagePath(out, "gfs2-1k")}, ms[1].Disks)
	assert.NotEqual(t, ms[0].Initramfs, ms[1].Initramfs, "each VM has its own plan")

	// One VM keeps the run directory itself, as before.
	o.VMs = 1
	ms, runs, _, err = prepareVMs(o, p, "bzImage", agent, t.TempDir(), nil)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, out, ms[0].Dir)
	assert.Equal(t, names, runs[0].Disks)
}

func TestMergeOutcomesAttributesACrashToItsVM(t *testing.T) {
	rec := func(typ, name string, data any) proto.Record {
		r := proto.Record{Type: typ, Name: name}
		if data != nil {
			r.Data, _ = json.Marshal(data)
		}
		return r
	}
	ok := &vmtest.Outcome{ConsoleLog: "/r/vm-0/console.log", Cmdline: "qemu 0", Stream: &proto.Stream{Complete: true, Records: []proto.Record{
		rec(proto.Ready, "", []string{"iomap_write_begin", "iomap_write_end"}),
		rec(proto.Result, "ext4-1k/c", cases.Result{Disk: "ext4-1k", Case: "c"}),
		rec(proto.Done, "", nil),
	}}}
	died := &vmtest.Outcome{ConsoleLog: "/r/vm-1/console.log", Cmdline: "qemu 1", Stream: &proto.Stream{Records: []proto.Record{
		rec(proto.Ready, "", []string{"iomap_write_begin", "iomap_write_end"}),
		rec(proto.Result, "xfs-1k/c", cases.Result{Disk: "xfs-1k", Case: "c"}),
	}}}
	outs := []vmOutcome{
		{run: VMRun{Index: 0, Disks: []string{"ext4-1k"}, Console: ok.ConsoleLog, Repro: ok.Cmdline}, out: ok},
		{run: VMRun{Index: 1, Disks: []string{"xfs-1k", "gfs2-1k"}, Console: died.ConsoleLog, Repro: died.Cmdline, Crash: "the guest died"}, out: died},
	}
	rep := &Report{}
	records, events, err := mergeOutcomes(rep, outs)
	require.NoError(t, err)
	assert.Len(t, records, 5)
	assert.Equal(t, []string{"iomap_write_begin", "iomap_write_end"}, events)
	assert.Equal(t, "VM 1 (xfs-1k, gfs2-1k): the guest died", rep.Crash)
	assert.Equal(t, "/r/vm-0/console.log, /r/vm-1/console.log", rep.Console)
	require.Len(t, rep.VMs, 2)
	assert.Empty(t, rep.VMs[0].Crash)

	// One VM: the crash is the run's, without a VM label.
	rep = &Report{}
	_, _, err = mergeOutcomes(rep, outs[1:])
	require.NoError(t, err)
	assert.Equal(t, "the guest died", rep.Crash)
}

func TestLargeFoliosFollowTheKernelConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	on, err := largeFolios(write("on", "CONFIG_XFS_FS=y\nCONFIG_TRANSPARENT_HUGEPAGE=y\n"))
	require.NoError(t, err)
	assert.True(t, on)
	off, err := largeFolios(write("off", "CONFIG_XFS_FS=y\n# CONFIG_TRANSPARENT_HUGEPAGE is not set\nCONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE=y\n"))
	require.NoError(t, err)
	assert.False(t, off)
	_, err = largeFolios(filepath.Join(dir, "missing"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "missing"))

	xfs := Target{FS: "xfs", BlockSize: 4096}
	assert.Equal(t, int64(2<<20), geometry(xfs, true).MaxFolio)
	assert.Equal(t, int64(4096), geometry(xfs, false).MaxFolio)
	assert.Equal(t, int64(4096), geometry(Target{FS: "gfs2", BlockSize: 4096}, true).MaxFolio, "only xfs asks for large folios")
}

// A QEMU that crashes of its own fault before the agent said a word is
// booted again; one that crashed later, was killed by someone, or whose
// run was interrupted is not.
func TestQEMUFaultBeforeTheAgentIsRetried(t *testing.T) {
	ctx := context.Background()
	early := &vmtest.Outcome{}
	late := &vmtest.Outcome{Ready: time.Now()}
	segv := &vmtest.KilledError{Signal: syscall.SIGSEGV.String()}
	kill := &vmtest.KilledError{Signal: syscall.SIGKILL.String()}
	sig, ok := qemuFault(ctx, early, segv)
	assert.True(t, ok)
	assert.Equal(t, "segmentation fault", sig)
	_, ok = qemuFault(ctx, late, segv)
	assert.False(t, ok, "cases may have run")
	_, ok = qemuFault(ctx, early, kill)
	assert.False(t, ok, "someone killed it")
	_, ok = qemuFault(ctx, early, fmt.Errorf("boot: %w", segv))
	assert.True(t, ok, "wrapped")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, ok = qemuFault(cctx, early, segv)
	assert.False(t, ok, "interrupted")
	assert.Contains(t, segv.Error(), "QEMU crashed (segmentation fault)")
	assert.Contains(t, kill.Error(), "QEMU was killed from outside (killed)")
}
