package ext

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkBitmaps compares InodeAllocated for every inode and BlockAllocated
// for a spread of blocks with debugfs testi/testb.
func checkBitmaps(t *testing.T, fs *FS, img string) {
	var cmds []string
	for ino := uint64(1); ino <= fs.InodesCount(); ino++ {
		cmds = append(cmds, fmt.Sprintf("testi <%d>", ino))
	}
	// debugfs refuses block 0 (its "no block" value) even where it is
	// the superblock's block.
	first := max(uint64(fs.sb.firstDataBlock), 1)
	var blocks []uint64
	for b := first; b < fs.BlocksCount(); b += 13 {
		blocks = append(blocks, b)
		cmds = append(cmds, fmt.Sprintf("testb %d", b))
	}
	outs := debugfsCmds(t, img, false, cmds...)
	for i := range fs.InodesCount() {
		ino := i + 1
		got, err := fs.InodeAllocated(ino)
		require.NoError(t, err)
		want := strings.Contains(outs[i], "marked in use")
		require.True(t, want || strings.Contains(outs[i], "not in use"), "debugfs testi: %q", outs[i])
		assert.Equal(t, want, got, "inode %d allocated", ino)
	}
	for j, b := range blocks {
		out := outs[int(fs.InodesCount())+j]
		got, err := fs.BlockAllocated(b)
		require.NoError(t, err)
		want := strings.Contains(out, "marked in use")
		require.True(t, want || strings.Contains(out, "not in use"), "debugfs testb: %q", out)
		assert.Equal(t, want, got, "block %d allocated", b)
	}
}

func TestBitmapsAgainstDebugfs(t *testing.T) {
	for _, c := range []mkfsConfig{
		{name: "bitmap-ext4", tool: "mkfs.ext4", blockSize: 1024, features: "^metadata_csum_seed", sizeKiB: 8 * 1024},
		{name: "bitmap-ext4-uninit", tool: "mkfs.ext4", blockSize: 1024, features: "^metadata_csum,uninit_bg", sizeKiB: 8 * 1024, extra: []string{"-g", "1024"}},
		// 32 groups of 256 blocks: two meta groups of 16 descriptors each.
		{name: "bitmap-ext4-metabg", tool: "mkfs.ext4", blockSize: 1024, features: "64bit,meta_bg,^resize_inode,^metadata_csum,uninit_bg", sizeKiB: 8 * 1024, extra: []string{"-g", "256"}},
		{name: "bitmap-ext2", tool: "mkfs.ext2", blockSize: 2048, sizeKiB: 8 * 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := t.TempDir()
			writeTree(t, src, treeFor(c.blockSize, false)[:8])
			img := makeImage(t, c, src)
			f, err := os.Open(img)
			require.NoError(t, err)
			defer f.Close()
			fs, err := Open(f)
			require.NoError(t, err)
			checkBitmaps(t, fs, img)
		})
	}
}
