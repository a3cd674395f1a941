package xfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// storeCRC recomputes an XFS CRC32c in place, so a test can change a field
// and still reach the check behind the checksum.
func storeCRC(buf []byte, crcOff int) {
	binary.LittleEndian.PutUint32(buf[crcOff:], 0)
	binary.LittleEndian.PutUint32(buf[crcOff:], crc32.Checksum(buf, crc32.MakeTable(crc32.Castagnoli)))
}

// corruptBase is a small mounted-and-written image with a BTREE file, an
// EXTENTS file and a block directory, plus where their structures are.
type corruptBase struct {
	img       []byte
	bs        int
	small     uint64 // EXTENTS regular file
	frag      uint64 // BTREE regular file
	fragInfo  BmapInfo
	smallOff  int64
	fragOff   int64
	sectSize  int
	inodeSize int
	path      string
}

func makeCorruptBase(t *testing.T) *corruptBase {
	c := mkfsConfig{BlockSize: 1024, Nrext64: true, SizeMiB: 16}
	img := makeImage(t, c)
	withMount(t, img, func(mnt string) {
		require.NoError(t, os.WriteFile(filepath.Join(mnt, "small"), bytes.Repeat([]byte("s"), 3000), 0o644))
		f, err := os.Create(filepath.Join(mnt, "frag"))
		require.NoError(t, err)
		for i := 99; i >= 0; i-- {
			_, err := f.WriteAt(bytes.Repeat([]byte{byte(i)}, 1024), int64(i)*2048)
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
	})
	raw, err := os.ReadFile(img)
	require.NoError(t, err)
	fs, err := Open(bytes.NewReader(raw))
	require.NoError(t, err)
	b := &corruptBase{img: raw, bs: c.BlockSize, path: img}
	b.small = mustLookup(t, fs, "/small")
	b.frag = mustLookup(t, fs, "/frag")
	b.fragInfo, err = fs.Bmap(b.frag)
	require.NoError(t, err)
	require.GreaterOrEqual(t, b.fragInfo.Height, 2)
	d, err := fs.Dinode(b.small)
	require.NoError(t, err)
	b.smallOff = d.Offset
	d, err = fs.Dinode(b.frag)
	require.NoError(t, err)
	b.fragOff = d.Offset
	b.sectSize = int(fs.Superblock().SectSize)
	b.inodeSize = int(fs.Superblock().InodeSize)
	return b
}

// requireCorrupt asserts err is a CorruptError at offset whose text
// contains want.
func requireCorrupt(t *testing.T, err error, offset int64, want string) {
	t.Helper()
	require.Error(t, err)
	var ce *ondisk.CorruptError
	require.True(t, errors.As(err, &ce), "want *ondisk.CorruptError, got %T: %v", err, err)
	assert.Equal(t, "xfs", ce.FS)
	assert.Equal(t, offset, ce.Offset, "offset in %v", err)
	assert.Contains(t, err.Error(), want)
}

func TestCorruptImages(t *testing.T) {
	base := makeCorruptBase(t)
	bs := int64(base.bs)
	sb := func(img []byte) []byte { return img[:base.sectSize] }
	inode := func(img []byte, off int64) []byte { return img[off : off+int64(base.inodeSize)] }
	blockOff := func(n int) int64 { return int64(base.fragInfo.BtreeBlocks[n]) * bs }
	btreeBlock := func(img []byte, n int) (int64, []byte) {
		off := blockOff(n)
		return off, img[off : off+bs]
	}

	cases := []struct {
		name  string
		patch func(img []byte)
		run   func(fs *FS) error // nil: Open itself must fail
		off   func() int64
		want  string
	}{
		{"superblock CRC", func(img []byte) { sb(img)[110] ^= 1 }, nil, func() int64 { return 0 }, "superblock: CRC32c mismatch"},
		{"bad magic", func(img []byte) { sb(img)[0] = 'Y'; storeCRC(sb(img), sbCRCOffset) }, nil, func() int64 { return 0 }, "bad magic"},
		{"v4 filesystem", func(img []byte) {
			binary.BigEndian.PutUint16(sb(img)[100:], binary.BigEndian.Uint16(sb(img)[100:])&^0xf|4)
			storeCRC(sb(img), sbCRCOffset)
		}, nil, func() int64 { return 100 }, "version 4 filesystem; only v5"},
		{"unknown incompat feature", func(img []byte) {
			binary.BigEndian.PutUint32(sb(img)[216:], binary.BigEndian.Uint32(sb(img)[216:])|1<<20)
			storeCRC(sb(img), sbCRCOffset)
		}, nil, func() int64 { return 216 }, "unknown incompatible feature bits 0x100000 (bit 20)"},
		{"needsrepair", func(img []byte) {
			binary.BigEndian.PutUint32(sb(img)[216:], binary.BigEndian.Uint32(sb(img)[216:])|featIncompatNeedsRepair)
			storeCRC(sb(img), sbCRCOffset)
		}, nil, func() int64 { return 216 }, "needsrepair"},
		{"agblklog", func(img []byte) { sb(img)[124]++; storeCRC(sb(img), sbCRCOffset) }, nil, func() int64 { return 124 }, "agblklog"},
		{"inode CRC", func(img []byte) { inode(img, base.smallOff)[60] ^= 0x80 },
			func(fs *FS) error { _, err := fs.ReadFile(base.small); return err },
			func() int64 { return base.smallOff }, "CRC32c mismatch"},
		{"inode number", func(img []byte) {
			in := inode(img, base.smallOff)
			binary.BigEndian.PutUint64(in[152:], base.small+1)
			storeCRC(in, dinodeCRCOff)
		}, func(fs *FS) error { _, err := fs.Inode(base.small); return err },
			func() int64 { return base.smallOff + 152 }, "di_ino says"},
		{"LOCAL regular file", func(img []byte) {
			in := inode(img, base.smallOff)
			in[5] = FmtLocal
			storeCRC(in, dinodeCRCOff)
		}, func(fs *FS) error { _, err := fs.ReadFile(base.small); return err },
			func() int64 { return base.smallOff + 5 }, "regular file with a LOCAL data fork"},
		{"extent beyond the AG", func(img []byte) {
			in := inode(img, base.smallOff)
			rec := in[dinodeCoreSize:]
			lo := binary.BigEndian.Uint64(rec[8:])
			binary.BigEndian.PutUint64(rec[8:], lo|uint64(0x3fff)<<21) // startblock low bits: agbno near the AG end
			storeCRC(in, dinodeCRCOff)
		}, func(fs *FS) error { _, err := fs.Inode(base.small); return err },
			func() int64 { return base.smallOff + dinodeCoreSize }, "beyond agblocks"},
		{"bmbt block magic", func(img []byte) {
			_, blk := btreeBlock(img, 0)
			blk[0] = 'X'
			storeCRC(blk, lblockCRCOff)
		}, func(fs *FS) error { _, err := fs.ReadFile(base.frag); return err },
			func() int64 { return blockOff(0) }, "want 0x424d4133 \"BMA3\""},
		{"bmbt block owner", func(img []byte) {
			_, blk := btreeBlock(img, 0)
			binary.BigEndian.PutUint64(blk[56:], base.small)
			storeCRC(blk, lblockCRCOff)
		}, func(fs *FS) error { _, err := fs.Inode(base.frag); return err },
			func() int64 { return blockOff(0) + 56 }, "bb_owner"},
		{"bmbt block CRC", func(img []byte) {
			_, blk := btreeBlock(img, 0)
			blk[100] ^= 1
		}, func(fs *FS) error { _, err := fs.Inode(base.frag); return err },
			func() int64 { return blockOff(0) }, "CRC32c mismatch"},
		{"bmbt loop", func(img []byte) {
			// The root's second pointer names the first child again.
			in := inode(img, base.fragOff)
			fork := in[dinodeCoreSize:]
			forkSize := len(fork)
			if f := in[82]; f != 0 {
				forkSize = int(f) << 3
			}
			maxrecs := (forkSize - bmdrHdrSize) / 16
			ptrs := fork[bmdrHdrSize+maxrecs*8:]
			copy(ptrs[8:16], ptrs[0:8])
			storeCRC(in, dinodeCRCOff)
		}, func(fs *FS) error { _, err := fs.Inode(base.frag); return err },
			nil, "referenced twice"},
		{"image truncated", func(img []byte) {}, nil, func() int64 { return 8 }, "the image ends earlier"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := bytes.Clone(base.img)
			tc.patch(img)
			if tc.name == "image truncated" {
				img = img[:len(img)-1]
			}
			fs, err := Open(bytes.NewReader(img))
			if tc.run == nil {
				requireCorrupt(t, err, tc.off(), tc.want)
				return
			}
			require.NoError(t, err)
			err = tc.run(fs)
			if tc.off == nil {
				require.ErrorContains(t, err, tc.want)
				return
			}
			requireCorrupt(t, err, tc.off(), tc.want)
		})
	}
}

