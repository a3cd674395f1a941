package crash

import (
	"bytes"
	"strings"
	"testing"
)

var kinds = map[string]bool{
	KindPanic: true, KindOops: true, KindBug: true, KindWarning: true, KindLockdep: true, KindHungTask: true,
	KindRCUStall: true, KindSoftLockup: true, KindGPF: true, KindUBSAN: true, KindKASAN: true,
}

// FuzzClassify checks the invariants any console, however mangled, keeps:
// no panic, known kinds, one-line titles, lines inside the log, bounded
// excerpts that start with their header.
func FuzzClassify(f *testing.F) {
	for _, s := range syntheticReports {
		f.Add(consoleLog(inCase3(s.report...)...))
	}
	f.Add([]byte("Oops: \nBUG: \nWARNING: \n[ 1.5] iomapct: case a start\nKernel panic - not syncing"))
	f.Fuzz(func(t *testing.T, console []byte) {
		n := len(splitLines(console))
		for _, r := range Classify(console) {
			if !kinds[r.Kind] {
				t.Fatalf("unknown kind %q", r.Kind)
			}
			if r.Title == "" || strings.ContainsAny(r.Title, "\n\r") {
				t.Fatalf("title %q is not one non-empty line", r.Title)
			}
			if r.Line < 1 || r.Line > n {
				t.Fatalf("line %d outside the log's %d lines", r.Line, n)
			}
			if len(r.Excerpt) < 1 || len(r.Excerpt) > MaxExcerpt {
				t.Fatalf("excerpt of %d lines", len(r.Excerpt))
			}
			if p, _ := match(r.Excerpt[0]); p == nil || p.kind != r.Kind {
				t.Fatalf("excerpt starts with %q, not a %s header", r.Excerpt[0], r.Kind)
			}
		}
		Attribute(console)
	})
}

// benchLog is a 1 MiB console: a clean boot and case markers repeated,
// with every synthetic report once, the common shape of a long run.
func benchLog() []byte {
	var b bytes.Buffer
	clean := consoleLog(
		"EXT4-fs (vda): mounted filesystem 0e1f6b4c r/w without journal. Quota mode: none.",
		"iomapct: case ext4/case1 start",
		"XFS (vdb): Mounting V5 Filesystem 5c6e0ad4-5b53-4b1a-9d9f-8c3b2a1e0f00",
		"XFS (vdb): Ending clean mount",
		"iomapct: case ext4/case1 end",
		"rcu: Hierarchical RCU implementation.",
	)
	for _, s := range syntheticReports {
		b.Write(consoleLog(s.report...))
	}
	for b.Len() < 1<<20 {
		b.Write(clean)
	}
	return b.Bytes()
}

func BenchmarkClassify(b *testing.B) {
	log := benchLog()
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		if len(Classify(log)) != len(syntheticReports) {
			b.Fatal("wrong report count")
		}
	}
}

func BenchmarkAttribute(b *testing.B) {
	log := benchLog()
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		Attribute(log)
	}
}
