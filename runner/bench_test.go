package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/iomapct/iomapct/kernel"
	"github.com/iomapct/iomapct/vmtest"
)

// cachedKernel returns the default kernel, building it if the cache is
// cold (benchmarks only; the first call may take minutes).
func cachedKernel(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	cache, err := kernel.CacheDir()
	if err != nil {
		b.Fatal(err)
	}
	src, err := kernel.FromTarball(ctx, cache, kernel.DebianTarball)
	if err != nil {
		b.Fatal(err)
	}
	frags, err := kernel.DefaultFragments("", false)
	if err != nil {
		b.Fatal(err)
	}
	a, err := kernel.Build(ctx, cache, kernel.Spec{Source: src, Fragments: frags})
	if err != nil {
		b.Fatal(err)
	}
	return a.BzImage
}

// BenchmarkInitramfsWarm is what a run pays to prepare the guest once the Go
// build cache is warm: build the static agent and pack it with a fresh plan
// (a new plan each time, so the cpio cache never hides the packing).
func BenchmarkInitramfsWarm(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := BuildAgent(ctx, dir); err != nil { // warm the Go build cache
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		agent, err := BuildAgent(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		_, cached, err := vmtest.Initramfs(dir, []vmtest.File{
			{Path: "init", Host: agent},
			{Path: "plan.json", Data: []byte(fmt.Sprintf(`{"disks":[],"n":%d,"pid":%d}`, i, os.Getpid()))},
		})
		if err != nil || cached {
			b.Fatalf("initramfs: cached=%v err=%v", cached, err)
		}
	}
}

// BenchmarkBootToReady measures QEMU start to the agent's first record,
// under TCG unless KVM works, with an empty plan.
func BenchmarkBootToReady(b *testing.B) {
	ctx := context.Background()
	bz := cachedKernel(b)
	dir := b.TempDir()
	agent, err := BuildAgent(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	initrd, _, err := vmtest.Initramfs(dir, []vmtest.File{{Path: "init", Host: agent}, {Path: "plan.json", Data: []byte(`{"disks":[]}`)}})
	if err != nil {
		b.Fatal(err)
	}
	var ready, total float64
	n := 0
	for b.Loop() {
		out, err := vmtest.Run(ctx, vmtest.Machine{Kernel: bz, Initramfs: initrd, Dir: filepath.Join(dir, "vm")})
		if err != nil {
			b.Fatal(err)
		}
		if out.Ready.IsZero() || !out.Stream.Complete {
			b.Fatalf("guest did not report; see %s", out.ConsoleLog)
		}
		ready += out.Ready.Sub(out.Started).Seconds()
		total += out.Ended.Sub(out.Started).Seconds()
		n++
	}
	b.ReportMetric(ready/float64(n), "s-to-ready")
	b.ReportMetric(total/float64(n), "s-round-trip")
}