// TestRealtimeRejected marks a file realtime with xfs_db -x (which keeps
// the CRCs right) and expects a clear refusal.
func TestRealtimeRejected(t *testing.T) {
	base := makeCorruptBase(t)
	out, err := exec.Command("xfs_db", "-x", "-c", fmt.Sprintf("inode %d", base.small),
		"-c", "write core.realtime 1", base.path).CombinedOutput()
	require.NoError(t, err, "xfs_db -x: %s", out)
	fs := openImage(t, base.path)
	_, err = fs.ReadFile(base.small)
	require.ErrorContains(t, err, "realtime file")
	_, err = fs.Lookup("/small") // the directory is still readable
	require.NoError(t, err)
}

// TestLimits checks the reader's own bounds, independent of the image.
func TestLimits(t *testing.T) {
	base := makeCorruptBase(t)
	fs, err := OpenOptions(bytes.NewReader(base.img), Options{MaxFileSize: 2000})
	require.NoError(t, err)
	_, err = fs.ReadFile(base.small)
	require.ErrorContains(t, err, "exceeds the reader's limit of 2000 bytes")
	_, err = fs.RawBlock(fs.Superblock().DBlocks)
	require.ErrorContains(t, err, "beyond dblocks")
	_, err = fs.Inode(1 << 60)
	require.ErrorContains(t, err, "beyond agcount")
	_, err = fs.Lookup("relative/path")
	require.ErrorContains(t, err, "not absolute")
	// A file read appended to a reused buffer matches ReadFile.
	fs, err = Open(bytes.NewReader(base.img))
	require.NoError(t, err)
	want, err := fs.ReadFile(base.frag)
	require.NoError(t, err)
	buf := bytes.Repeat([]byte{0xee}, 300*1024)
	got, err := fs.AppendFile(buf[:5], base.frag)
	require.NoError(t, err)
	require.Equal(t, buf[:5], got[:5])
	require.True(t, bytes.Equal(want, got[5:]), "AppendFile into a dirty buffer zeroes the holes")
}
