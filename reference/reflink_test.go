package reference

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

// Rule tests for several files per case and the shared-extent ops
// (reflink.go), each named after the kernel code it models (6.12.117).

func runSet(t *testing.T, g Geometry, ops ...cases.Op) *Set {
	t.Helper()
	s, err := RunSet(g, ops)
	require.NoError(t, err)
	return s
}

func fileOp(f int, o cases.Op) cases.Op { o.File = f; return o }

func cloneOp(src int, srcOff int64, dst int, off, n int64) cases.Op {
	return cases.Op{Kind: cases.Clone, Src: src, SrcOff: srcOff, File: dst, Off: off, Len: n}
}

// A sequence on file 0 alone gives the same model through RunSet as
// through Run: single-file users see no change.
func TestSetFileZeroIsTheSingleFileModel(t *testing.T) {
	ops := []cases.Op{{Kind: cases.PWrite, Off: 100, Len: 5000}, {Kind: cases.Truncate, Off: 3000}, {Kind: cases.Fsync}}
	m := mustRun(t, xfs1k, ops...)
	s := runSet(t, xfs1k, ops...)
	assert.Equal(t, []int{0}, s.Files())
	assert.Equal(t, m.Content(), s.File(0).Content())
	assert.Equal(t, m.Blocks(), s.File(0).Blocks())
	assert.Equal(t, m.Callouts(), s.File(0).Callouts())
}

// Ops on another file leave file 0 alone; global ops reach every file.
func TestSetFilesAreIndependentAndSyncIsGlobal(t *testing.T) {
	s := runSet(t, xfs4k,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 10},
		fileOp(1, cases.Op{Kind: cases.PWrite, Off: 4096, Len: 10}),
		cases.Op{Kind: cases.Sync})
	assert.Equal(t, int64(10), s.File(0).Size())
	assert.Equal(t, int64(4106), s.File(1).Size())
	for _, f := range s.Files() {
		for _, b := range s.File(f).blocks {
			assert.Zero(t, b.flags&fDirty, "sync writes back every file")
		}
	}
}

// generic_remap_checks (fs/remap_range.c:43-45): both starts block aligned;
// 60-63: the source range starts below EOF; 92-97: a cut length without
// REMAP_FILE_CAN_SHORTEN is EINVAL; ext4/gfs2 have no ->remap_file_range.
func TestRemapChecks_generic_remap_checks_31_102(t *testing.T) {
	w := cases.Op{Kind: cases.PWrite, Off: 0, Len: 3 * 4096}
	for name, op := range map[string]cases.Op{
		"unaligned source":      cloneOp(0, 1, 1, 0, 4096),
		"unaligned destination": cloneOp(0, 0, 1, 512, 4096),
		"past source EOF":       cloneOp(0, 4096, 1, 0, 3*4096),
		"unaligned length":      cloneOp(0, 0, 1, 0, 5000),
		"overlap in one file":   cloneOp(0, 0, 0, 4096, 2*4096),
	} {
		_, err := RunSet(xfs4k, []cases.Op{w, op})
		assert.True(t, errors.Is(err, ErrInvalid), "%s: %v", name, err)
	}
	for _, fs := range []string{"ext2", "ext4", "gfs2"} {
		_, err := RunSet(Geometry{FS: fs, BlockSize: 4096, PageSize: 4096}, []cases.Op{w, cloneOp(0, 0, 1, 0, 4096)})
		assert.True(t, errors.Is(err, ErrUnsupported), "%s: %v", fs, err)
	}
}

// xfs_reflink_remap_blocks / xfs_reflink_remap_extent
// (xfs_reflink.c:1360-1434, 1161-1350) and xfs_reflink_update_dest: the
// destination shares the source's blocks, reads its bytes, grows to the
// range's end; holes in the source stay holes in the destination.
func TestClone_xfs_reflink_remap_blocks_1360_1434(t *testing.T) {
	s := runSet(t, xfs1k,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 2048},
		cases.Op{Kind: cases.PWrite, Off: 3072, Len: 1024},
		cloneOp(0, 0, 1, 4096, 4096))
	src, dst := s.File(0), s.File(1)
	assert.Equal(t, int64(8192), dst.Size())
	assert.Equal(t, src.Content(), dst.Content()[4096:])
	assert.Equal(t, []string{"MustBeHole?", "MustBeHole?", "MustBeHole?", "MustBeHole?", "Data", "Data", "MustBeHole?", "Data"}, states(dst))
	groups := s.SharedGroups()
	require.Len(t, groups, 3)
	assert.Equal(t, []BlockRef{{0, 0}, {1, 4}}, groups[0])
	assert.Equal(t, []BlockRef{{0, 3}, {1, 7}}, groups[2])
}

