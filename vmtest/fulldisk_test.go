package vmtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullDir returns a directory on a small tmpfs that is full (fault
// injection for a host disk that fills during a run). Mounting needs root,
// which the project's test machines have.
func fullDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mounting a small tmpfs to fill (needs root): %s", out)
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	f, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return dir
		}
	}
}

// A disk that fills during the run is named, with the file that could not
// be written, and the records still reach the caller (the guest is never
// stalled by the failed write).
func TestRunNamesAFullDisk(t *testing.T) {
	m := fakeMachine(t, "ready;start d/a;result d/a;start d/b;result d/b;done")
	m.Dir = fullDir(t)
	o, err := Run(context.Background(), m)
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "write "+filepath.Join(m.Dir, "results.jsonl")+": no space left on device")
	require.NotNil(t, o)
	assert.True(t, o.Stream.Complete, "every record arrived although none could be written")
	assert.Len(t, o.Stream.Records, 6)
}
