package ext

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/iomapct/iomapct/ondisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallImage makes a 1k-block image holding /f (13 KiB: one extent, or an
// indirect block on ext2) and /frag (enough extents for a depth-2 tree on ext4).
func smallImage(t *testing.T, tool string) []byte {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), bytes.Repeat([]byte("data"), 3328), 0o644))
	fr, err := os.Create(filepath.Join(src, "frag"))
	require.NoError(t, err)
	for i := range 400 {
		_, err := fr.WriteAt(bytes.Repeat([]byte{'z'}, 1024), int64(2*i)*1024)
		require.NoError(t, err)
	}
	require.NoError(t, fr.Close())
	img := makeImage(t, mkfsConfig{name: "small", tool: tool, blockSize: 1024, features: "^metadata_csum_seed", sizeKiB: 2048}, src)
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	return data
}

// requireCorruptAt asserts err is a CorruptError at image offset off whose
// message mentions every word in want.
func requireCorruptAt(t *testing.T, err error, off int64, want ...string) {
	t.Helper()
	var ce *ondisk.CorruptError
	require.True(t, errors.As(err, &ce), "want *ondisk.CorruptError, got %T: %v", err, err)
	assert.Equal(t, off, ce.Offset, "offset of %v", err)
	for _, w := range want {
		assert.Contains(t, ce.Error(), w)
	}
}

func openBytes(t *testing.T, data []byte, opts Options) *FS {
	t.Helper()
	fs, err := OpenWith(bytes.NewReader(data), opts)
	require.NoError(t, err)
	return fs
}

func statPath(t *testing.T, fs *FS, p string) *InodeInfo {
	t.Helper()
	info, err := fs.Stat(mustLookup(t, fs, p))
	require.NoError(t, err)
	return info
}

func TestSuperblockRefusals(t *testing.T) {
	img := smallImage(t, "mkfs.ext4")
	le := binary.LittleEndian
	incompat := le.Uint32(img[sbOffset+sbFeatureInc:])
	cases := []struct {
		name   string
		edit   func(d []byte)
		off    int64
		substr []string
	}{
		{"bad magic", func(d []byte) { d[sbOffset+sbMagicOff] ^= 0xFF }, sbOffset + sbMagicOff, []string{"ext:", "magic"}},
		{"unknown incompat bit", func(d []byte) { le.PutUint32(d[sbOffset+sbFeatureInc:], incompat|0x40000000) }, sbOffset + sbFeatureInc, []string{"0x40000000", "unknown", "INCOMPAT"}},
		{"encrypt", func(d []byte) { le.PutUint32(d[sbOffset+sbFeatureInc:], incompat|incompatEncrypt) }, sbOffset + sbFeatureInc, []string{"0x10000", "encrypt"}},
		{"needs recovery", func(d []byte) { le.PutUint32(d[sbOffset+sbFeatureInc:], incompat|incompatRecover) }, sbOffset + sbFeatureInc, []string{"needs_recovery"}},
		{"checksum", func(d []byte) { d[sbOffset+0x78] ^= 1 }, sbOffset + sbChecksumOff, []string{"checksum"}},
		{"block size", func(d []byte) { le.PutUint32(d[sbOffset+sbLogBlockSize:], 9) }, sbOffset + sbLogBlockSize, []string{"log block size"}},
		{"inode count", func(d []byte) { le.PutUint32(d[sbOffset+sbInodesCount:], le.Uint32(d[sbOffset+sbInodesCount:])+1) }, sbOffset + sbInodesCount, []string{"inode count"}},
		{"group descriptor checksum", func(d []byte) { d[2*1024+gdFlags] ^= 0x4 }, 2*1024 + gdChecksum, []string{"group 0", "checksum"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := bytes.Clone(img)
			c.edit(d)
			_, err := Open(bytes.NewReader(d))
			requireCorruptAt(t, err, c.off, c.substr...)
		})
	}
	t.Run("truncated", func(t *testing.T) {
		_, err := Open(bytes.NewReader(img[:len(img)-1]))
		requireCorruptAt(t, err, int64(len(img)-1), "image ends")
	})
	t.Run("checksums can be skipped", func(t *testing.T) {
		d := bytes.Clone(img)
		d[sbOffset+0x78] ^= 1
		openBytes(t, d, Options{IgnoreChecksums: true})
	})
}

