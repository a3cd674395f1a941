package reference

import (
	"syscall"
	"testing"
	"time"

	"github.com/iomapct/iomapct/cases"
)

// BenchmarkSmallOps measures 16-byte pwrites scattered over a 64 KiB file
// with 1 KiB blocks, the shape of an fsx run. Callout recording is off in
// the "nocallouts" case and on (trimmed every 4096 ops) in "callouts".
func BenchmarkSmallOps(b *testing.B) {
	for _, g := range []Geometry{
		{FS: "gfs2", BlockSize: 1024, PageSize: 4096},
		{FS: "xfs", BlockSize: 1024, PageSize: 4096, MaxFolio: 64 << 10},
		{FS: "ext4", BlockSize: 1024, PageSize: 4096},
	} {
		for _, rec := range []bool{false, true} {
			name := g.FS + "/nocallouts"
			if rec {
				name = g.FS + "/callouts"
			}
			b.Run(name, func(b *testing.B) {
				m, err := New(g)
				if err != nil {
					b.Fatal(err)
				}
				m.RecordCallouts(rec)
				if err := m.Apply(0, cases.Op{Kind: cases.PWrite, Off: 0, Len: 64 << 10}); err != nil {
					b.Fatal(err)
				}
				var offs [1024]int64
				x := uint32(12345)
				for i := range offs {
					x = x*1664525 + 1013904223
					offs[i] = int64(x>>8) % (64<<10 - 16)
				}
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := m.Apply(i+1, cases.Op{Kind: cases.PWrite, Off: offs[i&1023], Len: 16}); err != nil {
						b.Fatal(err)
					}
					if rec && i&4095 == 4095 {
						m.callouts = m.callouts[:0]
					}
				}
				cpu := cpuTime() - cpu0
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mops/s")
				// The shared build machine is often overloaded (load
				// average 10+ on 2 cores), so wall time understates the
				// model; CPU time of this process shows its own cost.
				b.ReportMetric(float64(b.N)/cpu.Seconds()/1e6, "Mops/cpu-s")
			})
		}
	}
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
