package runner

import (
	"bufio"
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
func cachedKernel(b *testing.B) *kernel.Artifact {
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
	return a
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
// under TCG unless KVM works, with an empty plan: "pvh" is the image Run
// boots (the vmlinux through PVH), "bzImage" the fallback for a kernel
// without CONFIG_PVH. It runs second, so under a changing load compare
// the s-to-kernel columns rather than the totals: QEMU start to the
// kernel's own clock zero (the first console line's host time minus its
// printk time), the firmware, loading and decompression share.
func BenchmarkBootToReady(b *testing.B) {
	ctx := context.Background()
	a := cachedKernel(b)
	dir := b.TempDir()
	agent, err := BuildAgent(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	initrd, _, err := vmtest.Initramfs(dir, []vmtest.File{{Path: "init", Host: agent}, {Path: "plan.json", Data: []byte(`{"disks":[]}`)}})
	if err != nil {
		b.Fatal(err)
	}
	pvh := vmtest.BootImage(a.BzImage, a.Vmlinux)
	if pvh == a.BzImage {
		b.Fatalf("%s has no PVH note (CONFIG_PVH?)", a.Vmlinux)
	}
	for _, img := range []struct{ name, path string }{{"pvh", pvh}, {"bzImage", a.BzImage}} {
		b.Run(img.name, func(b *testing.B) {
			var ready, total, toKernel float64
			n, k := 0, 0
			for b.Loop() {
				out, err := vmtest.Run(ctx, vmtest.Machine{Kernel: img.path, Initramfs: initrd, Dir: filepath.Join(dir, "vm")})
				if err != nil {
					b.Fatal(err)
				}
				if out.Ready.IsZero() || !out.Stream.Complete {
					b.Fatalf("guest did not report; see %s", out.ConsoleLog)
				}
				ready += out.Ready.Sub(out.Started).Seconds()
				total += out.Ended.Sub(out.Started).Seconds()
				if t, ok := kernelZero(out.ConsoleLog); ok {
					toKernel += t
					k++
				}
				n++
			}
			b.ReportMetric(ready/float64(n), "s-to-ready")
			b.ReportMetric(total/float64(n), "s-round-trip")
			if k > 0 {
				b.ReportMetric(toKernel/float64(k), "s-to-kernel")
			}
		})
	}
}

// kernelZero reads the first kernel line of a timestamped console log,
// "[host] [printk] ...", and returns host minus printk time.
func kernelZero(consoleLog string) (float64, bool) {
	f, err := os.Open(consoleLog)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var host, guest float64
		if n, _ := fmt.Sscanf(sc.Text(), "[%f] [%f]", &host, &guest); n == 2 {
			return host - guest, true
		}
	}
	return 0, false
}
