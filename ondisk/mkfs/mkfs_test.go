package mkfs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every filesystem and block size we test at must mkfs and fsck clean, and
// free space must still hold the poison afterwards (discard is off).
func TestMakeCheckPoison(t *testing.T) {
	ctx := context.Background()
	for fs, sizes := range Supported {
		for _, bs := range sizes {
			t.Run(fmt.Sprintf("%s-%d", fs, bs), func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "img")
				require.NoError(t, Make(ctx, Spec{FS: fs, BlockSize: bs, Size: 64 << 20, Path: p}))
				require.NoError(t, Check(ctx, fs, p))
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				require.Equal(t, int64(64<<20), int64(len(b)))
				// The last MiB is free space on every fs at this size.
				require.True(t, bytes.Contains(b[len(b)-(1<<20):], Poison), "poison gone from free space")
			})
		}
	}
}

func TestCheckReportsCorruption(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "img")
	require.NoError(t, Make(ctx, Spec{FS: "ext4", BlockSize: 4096, Size: 16 << 20, Path: p}))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	// Smash the first group descriptor block.
	_, err = f.WriteAt(bytes.Repeat([]byte{0xff}, 4096), 4096)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	err = Check(ctx, "ext4", p)
	require.Error(t, err)
	require.Contains(t, err.Error(), "e2fsck")
}

func TestUnknownFS(t *testing.T) {
	_, err := Args(Spec{FS: "btrfs"})
	require.ErrorContains(t, err, `unknown filesystem "btrfs"`)
}
