package ext

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzInodeLimit bounds the inodes one fuzz input reads.
const fuzzInodeLimit = 64

// fuzzSeedImage builds a tiny image (mkfs then debugfs edits) holding one
// of each mapping shape, so mutations land on real structures.
func fuzzSeedImage(t testing.TB, tool string, bs int, features string, sizeKiB int64) []byte {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "small"), []byte("hello, inline world: more than sixty bytes of text live here!!"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d", "f"), bytes.Repeat([]byte("data"), 3000), 0o644))
	f, err := os.Create(filepath.Join(src, "sparse"))
	require.NoError(t, err)
	for i := range 6 {
		_, err := f.WriteAt([]byte("x"), int64(i)*int64(2*bs))
		require.NoError(t, err)
	}
	_, err = f.WriteAt([]byte("deep"), int64(nDirect+bs/4+1)*int64(bs))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Symlink("small", filepath.Join(src, "link")))
	cfg := mkfsConfig{name: "seed", tool: tool, blockSize: bs, features: features, sizeKiB: sizeKiB, extra: []string{"-N", "16"}}
	img := makeImage(t, cfg, src)
	if tool == "mkfs.ext4" {
		debugfsCmds(t, img, true, "fallocate /d/f 1 20")
	}
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	// A seed the reader rejects would only fuzz the superblock checks.
	fs, err := Open(bytes.NewReader(data))
	require.NoError(t, err)
	ino, err := fs.Lookup("/d/f")
	require.NoError(t, err)
	got, err := fs.ReadFile(ino)
	require.NoError(t, err)
	want := bytes.Repeat([]byte("data"), 3000)
	require.Equal(t, want, got)
	return data
}

// exercise runs every read path on an image; errors are expected for
// corrupt input, panics and endless loops are the bugs being hunted.
func exercise(data []byte, opts Options) {
	fs, err := OpenWith(bytes.NewReader(data), opts)
	if err != nil {
		return
	}
	n := min(fs.InodesCount(), fuzzInodeLimit)
	for ino := uint64(1); ino <= n; ino++ {
		_, _ = fs.Inode(ino)
		_, _ = fs.ReadFile(ino)
		_, _ = fs.EOFTail(ino)
		_, _ = fs.ReadDir(ino)
	}
	_, _ = fs.Lookup("/d/f")
	_, _ = fs.RawBlock(fs.BlocksCount() - 1)
	_, _ = fs.BlockAllocated(fs.BlocksCount() - 1)
}

// FuzzOpen mutates one of three small valid images (64 KiB, the smallest
// mkfs accepts: ext4 with inline data, ext4 without checksums, ext2). The
// input is not the image but a short list of byte patches to it: byte 0
// picks the image, then 3-byte groups [offset hi, offset lo, value]. A
// whole image as the input made every new interesting input a 64 KiB
// minimisation job, and the fuzzer stalled after three seconds (13 execs
// in a minute); patches keep inputs a few bytes long.
func FuzzOpen(f *testing.F) {
	bases := [][]byte{
		fuzzSeedImage(f, "mkfs.ext4", 1024, "^has_journal,^resize_inode,inline_data", 64),
		fuzzSeedImage(f, "mkfs.ext4", 1024, "^has_journal,^resize_inode,^metadata_csum,^inline_data", 64),
		fuzzSeedImage(f, "mkfs.ext2", 1024, "^resize_inode", 64),
	}
	f.Add([]byte{0})
	f.Add([]byte{1})
	f.Add([]byte{2})
	f.Add([]byte{0, 0x04, 0x38, 0x00})                   // superblock magic
	f.Add([]byte{1, 0x04, 0x18, 0x09})                   // s_log_block_size
	f.Add([]byte{2, 0x08, 0x00, 0xff, 0x08, 0x01, 0xff}) // group descriptor
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		data := bytes.Clone(bases[int(in[0])%len(bases)])
		for g, n := in[1:], 0; len(g) >= 3 && n < 64; g, n = g[3:], n+1 {
			data[int(binary.BigEndian.Uint16(g))%len(data)] = g[2]
		}
		// Checksums are skipped so mutations reach the structures behind
		// them; the checked path runs too.
		exercise(data, Options{IgnoreChecksums: true, MaxReadSize: 4 << 20})
		exercise(data, Options{MaxReadSize: 4 << 20})
	})
}
