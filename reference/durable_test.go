package reference

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

var crashGeom = Geometry{FS: "ext4", BlockSize: 4096, PageSize: 4096}

var crashFsync = cases.Op{Kind: cases.Fsync}

// Rule 1: after fsync returned, its bytes and size are the only ones
// allowed; a file that lost them fails as durable, naming the fsync.
func TestCrashOracleFsyncedRangeMustReadBack(t *testing.T) {
	ops := []cases.Op{pw(0, 100), crashFsync, pw(50, 100)}
	o, err := NewCrashOracle(crashGeom, ops)
	require.NoError(t, err)
	good := cases.Data(0, 0, 100)
	assert.Empty(t, o.Judge(2, 100, good, false))

	lost := make([]byte, 100)
	ms := o.Judge(2, 100, lost, false)
	require.NotEmpty(t, ms)
	assert.Equal(t, "content", ms[0].Check)
	assert.True(t, ms[0].Durable)
	assert.Equal(t, 1, ms[0].DurableBy)
	assert.Equal(t, int64(0), ms[0].Off)
	assert.Contains(t, ms[0].Msg, "made durable by op 1 (fsync)")

	ms = o.Judge(2, 0, nil, false)
	require.Len(t, ms, 1)
	assert.Equal(t, "size", ms[0].Check)
	assert.Contains(t, ms[0].Msg, "allowed [100, 150]")
}

// Rule 2: before any sync, each byte is old or new; the op in flight
// counts; poison never does; ext2 (staleAllowed) tolerates anything there.
func TestCrashOracleOldOrNewBeforeSync(t *testing.T) {
	ops := []cases.Op{pw(0, 100), pw(0, 100), crashFsync}
	o, err := NewCrashOracle(crashGeom, ops)
	require.NoError(t, err)
	// Nothing returned: empty, op 0's bytes, or zeros are all fine.
	assert.Empty(t, o.Judge(0, 0, nil, false))
	assert.Empty(t, o.Judge(0, 100, cases.Data(0, 0, 100), false))
	assert.Empty(t, o.Judge(0, 100, make([]byte, 100), false))
	// Op 1's bytes while only op 0 may have been in flight: not allowed.
	ms := o.Judge(0, 100, cases.Data(1, 0, 100), false)
	require.NotEmpty(t, ms)
	assert.False(t, ms[0].Durable)
	// Returned 1: op 1 was in flight, a mix of op 0 and op 1 is fine.
	mix := append(cases.Data(0, 0, 50), cases.Data(1, 50, 50)...)
	assert.Empty(t, o.Judge(1, 100, mix, false))
	poison := []byte("POISON!\nPOISON!\n")
	assert.NotEmpty(t, o.Judge(1, 16, poison, false))
	assert.Empty(t, o.Judge(1, 16, poison, true), "ext2: never-synced bytes may be stale")
	// ...but not once synced.
	assert.NotEmpty(t, o.Judge(3, 100, append(poison, make([]byte, 84)...), true))
}

// Rule 3: a truncate after the fsync may shrink the file below the
// durable size; the size may not leave the range the states span.
func TestCrashOracleSizeRange(t *testing.T) {
	ops := []cases.Op{pw(0, 8192), crashFsync, {Kind: cases.Truncate, Off: 10}, pw(20000, 10)}
	o, err := NewCrashOracle(crashGeom, ops)
	require.NoError(t, err)
	assert.Empty(t, o.Judge(3, 10, cases.Data(0, 0, 10), false))
	ms := o.Judge(2, 30000, make([]byte, 30000), false)
	require.NotEmpty(t, ms)
	assert.Equal(t, "size", ms[0].Check)
}

// An op kind listed in RangeDurable (O_SYNC/O_DSYNC writes, added by the
// ops branch) pins its own range only.
func TestCrashOracleRangeDurableOp(t *testing.T) {
	const k cases.Kind = "test-dsync-write"
	RangeDurable[k] = true
	defer delete(RangeDurable, k)
	ops := []cases.Op{pw(0, 100), {Kind: k, Off: 200, Len: 100}, pw(250, 10)}
	o := &CrashOracle{Ops: ops}
	m, err := New(crashGeom)
	require.NoError(t, err)
	o.States = []CrashState{{}}
	for i, op := range ops {
		if op.Kind == k {
			op = pw(op.Off, op.Len) // the model knows the write, not the flag
		}
		require.NoError(t, m.Apply(i, op))
		o.States = append(o.States, CrashState{Size: m.Size(), Content: m.Content()})
	}
	got := make([]byte, 300)
	copy(got[200:], cases.Data(1, 200, 100))
	assert.Empty(t, o.Judge(2, 300, got, false), "op 0's bytes were never synced: zeros are fine")
	got[210] = 0
	ms := o.Judge(2, 300, got, false)
	require.NotEmpty(t, ms)
	assert.True(t, ms[0].Durable)
	assert.Equal(t, 1, ms[0].DurableBy)
}

// An O_DSYNC pwrite (Op.Sync, from the ops branch) pins its range; an
// fsync of another case file pins nothing of file 0.
func TestCrashOracleSyncWritesAndOtherFiles(t *testing.T) {
	ops := []cases.Op{pw(0, 100), {Kind: cases.PWrite, Off: 200, Len: 100, Sync: "odsync"}, {Kind: cases.Fsync, File: 1}}
	o, err := NewCrashOracle(crashGeom, ops)
	require.NoError(t, err)
	got := make([]byte, 300)
	copy(got[200:], cases.Data(1, 200, 100))
	assert.Empty(t, o.Judge(3, 300, got, false), "op 0 never synced for file 0: zeros allowed")
	got[250] = 0
	ms := o.Judge(3, 300, got, false)
	require.NotEmpty(t, ms)
	assert.True(t, ms[0].Durable)
	assert.Equal(t, 1, ms[0].DurableBy)
}