func TestInodeAndExtentCorruption(t *testing.T) {
	img := smallImage(t, "mkfs.ext4")
	fs := openBytes(t, img, Options{})
	f := statPath(t, fs, "/f")
	frag := statPath(t, fs, "/frag")
	require.Equal(t, 2, frag.ExtentDepth, "/frag needs a depth-2 tree for this test")
	le := binary.LittleEndian
	bs := int64(fs.BlockSize())

	t.Run("inode checksum", func(t *testing.T) {
		d := bytes.Clone(img)
		d[f.Offset+0x10] ^= 1 // i_mtime
		_, err := openBytes(t, d, Options{}).Stat(f.Ino)
		requireCorruptAt(t, err, f.Offset+inChecksumLo, "inode", "checksum")
	})
	t.Run("root extent magic", func(t *testing.T) {
		d := bytes.Clone(img)
		d[f.Offset+inBlock] ^= 0xFF
		_, err := openBytes(t, d, Options{IgnoreChecksums: true}).ReadFile(f.Ino)
		requireCorruptAt(t, err, f.Offset+inBlock, "magic")
	})
	t.Run("extent past the end of the filesystem", func(t *testing.T) {
		d := bytes.Clone(img)
		le.PutUint32(d[f.Offset+inBlock+extHeaderLen+8:], 0xFFFFFFF0)
		_, err := openBytes(t, d, Options{IgnoreChecksums: true}).Inode(f.Ino)
		requireCorruptAt(t, err, f.Offset+inBlock+extHeaderLen, "physical blocks", "outside")
	})
	t.Run("leaf node magic", func(t *testing.T) {
		leaf := frag.MetaBlocks[len(frag.MetaBlocks)-1]
		d := bytes.Clone(img)
		d[int64(leaf)*bs] ^= 0xFF
		_, err := openBytes(t, d, Options{IgnoreChecksums: true}).Inode(frag.Ino)
		requireCorruptAt(t, err, int64(leaf)*bs, "magic")
	})
	t.Run("leaf node checksum", func(t *testing.T) {
		leaf := frag.MetaBlocks[len(frag.MetaBlocks)-1]
		d := bytes.Clone(img)
		d[int64(leaf)*bs+extHeaderLen+4] ^= 1 // a length byte of the first entry
		_, err := openBytes(t, d, Options{}).Inode(frag.Ino)
		max := int64(le.Uint16(d[int64(leaf)*bs+4:]))
		requireCorruptAt(t, err, int64(leaf)*bs+extHeaderLen+max*extEntryLen, "checksum")
	})
	t.Run("index node pointing to itself", func(t *testing.T) {
		mid := frag.MetaBlocks[0]
		d := bytes.Clone(img)
		// The root's only index entry points at mid; make mid's first index
		// entry point at mid again: the depth check must catch the loop.
		le.PutUint32(d[int64(mid)*bs+extHeaderLen+4:], uint32(mid))
		_, err := openBytes(t, d, Options{IgnoreChecksums: true}).Inode(frag.Ino)
		var ce *ondisk.CorruptError
		require.True(t, errors.As(err, &ce), "got %v", err)
	})
	t.Run("unallocated inode", func(t *testing.T) {
		_, err := fs.Inode(fs.InodesCount())
		require.ErrorIs(t, err, ErrNotAllocated)
	})
}

func TestIndirectCorruption(t *testing.T) {
	img := smallImage(t, "mkfs.ext2")
	fs := openBytes(t, img, Options{})
	assert.Equal(t, "ext2", fs.FSType())
	f := statPath(t, fs, "/f")
	require.NotEmpty(t, f.MetaBlocks, "/f (13 KiB on 1k blocks) needs an indirect block")
	le := binary.LittleEndian
	bs := int64(fs.BlockSize())

	t.Run("direct pointer", func(t *testing.T) {
		d := bytes.Clone(img)
		le.PutUint32(d[f.Offset+inBlock+4*5:], 0x7FFFFFFF)
		_, err := openBytes(t, d, Options{}).Inode(f.Ino)
		requireCorruptAt(t, err, f.Offset+inBlock+4*5, "data block pointer")
	})
	t.Run("pointer inside the indirect block", func(t *testing.T) {
		ind := int64(f.MetaBlocks[0])
		d := bytes.Clone(img)
		le.PutUint32(d[ind*bs+4:], 0x7FFFFFFF)
		_, err := openBytes(t, d, Options{}).ReadFile(f.Ino)
		requireCorruptAt(t, err, ind*bs+4, "data block pointer")
	})
	t.Run("indirect block used twice", func(t *testing.T) {
		ind := int64(f.MetaBlocks[0])
		d := bytes.Clone(img)
		// Make the double-indirect slot point at the single indirect
		// block, whose first entry then is read as an indirect pointer.
		le.PutUint32(d[f.Offset+inBlock+4*indDouble:], uint32(ind))
		_, err := openBytes(t, d, Options{}).Inode(f.Ino)
		requireCorruptAt(t, err, f.Offset+inBlock+4*indDouble, "referenced twice")
	})
}