// generic_remap_checks (fs/remap_range.c:76-84): a range that ends at the
// source's EOF is block aligned by rounding up, so the partial EOF block is
// shared; generic_remap_check_len (133-157): only at or past the
// destination's EOF.
func TestCloneEOFBlock_generic_remap_check_len_133_157(t *testing.T) {
	s := runSet(t, xfs4k, cases.Op{Kind: cases.PWrite, Off: 0, Len: 5000}, cloneOp(0, 0, 1, 0, 5000))
	assert.Equal(t, int64(5000), s.File(1).Size())
	assert.Len(t, s.SharedGroups(), 2)
	_, err := RunSet(xfs4k, []cases.Op{
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 5000},
		fileOp(1, cases.Op{Kind: cases.PWrite, Off: 0, Len: 20000}),
		cloneOp(0, 0, 1, 0, 5000)})
	assert.True(t, errors.Is(err, ErrInvalid), "%v", err)
}

// __iomap_write_begin (buffered-io.c:719-780) with the srcmap of a shared
// extent (iomap_iter_srcmap, 722; iomap_block_needs_zeroing, 760): a
// sub-block write into a shared block reads the rest of the block through
// the data fork mapping, so the bytes around the write are the shared
// ones, and the block leaves its group (copy on write); the other block
// stays shared, and the two copies must be apart on disk.
func TestCowWrite_iomap_write_begin_srcmap_719_780(t *testing.T) {
	s := runSet(t, xfs1kPage,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 2048},
		cases.Op{Kind: cases.Fsync},
		cloneOp(0, 0, 1, 0, 2048),
		cases.Op{Kind: cases.DropCaches},
		fileOp(1, cases.Op{Kind: cases.PWrite, Off: 100, Len: 10}))
	src, dst := s.File(0).Content(), s.File(1).Content()
	want := bytes.Clone(src)
	cases.FillData(want[100:110], 4, 100)
	assert.Equal(t, want, dst)
	assert.Equal(t, []Read{{Op: 4, Pos: 0, Len: 1024}}, s.File(1).Reads(), "the shared block is read, not zeroed")
	assert.Equal(t, [][]BlockRef{{{0, 1}, {1, 1}}}, s.SharedGroups())
	assert.Equal(t, [][2]BlockRef{{{1, 0}, {0, 0}}}, s.Apart())
}

// vfs_dedupe_file_range_compare (fs/remap_range.c:192-266): equal ranges
// are shared and status FILE_DEDUPE_RANGE_SAME (0); different ones give
// FILE_DEDUPE_RANGE_DIFFERS (1) and nothing is remapped.
func TestDedupe_vfs_dedupe_file_range_compare_192_266(t *testing.T) {
	dd := cases.Op{Kind: cases.Dedupe, Src: 0, SrcOff: 0, File: 1, Off: 0, Len: 8192}
	// Equal: a clone made apart again by unshare, then deduped.
	s := runSet(t, xfs4k, cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192},
		cloneOp(0, 0, 1, 0, 8192), cases.Op{Kind: cases.Unshare, File: 1, Off: 0, Len: 8192, KeepSize: true}, dd)
	require.Empty(t, s.SharedGroups()[:0])
	v, ok := s.Returned(3)
	require.True(t, ok)
	assert.Equal(t, int64(0), v)
	assert.Len(t, s.SharedGroups(), 2)
	// Different bytes: status 1, nothing shared, content unchanged.
	s = runSet(t, xfs4k, cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192},
		fileOp(1, cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192}), dd)
	v, _ = s.Returned(2)
	assert.Equal(t, int64(1), v)
	assert.Empty(t, s.SharedGroups())
	assert.Equal(t, cases.Data(1, 0, 8192), s.File(1).Content())
}

