package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

func opsCase(ops ...cases.Op) cases.Case {
	return cases.Case{Name: "c", Gen: func(int64) []cases.Op { return ops }}
}

// An op the model refuses is an error before anything is built or booted:
// Run returns at once, with no kernel and no VM.
func TestRunRejectsOutOfRangeOpsBeforeBooting(t *testing.T) {
	o := Options{Out: t.TempDir(), Matrix: []Target{{FS: "xfs", BlockSize: 4096}},
		Cases: []cases.Case{opsCase(cases.Op{Kind: cases.PWrite, Off: 1 << 40, Len: 0x10})}}
	rep, err := Run(context.Background(), o)
	assert.Nil(t, rep)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "case c on xfs-4k, op 0 (pwrite 0x10000000000 0x10)")
	assert.Contains(t, err.Error(), "past the model's limit")
}

// A missing checker (xfs_repair) is named before booting, not reported
// after the run as the kernel's failed fsck.
func TestRunNamesAMissingToolBeforeBooting(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"mkfs.xfs"} { // mkfs there, xfs_repair not
		p, err := exec.LookPath(tool)
		require.NoError(t, err, "make deps installs xfsprogs")
		require.NoError(t, os.Symlink(p, filepath.Join(bin, tool)))
	}
	t.Setenv("PATH", bin)
	o := Options{Out: t.TempDir(), Matrix: []Target{{FS: "xfs", BlockSize: 4096}},
		Cases: []cases.Case{opsCase(cases.Op{Kind: cases.PWrite, Off: 0, Len: 0x10})}}
	_, err := Run(context.Background(), o)
	require.Error(t, err)
	assert.Equal(t, "xfs_repair not found on PATH: install xfsprogs (make deps does)", err.Error())
}
