package gfs2

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// patch writes b at image offset off.
func patch(t *testing.T, img string, off int64, b []byte) {
	t.Helper()
	fh, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer fh.Close()
	_, err = fh.WriteAt(b, off)
	require.NoError(t, err)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// TestSparseJournalWithKnownData turns journal0 into a sparse file with a
// partial last block: it punches holes (three data pointers in the first
// bottom-level indirect block, and a whole top-level subtree), writes
// known bytes into a data block and cuts di_size with gfs2_edit. gfs2_edit
// then shows the holes too, and the reader must return zeros there, the
// known bytes, and the stored bytes past EOF from EOFTail.
func TestSparseJournalWithKnownData(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		bs := uint64(o.bs)
		fs := openImage(t, img)
		ino, err := fs.LookupMaster("jindex/journal0")
		require.NoError(t, err)
		in, err := fs.Inode(ino)
		require.NoError(t, err)
		m, err := fs.Map(ino)
		require.NoError(t, err)
		var height int // the tree height the size needs; gfs2_edit must agree below
		for h := 1; ; h++ {
			if c := fs.diptrs * pow(fs.inptrs, h-1); c*bs >= uint64(in.Size) {
				height = h
				break
			}
		}
		require.GreaterOrEqual(t, height, 2)

		// Pointers 3..5 of the first bottom-level indirect block map
		// logical blocks 3..5. m.Indirect is in walk order, so its
		// (height-1)th entry is the first bottom-level block.
		bottom := m.Indirect[height-2]
		patch(t, img, int64(bottom*bs+metaHeaderSize+3*8), make([]byte, 3*8))
		// Top-level pointer 1 maps logical blocks [span, 2*span).
		span := uint64(1)
		for i := 1; i < height; i++ {
			span *= fs.inptrs
		}
		patch(t, img, int64(ino*bs+dinodeSize+8), make([]byte, 8))
		// Known bytes in logical block 7.
		known := pattern(int(bs), 0x5a)
		patch(t, img, int64(physOf(t, in.Extents, 7)*bs), known)
		// A partial last block: EOF 100 bytes before the end of the last
		// mapped block.
		punchedMap, err := Open(bytesReader(t, img))
		require.NoError(t, err)
		punched, err := punchedMap.Map(ino)
		require.NoError(t, err)
		last := punched.Extents[len(punched.Extents)-1]
		lastLB := last.Logical + last.Count - 1
		size := (lastLB+1)*bs - 100
		setSize(t, img, ino, bs, size)

		fs = openImage(t, img)
		out := gfs2Edit(t, img, strconv.FormatUint(ino, 10))
		f := editFields(out)
		require.Equal(t, uint64(height), editUint(t, f, "di_height"))
		require.Equal(t, size, editUint(t, f, "di_size"))
		want, _ := editExtents(t, out, height, bs)
		got, err := fs.Inode(ino)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(want, got.Extents))
		assert.Equal(t, int64(size), got.Size)
		for _, lb := range []uint64{3, 4, 5, span, 2*span - 1} {
			assert.Zero(t, physOf(t, got.Extents, lb), "logical %d should be a hole", lb)
		}

		image, err := os.ReadFile(img)
		require.NoError(t, err)
		data, err := fs.ReadFile(ino)
		require.NoError(t, err)
		require.Len(t, data, int(size))
		assert.True(t, bytes.Equal(assemble(image, want, bs, int64(size)), data))
		assert.Equal(t, make([]byte, 3*bs), data[3*bs:6*bs], "holes read as zeros")
		// With 1k blocks the journal has two subtrees: the punched one
		// was the last, and EOF now lies in the first.
		if holeEnd := min(2*span*bs, size); holeEnd > span*bs {
			assert.Equal(t, make([]byte, holeEnd-span*bs), data[span*bs:holeEnd], "subtree hole reads as zeros")
		}
		assert.Equal(t, known, data[7*bs:8*bs])
		assert.False(t, bytes.Contains(data, poison))

		tail, err := fs.EOFTail(ino)
		require.NoError(t, err)
		p := physOf(t, got.Extents, lastLB)
		assert.Equal(t, image[p*bs+bs-100:(p+1)*bs], tail)

		// EOF inside a hole: no tail. Past the mapped blocks: zeros.
		setSize(t, img, ino, bs, 4*bs+10)
		fs = openImage(t, img)
		tail, err = fs.EOFTail(ino)
		require.NoError(t, err)
		assert.Empty(t, tail)
		big := (lastLB+4)*bs + 17
		setSize(t, img, ino, bs, big)
		fs = openImage(t, img)
		data, err = fs.ReadFile(ino)
		require.NoError(t, err)
		require.Len(t, data, int(big))
		assert.Equal(t, make([]byte, 3*bs+17), data[(lastLB+1)*bs:])
		assert.Equal(t, known, data[7*bs:8*bs])
	})
}

// setSize writes di_size, big-endian at dinode offset 56 (checked against
// gfs2_edit's field editor in TestStuffedFileWithKnownData).
func setSize(t *testing.T, img string, ino, bs, size uint64) {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, size)
	patch(t, img, int64(ino*bs+diSize), b)
}

func pow(b uint64, e int) uint64 {
	r := uint64(1)
	for range e {
		r *= b
	}
	return r
}

func bytesReader(t *testing.T, img string) *bytes.Reader {
	b, err := os.ReadFile(img)
	require.NoError(t, err)
	return bytes.NewReader(b)
}

// physOf is the physical block of logical block lb, 0 for a hole.
func physOf(t *testing.T, exts []ondisk.Extent, lb uint64) uint64 {
	for _, e := range exts {
		if lb >= e.Logical && lb < e.Logical+e.Count {
			require.Equal(t, ondisk.Data, e.Kind)
			return e.Physical + lb - e.Logical
		}
	}
	return 0
}

// TestStuffedFileWithKnownData grows the stuffed quota file within its
// dinode and fills the stuffed area with known bytes.
func TestStuffedFileWithKnownData(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		bs := uint64(o.bs)
		fs := openImage(t, img)
		ino, err := fs.LookupMaster("quota")
		require.NoError(t, err)
		area := pattern(int(bs-dinodeSize), 0x11)
		patch(t, img, int64(ino*bs+dinodeSize), area)
		size := bs - dinodeSize - 50
		// gfs2_edit's own field editor sets di_size here, so the test
		// does not rely on our idea of the dinode layout.
		gfs2Edit(t, img, strconv.FormatUint(ino, 10), "field", "di_size", strconv.FormatUint(size, 10))
		edited, err := os.ReadFile(img)
		require.NoError(t, err)
		require.Equal(t, size, binary.BigEndian.Uint64(edited[ino*bs+diSize:]), "setSize's offset")

		fs = openImage(t, img)
		in, err := fs.Inode(ino)
		require.NoError(t, err)
		assert.True(t, in.Inline)
		assert.True(t, in.JournalData)
		assert.Equal(t, []ondisk.Extent{{Count: 1, Kind: ondisk.Inline, InlineOffset: int64(ino*bs + dinodeSize)}}, in.Extents)
		data, err := fs.ReadFile(ino)
		require.NoError(t, err)
		assert.Equal(t, area[:size], data)
		tail, err := fs.EOFTail(ino)
		require.NoError(t, err)
		assert.Equal(t, area[size:], tail)

		// One byte over the stuffed limit is corruption the kernel rejects.
		setSize(t, img, ino, bs, bs-dinodeSize+1)
		fs = openImage(t, img)
		_, err = fs.Inode(ino)
		var ce *ondisk.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, int64(ino*bs+diSize), ce.Offset)
	})
}
