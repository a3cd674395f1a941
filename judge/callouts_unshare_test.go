package judge

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/reference"
)

// unshareCase: a clone, a copy-on-write into block 2 of the clone, then an
// unshare of blocks 1-3 (xfs-1k, one-page folios): the model unshares
// blocks 1 and 3; the kernel (v1, unshare-partial) made one step over all
// three, block 2 being in the COW fork.
const unshareCase = `pwrite 0x0 0x1800
clone f=1 0 0x0 0x0 0x1800
remount
pwrite f=1 0x801 0x1
unshare f=1 0x401 0xc00 keep_size
`

func unshareSet(t *testing.T) (*reference.Set, []cases.Op) {
	ops, err := cases.ReadSequence(strings.NewReader(unshareCase))
	require.NoError(t, err)
	s, err := reference.RunSet(Geometry(Target{FS: "xfs", BlockSize: 1024}, false), ops)
	require.NoError(t, err)
	return s, ops
}

func unshareStep(pos, n int64) step {
	return step{pos: pos, beginLen: n, len: n, copied: n, written: n, typ: "DELALLOC", flags: "SHARED", op: "WRITE|UNSHARE"}
}

func TestUnshareStepsMayCoverCOWForkBlocksButNotMissSharedOnes(t *testing.T) {
	s, ops := unshareSet(t)
	m := s.File(1)
	check := func(steps ...step) Verdict {
		v := Verdict{Status: Pass}
		_, un, err := splitUnshare(traceOf(steps...))
		require.NoError(t, err)
		checkUnshare(&v, m, ops, 1, un)
		return v
	}
	// What the kernel did: one step over the three blocks.
	assert.Equal(t, Pass, check(unshareStep(0x401, 0xc00)).Status)
	// Exactly the model's steps.
	assert.Equal(t, Pass, check(unshareStep(0x401, 0x3ff), unshareStep(0xc00, 0x401)).Status)
	// A skipped shared block fails and says which bytes.
	v := check(unshareStep(0x401, 0x3ff))
	require.Equal(t, Fail, v.Status)
	assert.Contains(t, v.Failures[0].Msg, "the shared bytes [0xc00, 0x1000) were not unshared")
	// A step outside the op's range fails.
	v = check(unshareStep(0x0, 0x1001))
	require.Equal(t, Fail, v.Status)
	assert.Contains(t, v.Failures[0].Msg, "outside every unshare op")
	// A refused copy fails.
	bad := unshareStep(0x401, 0xc00)
	bad.written = 0
	assert.Equal(t, Fail, check(bad).Status)
}

// splitUnshare keeps the other events for the sequence comparison.
func TestSplitUnshareKeepsWrites(t *testing.T) {
	rest, un, err := splitUnshare(traceOf(straddleXFS[0], unshareStep(0x401, 0xc00), straddleXFS[1]))
	require.NoError(t, err)
	assert.Equal(t, traceOf(straddleXFS...), rest)
	require.Len(t, un, 1)
	assert.True(t, un[0].Unshare)
}

// An unshare step whose write_begin has no write_end (a folio put back
// without being dirtied) fails the check.
func TestUnshareBeginWithoutEndFails(t *testing.T) {
	s, ops := unshareSet(t)
	lines := traceOf(unshareStep(0x401, 0xc00))
	_, un, err := splitUnshare(lines[:1])
	require.NoError(t, err)
	v := Verdict{Status: Pass}
	checkUnshare(&v, s.File(1), ops, 1, un)
	require.Equal(t, Fail, v.Status)
	assert.Contains(t, v.Failures[0].Msg, "(no write_end)")
}
