package mkfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Without a journal the crash check's fsck repairs: a zeroed block bitmap
// in an ext2 image fails the read-only Check but passes
// CheckRecovered (e2fsck -y corrects it, exit 1); the same damage on ext4,
// which has a journal, fails both.
func TestCheckRecoveredRepairsOnlyWithoutJournal(t *testing.T) {
	ctx := context.Background()
	damage := func(t *testing.T, fs string) string {
		p := filepath.Join(t.TempDir(), "img")
		require.NoError(t, Make(ctx, Spec{FS: fs, BlockSize: 1024, Size: 16 << 20, Path: p}))
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		require.NoError(t, err)
		// Zero group 0's block bitmap: blocks in use now read as free
		// ("block bitmap differences", which e2fsck -y corrects). With
		// 1 KiB blocks the group descriptors are block 2, and the first
		// one's first field is bg_block_bitmap(_lo).
		var loc [4]byte
		_, err = f.ReadAt(loc[:], 2048)
		require.NoError(t, err)
		bitmap := int64(binary.LittleEndian.Uint32(loc[:]))
		require.Positive(t, bitmap)
		_, err = f.WriteAt(make([]byte, 1024), bitmap*1024)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		return p
	}
	p := damage(t, "ext2")
	require.Error(t, Check(ctx, "ext2", p), "the read-only check sees the damage")
	require.NoError(t, CheckRecovered(ctx, "ext2", p))

	p = damage(t, "ext4")
	require.Error(t, CheckRecovered(ctx, "ext4", p))
}

func TestCheckRecoveredSaysWhatFailed(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "img")
	require.NoError(t, Make(ctx, Spec{FS: "xfs", BlockSize: 4096, Size: 16 << 20, Path: p}))
	require.NoError(t, CheckRecovered(ctx, "xfs", p), "a fresh 16 MiB xfs passes with force_geometry")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(bytes.Repeat([]byte{0xff}, 512), 512) // the AGF
	require.NoError(t, err)
	require.NoError(t, f.Close())
	err = CheckRecovered(ctx, "xfs", p)
	require.ErrorContains(t, err, "xfs_repair -n -f -o force_geometry")
	require.ErrorContains(t, CheckRecovered(ctx, "btrfs", p), `unknown filesystem "btrfs"`)
}
