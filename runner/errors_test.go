package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/vmtest"
	"github.com/iomapct/iomapct/vmtest/proto"
)

// Two VMs that both fail to run: the error names both (it used to keep
// only the first), on one line, and errors.Is finds each.
func TestMergeOutcomesReportsEveryVMsError(t *testing.T) {
	errQEMU := errors.New("qemu: could not open disk image")
	out := func(dir string) *vmtest.Outcome {
		return &vmtest.Outcome{ConsoleLog: dir + "/console.log", Stream: &proto.Stream{}}
	}
	outs := []vmOutcome{
		{run: VMRun{Index: 0, Disks: []string{"ext4-1k"}}, out: out("/r/vm-0"), err: context.Canceled},
		{run: VMRun{Index: 1, Disks: []string{"xfs-1k", "gfs2-1k"}}, out: out("/r/vm-1"), err: errQEMU},
	}
	_, _, err := mergeOutcomes(&Report{}, outs)
	require.Error(t, err)
	assert.Equal(t, "VM 0 (ext4-1k): context canceled; VM 1 (xfs-1k, gfs2-1k): qemu: could not open disk image", err.Error())
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, errQEMU)
	assert.Equal(t, "VM 0 (ext4-1k): context canceled; VM 1 (xfs-1k, gfs2-1k): qemu: could not open disk image", notRunCause(err, ""))

	_, _, err = mergeOutcomes(&Report{}, outs[1:])
	assert.Equal(t, "VM 1 (xfs-1k, gfs2-1k): qemu: could not open disk image", err.Error(), "one error reads as itself")
	outs[0].err, outs[1].err = nil, nil
	_, _, err = mergeOutcomes(&Report{}, outs)
	assert.NoError(t, err)
}

// Two repro files that cannot be written: the error names both, and the
// other failing cases still get theirs.
func TestWriteReprosReportsEveryFailedWrite(t *testing.T) {
	o := Options{Out: t.TempDir(), Revision: "v1"}
	vs := []Verdict{
		{Disk: "xfs-4k", FS: "xfs", BlockSize: 4096, Case: "a", Status: Fail, Ops: []string{"pwrite 0x0 0x10"}},
		{Disk: "xfs-4k", FS: "xfs", BlockSize: 4096, Case: "b", Status: Error, Ops: []string{"pwrite 0x0 0x20"}},
		{Disk: "xfs-4k", FS: "xfs", BlockSize: 4096, Case: "c", Status: Fail, Ops: []string{"pwrite 0x0 0x30"}},
		{Disk: "xfs-4k", FS: "xfs", BlockSize: 4096, Case: "d", Status: Pass, Ops: []string{"pwrite 0x0 0x40"}},
	}
	// A directory where a repro file goes makes its write fail.
	for _, c := range []string{"a", "c"} {
		require.NoError(t, os.MkdirAll(filepath.Join(o.Out, "repro", "xfs-4k-"+c+".ops"), 0o755))
	}
	err := writeRepros(o, vs)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "repro file of xfs-4k/a: ")
	assert.Contains(t, err.Error(), "; repro file of xfs-4k/c: ")
	assert.Equal(t, 1, strings.Count(err.Error(), "; "), "two errors, one line: %s", err)
	assert.Empty(t, vs[0].Repro)
	assert.Empty(t, vs[2].Repro)
	assert.Contains(t, vs[1].Repro, "xfs-4k-b.ops")
	b, err := os.ReadFile(filepath.Join(o.Out, "repro", "xfs-4k-b.ops"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "pwrite 0x0 0x20")
	assert.Empty(t, vs[3].Repro, "a passing case gets none")

	vs[0].Status, vs[2].Status = Pass, Pass
	assert.NoError(t, writeRepros(o, vs), "no failed write, no error")
}

func TestJoinErrorsDropsNils(t *testing.T) {
	assert.NoError(t, joinErrors(nil, nil))
	a := errors.New("a")
	assert.Equal(t, "a", joinErrors(nil, a).Error())
	// A joined error joined again is flattened, not nested.
	assert.Equal(t, "a; b; c", joinErrors(joinErrors(a, errors.New("b")), nil, errors.New("c")).Error())
}
