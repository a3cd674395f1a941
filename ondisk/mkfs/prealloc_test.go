package mkfs

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

// An image has backing store for every byte once made, so QEMU never needs
// to grow it during a run (which on a full disk would pause the VM). On
// tmpfs, mkfs.ext4 leaves holes (28 of 32 MiB allocated), so the images
// are made there.
func TestMadeImageHasNoHoles(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mounting a tmpfs (needs root): %s", out)
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	for _, fs := range []string{"ext4", "xfs"} {
		p := filepath.Join(dir, fs+".img")
		const size = 32 << 20
		require.NoError(t, Make(context.Background(), Spec{FS: fs, BlockSize: 4096, Size: size, Path: p}))
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, st.Sys().(*syscall.Stat_t).Blocks*512, int64(size), fs)
		os.Remove(p)
	}
}