// unshare: iomap_unshare_iter (buffered-io.c:1305-1347) begins and ends
// every folio of the shared range, reading what is not uptodate; the
// content is unchanged and no block stays shared.
func TestUnshare_iomap_unshare_iter_1305_1347(t *testing.T) {
	s := runSet(t, xfs1kPage,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192},
		cloneOp(0, 0, 1, 0, 8192),
		cases.Op{Kind: cases.Unshare, File: 1, Off: 1024, Len: 5000, KeepSize: true})
	assert.Equal(t, s.File(0).Content(), s.File(1).Content())
	var got []co
	for _, c := range s.File(1).Callouts() {
		got = append(got, co{c.Kind, c.Pos, c.Len, c.Copied, c.Written, c.FolioSize, c.Map, c.Flags})
	}
	assert.Equal(t, []co{
		{CalloutUnshare, 1024, 3072, 3072, 3072, 4096, MapDelalloc, 0},
		{CalloutUnshare, 4096, 1928, 1928, 1928, 4096, MapDelalloc, 0}, // the range ends at 6024
	}, got)
	assert.Equal(t, []Read{{Op: 2, Pos: 1024, Len: 3072}, {Op: 2, Pos: 4096, Len: 2048}}, s.File(1).Reads())
	// Blocks 0, 6 and 7 stay shared, the rest is apart.
	assert.Len(t, s.SharedGroups(), 3)
	assert.Len(t, s.Apart(), 5)
	_, err := RunSet(Geometry{FS: "ext4", BlockSize: 4096, PageSize: 4096}, []cases.Op{{Kind: cases.Unshare, Off: 0, Len: 1}})
	assert.True(t, errors.Is(err, ErrUnsupported))
}

// vfs_copy_file_range (fs/read_write.c:1619-1658): without
// ->copy_file_range and ->remap_file_range (ext2, ext4, gfs2) the copy is
// a splice into ->write_iter, a buffered write of the source's bytes.
func TestCopyRangeSplice_vfs_copy_file_range_1619_1658(t *testing.T) {
	s := runSet(t, gfs2_1k,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 3000},
		cases.Op{Kind: cases.CopyRange, Src: 0, SrcOff: 10, File: 1, Off: 5000, Len: 9999})
	v, _ := s.Returned(1)
	assert.Equal(t, int64(2990), v, "cut at the source's EOF (generic_copy_file_checks, 1550-1555)")
	assert.Equal(t, s.File(0).Content()[10:], s.File(1).Content()[5000:])
	assert.Equal(t, int64(7990), s.File(1).Size())
	require.NotEmpty(t, s.File(1).Callouts())
	assert.Equal(t, CalloutWrite, s.File(1).Callouts()[0].Kind)
	assert.Empty(t, s.SharedGroups())
}

// xfs: ->remap_file_range with REMAP_FILE_CAN_SHORTEN (read_write.c:
// 1623-1628) remaps the whole blocks (generic_remap_checks cuts the count,
// remap_range.c:76-84); the guest calls again and the rest, less than a
// block, is refused (count 0) and spliced.
func TestCopyRangeRemapThenSplice_xfs(t *testing.T) {
	s := runSet(t, xfs1kPage,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192},
		cases.Op{Kind: cases.CopyRange, Src: 0, SrcOff: 1024, File: 1, Off: 0, Len: 2500})
	v, _ := s.Returned(1)
	assert.Equal(t, int64(2500), v)
	assert.Equal(t, s.File(0).Content()[1024:1024+2500], s.File(1).Content())
	assert.Equal(t, [][]BlockRef{{{0, 1}, {1, 0}}, {{0, 2}, {1, 1}}}, s.SharedGroups())
	var writes int64
	for _, c := range s.File(1).Callouts() {
		if c.Kind == CalloutWrite {
			writes += c.Written
		}
	}
	assert.Equal(t, int64(2500-2048), writes, "the tail is a buffered write")
	// Unaligned offsets: all spliced.
	s = runSet(t, xfs1kPage,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192},
		cases.Op{Kind: cases.CopyRange, Src: 0, SrcOff: 1000, File: 1, Off: 0, Len: 4000})
	assert.Empty(t, s.SharedGroups())
}

// xfs_reflink_remap_extent (xfs_reflink.c:1238-1329): only written
// source blocks are shared; an unwritten source block leaves a hole in the
// destination, unless the destination block is unwritten too, which is
// left alone.
func TestCloneUnwritten_xfs_reflink_remap_extent_1238_1329(t *testing.T) {
	s := runSet(t, xfs4k,
		cases.Op{Kind: cases.Fallocate, Off: 0, Len: 3 * 4096},
		cases.Op{Kind: cases.PWrite, Off: 4096, Len: 4096},
		fileOp(1, cases.Op{Kind: cases.Fallocate, Off: 0, Len: 4096, KeepSize: true}),
		fileOp(1, cases.Op{Kind: cases.PWrite, Off: 2 * 4096, Len: 4096}),
		cases.Op{Kind: cases.Fsync}, fileOp(1, cases.Op{Kind: cases.Fsync}),
		cloneOp(0, 0, 1, 0, 3*4096))
	assert.Equal(t, []string{"AllocatedZero", "Data", "MustBeHole?"}, states(s.File(1)))
	assert.Equal(t, [][]BlockRef{{{0, 1}, {1, 1}}}, s.SharedGroups())
}
