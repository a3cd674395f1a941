package cases_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// plantedFailure is a pure stand-in for "the kernel and the model disagree":
// it fails iff some pwrite overlapping byte x comes after a truncate to below
// x. It is order-sensitive, like real disagreements.
func plantedFailure(x int64) func([]cases.Op) bool {
	return func(ops []cases.Op) bool {
		truncated := false
		for _, o := range ops {
			if o.Kind == cases.Truncate && o.Off < x {
				truncated = true
			}
			if truncated && o.Kind == cases.PWrite && o.Off <= x && x < o.Off+o.Len {
				return true
			}
		}
		return false
	}
}

// findFailingSeed returns a 200-op random sequence that trips the predicate.
func findFailingSeed(t *testing.T, fails func([]cases.Op) bool) []cases.Op {
	for seed := int64(1); seed < 500; seed++ {
		ops := cases.Random(seed, 200, 1024, "xfs")
		if fails(ops) {
			return ops
		}
	}
	t.Fatal("no seed below 500 trips the planted failure; the test needs another x")
	return nil
}

func TestMinimisePlantedDisagreement(t *testing.T) {
	for _, x := range []int64{5000, 100003, 300 << 10} {
		fails := plantedFailure(x)
		ops := findFailingSeed(t, fails)
		calls := 0
		counted := func(o []cases.Op) bool {
			calls++
			for _, op := range o {
				require.NoError(t, op.Validate(), "Minimise passed an invalid op to the predicate")
			}
			return fails(o)
		}
		min := cases.Minimise(ops, counted)
		assert.True(t, fails(min), "x=%d: the minimised sequence no longer fails: %v", x, min)
		// ddmin reaches the 1-minimal pair: a truncate then a pwrite.
		require.Len(t, min, 2, "x=%d: %v", x, min)
		assert.Equal(t, cases.Truncate, min[0].Kind)
		assert.Equal(t, cases.PWrite, min[1].Kind)
		// Op shrinking made the pwrite a single byte at x and the truncate 0.
		assert.Equal(t, int64(0), min[0].Off)
		assert.Equal(t, int64(1), min[1].Len, "x=%d: %v", x, min)
		assert.Equal(t, x, min[1].Off, "x=%d: %v", x, min)
		// Each predicate call may be a VM run: shrinking must bisect, not
		// step byte by byte (that took tens of thousands of calls).
		assert.LessOrEqual(t, calls, 400, "x=%d: too many predicate calls", x)
		t.Logf("x=%d: 200 ops -> %v in %d predicate calls", x, min, calls)
	}
}

// Minimise never returns something that passes, even when nothing can be
// removed.
func TestMinimiseKeepsAnIrreducibleSequence(t *testing.T) {
	ops := []cases.Op{{Kind: cases.Fsync}}
	got := cases.Minimise(ops, func(o []cases.Op) bool { return len(o) == 1 && o[0].Kind == cases.Fsync })
	assert.Equal(t, ops, got)
}

// O_DIRECT writes keep their alignment while shrinking.
func TestMinimiseKeepsDirectWritesAligned(t *testing.T) {
	ops := []cases.Op{
		{Kind: cases.Fsync},
		{Kind: cases.DirectWrite, Off: 12 * 4096, Len: 8 * 4096},
		{Kind: cases.Sync},
	}
	fails := func(o []cases.Op) bool {
		for _, op := range o {
			if op.Kind == cases.DirectWrite {
				require.Zero(t, op.Off%4096, "offset lost its alignment: %v", op)
				require.Zero(t, op.Len%4096, "length lost its alignment: %v", op)
				return true
			}
		}
		return false
	}
	got := cases.Minimise(ops, fails)
	require.Len(t, got, 1)
	assert.Equal(t, cases.Op{Kind: cases.DirectWrite, Off: 0, Len: 4096}, got[0])
}

// Writev shrinks to one segment and ShortCopy keeps copied < len.
func TestMinimiseShrinksWritevAndShortCopy(t *testing.T) {
	ops := []cases.Op{
		{Kind: cases.Writev, Off: 100, Len: 60, Segs: []int64{10, 20, 30}},
		{Kind: cases.ShortCopy, Off: 500, Len: 400, Copied: 300},
	}
	fails := func(o []cases.Op) bool {
		w, s := false, false
		for _, op := range o {
			w = w || op.Kind == cases.Writev
			s = s || op.Kind == cases.ShortCopy
		}
		return w && s
	}
	got := cases.Minimise(ops, fails)
	require.Len(t, got, 2)
	assert.Equal(t, cases.Op{Kind: cases.Writev, Off: 0, Len: 1, Segs: []int64{1}}, got[0])
	assert.Equal(t, cases.Op{Kind: cases.ShortCopy, Off: 0, Len: 1, Copied: 0}, got[1])
}

func BenchmarkMinimisePlanted(b *testing.B) {
	fails := plantedFailure(100003)
	var ops []cases.Op
	for seed := int64(1); ops == nil; seed++ {
		if o := cases.Random(seed, 200, 1024, "xfs"); fails(o) {
			ops = o
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cases.Minimise(ops, fails)
	}
}
