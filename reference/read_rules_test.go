package reference

import (
	"errors"
	"testing"

	"github.com/iomapct/iomapct/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Rule tests for reads, range shifts and sync writes (read.go, shift.go,
// syncwrite.go); names carry the 6.12.117 function and lines.

var (
	dropCaches = cases.Op{Kind: cases.DropCaches}
	ext4_4k    = Geometry{FS: "ext4", BlockSize: 4096, PageSize: 4096}
)

func rd(off, n int64) cases.Op   { return cases.Op{Kind: cases.Read, Off: off, Len: n} }
func mrd(off, n int64) cases.Op  { return cases.Op{Kind: cases.MapRead, Off: off, Len: n} }
func coll(off, n int64) cases.Op { return cases.Op{Kind: cases.Collapse, Off: off, Len: n} }
func ins(off, n int64) cases.Op  { return cases.Op{Kind: cases.Insert, Off: off, Len: n} }
func pwSync(off, n int64) cases.Op {
	return cases.Op{Kind: cases.PWrite, Off: off, Len: n, Sync: "osync"}
}
func pw2(off, n int64, rwf string) cases.Op {
	return cases.Op{Kind: cases.PWritev2, Off: off, Len: n, RWF: rwf}
}

func uptodate(m *Model, b int64) bool { return m.blocks[b].flags&fUptodate != 0 }
func dirty(m *Model, b int64) bool    { return m.blocks[b].flags&fDirty != 0 }
func cached(m *Model, page int64) bool {
	_, _, ok := m.folioAt(page << m.pbits)
	return ok
}

// A read whose blocks are all uptodate copies from a folio that is not
// uptodate without reading it (filemap_range_uptodate, mm/filemap.c:2399-2421,
// with iomap_is_partially_uptodate, fs/iomap/buffered-io.c:603-623); a read
// reaching a block that is not makes ->read_folio bring the whole folio up to
// date, keeping the dirty block (filemap_update_page, 2423-2477).
func TestFilemapRead_PartialUptodate_filemap_2399_2477_iomap_is_partially_uptodate_603_623(t *testing.T) {
	m := mustRun(t, xfs1k, pw(0, 16384), fsync, dropCaches, pw(1024, 1024), rd(1024, 1024))
	assert.Equal(t, []bool{false, true, false, false}, []bool{uptodate(m, 0), uptodate(m, 1), uptodate(m, 2), uptodate(m, 3)})
	require.NoError(t, m.Apply(5, rd(0, 4096)))
	for b := int64(0); b < 4; b++ {
		assert.True(t, uptodate(m, b), "block %d after read_folio", b)
	}
	assert.True(t, dirty(m, 1), "read_folio skips (and keeps) the dirty uptodate block")
	assert.False(t, dirty(m, 0))
}

// block_is_partially_uptodate (fs/buffer.c:2347-2380) answers false for a
// range that reaches into both the folio's first and last block, even if
// all its blocks are uptodate; iomap_is_partially_uptodate has no such rule.
func TestBlockIsPartiallyUptodate_FirstAndLastBlock_buffer_2347_2380(t *testing.T) {
	prefix := []cases.Op{pw(0, 16384), fsync, dropCaches, pw(0, 3072)}
	m := mustRun(t, ext4_1k, append(prefix, rd(0, 3072))...)
	assert.False(t, uptodate(m, 3), "ext4: [0, 3072) ends before the last block: copied as is")
	m = mustRun(t, ext4_1k, append(prefix, rd(0, 3073))...)
	assert.True(t, uptodate(m, 3), "ext4: [0, 3073) reaches the last block: read_folio")
	m = mustRun(t, xfs1kPage, append(prefix, rd(0, 3072))...)
	assert.False(t, uptodate(m, 3), "xfs: blocks 0-2 uptodate")
	m = mustRun(t, xfs1kPage, append(prefix, rd(1, 3072))...)
	assert.True(t, uptodate(m, 3), "xfs: [1, 3073) touches block 3: read_folio")
}

// page_cache_sync_ra (mm/readahead.c:537-608) at page 0: a window of
// get_init_ra_size(1, 32) = 4 pages, async_size 3, PG_readahead on page 1;
// a read of page 1 finds the mark and page_cache_async_ra (611-674), at the
// expected index, moves the window to page 4 with get_next_ra_size(4) = 8
// pages, all async (mark on page 4).
func TestPageCacheSyncAndAsyncRa_readahead_537_674(t *testing.T) {
	m := mustRun(t, ext4_4k, pw(0, 256<<10), fsync, dropCaches, rd(0, 4096))
	for p := int64(0); p < 4; p++ {
		assert.True(t, cached(m, p), "page %d", p)
	}
	assert.False(t, cached(m, 4))
	assert.True(t, m.fra[1], "PG_readahead at start + size - async_size")
	assert.Equal(t, int64(4096), m.prevPos())
	require.NoError(t, m.Apply(4, rd(4096, 4096)))
	assert.False(t, m.fra[1])
	for p := int64(4); p < 12; p++ {
		assert.True(t, cached(m, p), "page %d", p)
	}
	assert.False(t, cached(m, 12))
	assert.True(t, m.fra[4])
	assert.Equal(t, raState{start: 4, size: 8, async: 8, prev1: 8193}, m.ra)
}

// A read far from the previous one with no cached history before it reads
// only what was asked (page_cache_sync_ra, mm/readahead.c:592-595:
// contig_count <= req_count -> do_page_cache_ra(req_count, 0)); a read
// right after the previous one (index - prev_index <= 1, 572-578) opens a
// fresh window of get_init_ra_size pages.
func TestPageCacheSyncRa_RandomAndSequential_readahead_572_595(t *testing.T) {
	m := mustRun(t, ext4_4k, pw(0, 128<<10), fsync, dropCaches, rd(64<<10, 100))
	assert.True(t, cached(m, 16))
	assert.False(t, cached(m, 17), "cold random read: only the page asked")
	m = mustRun(t, ext4_4k, pw(0, 128<<10), fsync, dropCaches, rd(60<<10, 4096), rd(64<<10, 100))
	assert.False(t, cached(m, 14))
	for p := int64(15); p < 20; p++ {
		assert.True(t, cached(m, p), "page %d", p)
	}
	assert.False(t, cached(m, 20), "sequential: a window of 4 pages from page 16")
}

// pread stops at EOF; mapread reads zero past EOF in the EOF page and a
// page wholly past it would SIGBUS (filemap_fault, mm/filemap.c:3317-3319).
func TestReadBacks_EOF_filemap_read_2626_2732_filemap_fault_3317_3319(t *testing.T) {
	m := mustRun(t, xfs4k, pw(0, 100), rd(50, 100), mrd(50, 4000))
	rb := m.ReadBacks()
	assert.Equal(t, cases.Data(0, 50, 50), rb[1].Data)
	want := append(cases.Data(0, 50, 50), make([]byte, 3950)...)
	assert.Equal(t, want, rb[2].Data)
	assert.Equal(t, int64(4000), rb[2].Checked)
	_, err := Run(xfs4k, []cases.Op{pw(0, 100), mrd(4000, 100)})
	assert.True(t, errors.Is(err, ErrInvalid), "%v", err)
	m = mustRun(t, xfs4k, pw(0, 100), cases.Op{Kind: cases.PolluteEOF}, mrd(0, 4096))
	assert.Equal(t, int64(100), m.ReadBacks()[2].Checked, "garbage past EOF is not judged")
}

// Collapse removes the range and moves the rest down; ext4 drops the page
// cache from round_down(off, PAGE_SIZE) after writing back only around the
// range (ext4_collapse_range, ext4/extents.c:5334-5423), xfs from one block
// before off (xfs_prepare_shift, xfs_bmap_util.c:910-961).
func TestCollapseRange_ext4_extents_5334_5423_xfs_bmap_util_910_1029(t *testing.T) {
	for _, g := range []Geometry{ext4_1k, xfs1k} {
		m := mustRun(t, g, pw(0, 8192), fsync, pw(5000, 10), coll(4096, 2048))
		assert.Equal(t, int64(6144), m.Size(), g.FS)
		c := m.Content()
		assert.Equal(t, cases.Data(0, 0, 4096), c[:4096], g.FS)
		assert.Equal(t, cases.Data(0, 6144, 2048), c[4096:], g.FS)
		for p := int64(1); p < 2; p++ {
			assert.False(t, cached(m, p), "%s: page %d dropped", g.FS, p)
		}
		for b := int64(4); b < 6; b++ {
			assert.Equal(t, aWritten, m.blocks[b].alloc, "%s block %d moved", g.FS, b)
			assert.Equal(t, int32(0), m.blocks[b].lastOp, "%s block %d", g.FS, b)
		}
	}
	for _, tc := range []struct {
		g    Geometry
		op   cases.Op
		want error
	}{
		{ext2_1k, coll(0, 1024), ErrUnsupported},
		{gfs2_1k, coll(0, 1024), ErrUnsupported},
		{ext4_1k, coll(512, 1024), ErrInvalid},
		{xfs4k, coll(0, 1024), ErrInvalid},
		{xfs4k, coll(4096, 4096), ErrInvalid},  // reaches EOF
		{ext4_1k, ins(8192, 1024), ErrInvalid}, // at EOF
	} {
		_, err := Run(tc.g, []cases.Op{pw(0, 8192), tc.op})
		assert.True(t, errors.Is(err, tc.want), "%s %s: %v", tc.g.FS, tc.op, err)
	}
}

// Insert opens a hole and moves the rest up; xfs grows i_size first, which
// zeroes the old EOF block's tail (xfs_falloc_insert_range,
// xfs_file.c:944-978), ext4 adds len to i_size (ext4/extents.c:5433-5549).
func TestInsertRange_xfs_file_944_978_ext4_extents_5433_5549(t *testing.T) {
	for _, g := range []Geometry{ext4_1k, xfs1k} {
		m := mustRun(t, g, pw(0, 5000), ins(1024, 2048))
		assert.Equal(t, int64(7048), m.Size(), g.FS)
		c := m.Content()
		assert.Equal(t, cases.Data(0, 0, 1024), c[:1024], g.FS)
		assert.Equal(t, make([]byte, 2048), c[1024:3072], g.FS)
		assert.Equal(t, cases.Data(0, 1024, 3976), c[3072:], g.FS)
		assert.Equal(t, aHole, m.blocks[1].alloc, g.FS)
		assert.Equal(t, aHole, m.blocks[2].alloc, g.FS)
		assert.False(t, cached(m, 1), "%s: cache from the shift on dropped", g.FS)
	}
}

// generic_write_sync (include/linux/fs.h:2939-2950) writes back the folios
// the write touched, no others; the bytes are then recorded as durable.
func TestSyncWrite_WritesBackTheRange_fs_h_2939_2950(t *testing.T) {
	m := mustRun(t, xfs1k, pw(0, 8192), pwSync(8192, 100))
	for b := int64(0); b < 8; b++ {
		assert.True(t, dirty(m, b), "block %d of the plain write stays dirty", b)
	}
	assert.False(t, dirty(m, 8))
	assert.Equal(t, aWritten, m.blocks[8].alloc)
	rb := m.ReadBacks()[1]
	assert.True(t, rb.Durable)
	assert.Equal(t, cases.Data(1, 8192, 100), rb.Data)
	// A stuffed gfs2 file keeps its bytes in the dinode: nothing to read
	// back in place.
	m = mustRun(t, gfs2_4k, pwSync(0, 100))
	_, ok := m.ReadBacks()[0]
	assert.False(t, ok)
}

// RWF_NOWAIT: EOPNOTSUPP off xfs (include/linux/fs.h:3621-3623,
// ext4/file.c:291-292); on xfs EAGAIN past EOF (xfs_file.c:386-387) and
// where a block must be read (fs/iomap/buffered-io.c:768-769), after the
// folios before it were written (1073-1077); an EAGAIN the guest saw at the
// start is accepted as no effect.
func TestNowait_xfs_file_386_bufferedio_768_1073(t *testing.T) {
	_, err := Run(ext4_1k, []cases.Op{pw2(0, 10, "nowait")})
	assert.True(t, errors.Is(err, ErrUnsupported), "%v", err)
	ops := []cases.Op{pw(0, 16384), fsync, dropCaches,
		pw2(10, 10, "nowait"), pw2(4096, 4096, "nowait"), pw2(8192, 4106, "nowait"), pw2(20000, 10, "nowait")}
	m := mustRun(t, xfs1kPage, ops...)
	for i, want := range map[int]int64{3: cases.EAGAIN, 4: 4096, 5: 4096, 6: cases.EAGAIN} {
		got, ok := m.ExpectedReturn(i)
		assert.True(t, ok)
		assert.Equal(t, want, got, "op %d", i)
	}
	assert.Equal(t, int64(16384), m.Size())
	assert.Equal(t, cases.Data(4, 4096, 4096), m.Content()[4096:8192])
	assert.Equal(t, cases.Data(5, 8192, 4096), m.Content()[8192:12288])
	assert.Equal(t, cases.Data(0, 12288, 10), m.Content()[12288:12298], "the stopped part stays as it was")
	// The guest got EAGAIN for op 4: legal, and the op did nothing.
	m, err = RunObserved(xfs1kPage, ops, []int64{16384, 0, 0, cases.EAGAIN, cases.EAGAIN, 4096, cases.EAGAIN})
	require.NoError(t, err)
	got, _ := m.ExpectedReturn(4)
	assert.Equal(t, int64(cases.EAGAIN), got)
	assert.Equal(t, cases.Data(0, 4096, 4096), m.Content()[4096:8192])
}

// An EAGAIN the guest saw where the model would have written: nothing
// happened, and a failed begin at the first folio may be in the trace
// (write_begin could not get the folio without waiting).
func TestNowait_EAGAINAtTheFirstFolioMayBeTraced_filemap_1898_1983(t *testing.T) {
	ops := []cases.Op{pw(0, 16384), fsync, dropCaches, pw2(4096, 4096, "nowait")}
	m, err := RunObserved(xfs1kPage, ops, []int64{16384, 0, 0, cases.EAGAIN})
	require.NoError(t, err)
	var got []Callout
	for _, c := range m.Callouts() {
		if c.Op == 3 {
			got = append(got, c)
		}
	}
	require.Len(t, got, 1)
	assert.Equal(t, int64(4096), got[0].Pos)
	assert.Equal(t, int64(cases.EAGAIN), int64(got[0].BeginStatus))
	assert.True(t, got[0].MayBeAbsent)
	assert.Zero(t, got[0].Written)
}
