package runner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

func planFor(t *testing.T, cs []cases.Case) *cases.Plan {
	t.Helper()
	plan, err := planCases(Options{Matrix: DefaultMatrix(), Cases: cs})
	require.NoError(t, err)
	return plan
}

// The default catalogue keeps its 64 MiB images (make test-kernel poisons
// and reads no more than before); --random 200 gets room for its files on
// every image, twice their bytes on xfs (it ran out of space on xfs-4k
// from random-xfs-186 on with 64 MiB).
func TestImagesSizedFromThePlan(t *testing.T) {
	for _, d := range planFor(t, cases.Catalogue).Disks {
		assert.Equal(t, int64(ImageSize), DiskImageSize(d), d.Name)
	}
	var seeds []int64
	for i := int64(1); i <= 200; i++ {
		seeds = append(seeds, i)
	}
	cs := append([]cases.Case(nil), cases.Catalogue...)
	for _, fs := range []string{"ext2", "ext4", "xfs", "gfs2"} {
		cs = append(cs, cases.RandomCases(fs, seeds, 40)...)
	}
	for _, d := range planFor(t, cs).Disks {
		var bytes int64
		for _, f := range d.Files {
			bytes += planFileBytes(f)
		}
		size := DiskImageSize(d)
		assert.Greater(t, size, int64(ImageSize), d.Name)
		assert.GreaterOrEqual(t, size, imageBase+bytes, d.Name)
		if d.FS == "xfs" {
			assert.GreaterOrEqual(t, size, imageBase+2*bytes, d.Name)
		}
		assert.Zero(t, size%imageRound, d.Name)
	}
}

// A file's reach is the largest size or allocated end its ops give it, per
// file of the case: appends add, truncates and collapses shrink (the peak
// stays), KEEP_SIZE allocations count past EOF, reads and punches add
// nothing; a race's ops reach as far as their last round's stride.
func TestPlanFileBytesFollowsTheSize(t *testing.T) {
	op := func(k cases.Kind, off, n int64) cases.Op { return cases.Op{Kind: k, Off: off, Len: n} }
	f := cases.FilePlan{Ops: []cases.Op{
		op(cases.PWrite, 0, 1000),
		{Kind: cases.Append, Len: 500},                             // 1500
		op(cases.Truncate, 100, 0),                                 // 100, peak 1500
		op(cases.Insert, 0, 4096),                                  // 4196, peak 4196
		op(cases.Collapse, 0, 4096),                                // 100
		op(cases.Read, 0, 100000),                                  // nothing
		op(cases.PunchHole, 0, 100000),                             // nothing
		{Kind: cases.Fallocate, Off: 0, Len: 9000, KeepSize: true}, // peak 9000, size 100
		{Kind: cases.PWritev2, Len: 10, RWF: "append"},             // 110
		{Kind: cases.PWrite, File: 1, Off: 200, Len: 300},          // the second file: 500
	}}
	assert.Equal(t, int64(9000+500), planFileBytes(f))
	race := cases.FilePlan{Ops: []cases.Op{op(cases.PWrite, 0, 10)}, Race: &cases.Race{Rounds: 4, Stride: 1000,
		Threads: []cases.RaceThread{{Ops: []cases.Op{op(cases.PWrite, 0, 100)}}}}}
	assert.Equal(t, int64(3*1000+100), planFileBytes(race))
}
