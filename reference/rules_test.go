package reference

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/iomapct/iomapct/cases"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Table tests, one per rule. Each test name carries the kernel function and
// the 6.12.117 line range it models.

func mustRun(t *testing.T, g Geometry, ops ...cases.Op) *Model {
	t.Helper()
	m, err := Run(g, ops)
	require.NoError(t, err)
	return m
}

func states(m *Model) []string {
	var out []string
	for _, b := range m.Blocks() {
		s := b.State.String()
		if b.MayBeAllocated {
			s += "?"
		}
		out = append(out, s)
	}
	return out
}

// co is a compact callout for comparisons: kind, pos, len, copied, written,
// folio size, map type and flags.
type co struct {
	Kind                          CalloutKind
	Pos, Len, Copied, Written, FZ int64
	Map                           MapType
	Flags                         MapFlags
}

func callouts(m *Model, op int) []co {
	var out []co
	for _, c := range m.Callouts() {
		if c.Op == op {
			out = append(out, co{c.Kind, c.Pos, c.Len, c.Copied, c.Written, c.FolioSize, c.Map, c.Flags})
		}
	}
	return out
}

var (
	xfs4k = Geometry{FS: "xfs", BlockSize: 4096, PageSize: 4096, MaxFolio: 64 << 10}
	xfs1k = Geometry{FS: "xfs", BlockSize: 1024, PageSize: 4096, MaxFolio: 64 << 10}
	// xfs on a kernel without THP: one-page folios.
	xfs1kPage = Geometry{FS: "xfs", BlockSize: 1024, PageSize: 4096, MaxFolio: 4096}
	xfs4kPage = Geometry{FS: "xfs", BlockSize: 4096, PageSize: 4096, MaxFolio: 4096}
	gfs2_1k   = Geometry{FS: "gfs2", BlockSize: 1024, PageSize: 4096}
	gfs2_4k   = Geometry{FS: "gfs2", BlockSize: 4096, PageSize: 4096}
	ext2_1k   = Geometry{FS: "ext2", BlockSize: 1024, PageSize: 4096}
	ext4_1k   = Geometry{FS: "ext4", BlockSize: 1024, PageSize: 4096}
)

func pw(off, n int64) cases.Op { return cases.Op{Kind: cases.PWrite, Off: off, Len: n} }
func sc(off, n, copied int64) cases.Op {
	return cases.Op{Kind: cases.ShortCopy, Off: off, Len: n, Copied: copied}
}

var fsync = cases.Op{Kind: cases.Fsync}

// iomap_write_iter chunks by mapping_max_folio_size and iomap_get_folio
// sizes new folios with fgf_set_order(len), aligned to their index.
func TestIomapWriteIter_FolioChunking_bufferedio_945_1051_iomap_get_folio_635_646(t *testing.T) {
	m := mustRun(t, xfs4k, pw(0, 100000))
	dn := MapDelalloc
	want := []co{
		{CalloutWrite, 0, 65536, 65536, 65536, 65536, dn, FlagNew},
		{CalloutWrite, 65536, 32768, 32768, 32768, 32768, dn, FlagNew},
		{CalloutWrite, 98304, 1696, 1696, 1696, 4096, dn, FlagNew},
	}
	assert.Empty(t, cmp.Diff(want, callouts(m, 0)))
	// gfs2 has no large folios: one callout per page, blocks allocated at
	// ->iomap_begin and reported MAPPED|NEW.
	m = mustRun(t, gfs2_1k, pw(1000, 5000))
	f := FlagNew | FlagMerged
	want = []co{
		{CalloutWrite, 1000, 3096, 3096, 3096, 4096, MapMapped, f},
		{CalloutWrite, 4096, 1904, 1904, 1904, 4096, MapMapped, f},
	}
	assert.Empty(t, cmp.Diff(want, callouts(m, 0)))
	// Block 0 [0,1024) only partly written: allocated, zero before 1000.
	assert.Equal(t, []string{"Data", "Data", "Data", "Data", "Data", "Data"}, states(m))
}

// __iomap_write_end refuses a short copy into a folio that is not uptodate;
// iomap_write_iter then drops the page cache past EOF, halves the chunk and
// retries with the copied bytes.
func TestIomapWriteIter_ShortCopyRetry_bufferedio_878_900_and_1027_1042(t *testing.T) {
	m := mustRun(t, xfs4k, sc(0, 65536, 10000))
	dn := MapDelalloc
	want := []co{
		{CalloutWrite, 0, 65536, 10000, 0, 65536, dn, FlagNew},    // rejected, chunk -> 32K
		{CalloutWrite, 0, 8192, 8192, 8192, 8192, dn, FlagNew},    // fgf order of 10000 = 8K
		{CalloutWrite, 8192, 8192, 1808, 0, 8192, dn, FlagNew},    // rejected, chunk -> 16K
		{CalloutWrite, 8192, 1808, 1808, 1808, 4096, dn, FlagNew}, // retry with copied
	}
	assert.Empty(t, cmp.Diff(want, callouts(m, 0)))
	assert.Equal(t, int64(10000), m.Size())

	// Into an uptodate folio a short copy is accepted as it is (one-page
	// folios, as on a kernel without THP; gfs2 never gets a short copy,
	// see TestGfs2ShortCopyIsCutToTheReadableBytes).
	m = mustRun(t, xfs1kPage, pw(0, 4096), sc(0, 100, 50))
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 0, 100, 50, 50, 4096, MapDelalloc, 0}}, callouts(m, 1)))
	// After a remount the folio is cold: write_begin reads block 0 only,
	// the folio stays !uptodate, so the short copy is refused and retried.
	m = mustRun(t, xfs1kPage, pw(0, 4096), cases.Op{Kind: cases.Remount}, sc(0, 100, 50))
	assert.Empty(t, cmp.Diff([]co{
		{CalloutWrite, 0, 100, 50, 0, 4096, MapMapped, 0},
		{CalloutWrite, 0, 50, 50, 50, 4096, MapMapped, 0},
	}, callouts(m, 2)))
}

// gfs2_file_buffered_write faults the user buffer in before iomap and cuts
// the iov_iter to its readable part (gfs2/file.c:1038-1046): a write whose
// buffer turns unreadable after Copied bytes is a plain write of those
// bytes, never a short copy inside iomap; with nothing readable it fails
// with EFAULT before gfs2_clear_beyond_eof and iomap.
func TestGfs2ShortCopyIsCutToTheReadableBytes_gfs2_file_1038_1046(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 4096), cases.Op{Kind: cases.Remount}, sc(0, 100, 50))
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 0, 50, 50, 50, 4096, MapMapped, FlagMerged}}, callouts(m, 2)))

	m = mustRun(t, gfs2_1k, pw(0, 4096), fsync, pw(0, 100), sc(5000, 100, 0))
	assert.Empty(t, callouts(m, 3), "nothing readable: not even the EOF zeroing")
	assert.Equal(t, int64(4096), m.Size())
}

// gfs2_iomap_end frees the blocks it allocated past round_up(pos+written).
func TestGfs2IomapEnd_ShortWriteFreesNewBlocks_gfs2_bmap_1146_1197(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 1000), sc(8192, 4096, 1500), cases.Op{Kind: cases.Truncate, Off: 16384})
	// Block 9 holds bytes up to 9692 and nothing past it is allocated:
	// gfs2 cuts the write to the 1500 readable bytes before iomap_begin.
	got := states(m)
	assert.Equal(t, "Data", got[8])
	assert.Equal(t, "Data", got[9])
	assert.Equal(t, "MustBeHole", got[10])
	assert.Equal(t, "MustBeHole", got[11])
	assert.Equal(t, int64(-1), int64(m.Blocks()[10].LastOp))
}

// iomap_adjust_read_range skips leading uptodate blocks, stops before a
// trailing uptodate block, and splits the run at the block holding
// i_size-1.
func TestIomapAdjustReadRange_bufferedio_259_324(t *testing.T) {
	tests := []struct {
		name       string
		size       int64
		uptodate   []int64
		pos, len   int64
		poff, plen int64
	}{
		{"whole run inside EOF", 8192, nil, 0, 4096, 0, 4096},
		{"split at EOF block", 1500, nil, 0, 4096, 0, 2048},
		{"EOF exactly at block end", 2048, nil, 0, 4096, 0, 2048},
		{"run starting past EOF is not split", 1500, nil, 2048, 2048, 2048, 2048},
		{"leading uptodate skipped", 8192, []int64{0}, 0, 4096, 1024, 3072},
		{"trailing uptodate stops", 8192, []int64{2}, 0, 4096, 0, 2048},
		{"leading skip keeps unaligned end", 8192, []int64{0}, 512, 2560, 1024, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(xfs1k)
			require.NoError(t, err)
			m.ensure(8192)
			fs, fz := m.getFolio(0, 4096)
			require.Equal(t, int64(4096), fz)
			for _, b := range tt.uptodate {
				m.blocks[b].flags |= fUptodate
			}
			m.size = tt.size
			pos := tt.pos
			poff, plen := m.adjustReadRange(&pos, tt.len, fs, fz)
			assert.Equal(t, tt.poff, poff, "poff")
			assert.Equal(t, tt.plen, plen, "plen")
		})
	}
}

// __iomap_write_begin: a write over the whole folio does no per-block work;
// a partial write makes the touched runs uptodate, so a later short copy
// into the same folio is accepted only once the whole folio is uptodate.
func TestIomapWriteBegin_PerBlockUptodate_bufferedio_719_779(t *testing.T) {
	m := mustRun(t, xfs1k, cases.Op{Kind: cases.Truncate, Off: 8192}, fsync,
		cases.Op{Kind: cases.Remount}, pw(100, 10))
	// Blocks 0 is read/zeroed and written; blocks 1-3 untouched.
	assert.Equal(t, fUptodate|fDirty, m.blocks[0].flags)
	assert.Equal(t, uint8(0), m.blocks[1].flags)
	// A short copy into the folio is refused: the folio is not uptodate.
	require.NoError(t, m.Apply(4, sc(2000, 100, 10)))
	cs := callouts(m, 4)
	require.NotEmpty(t, cs)
	assert.Equal(t, int64(0), cs[0].Written)
}

// xfs_file_write_zero_eof zeroes [isize, pos) through iomap_zero_range,
// which only touches mapped (and in-EOF delalloc) blocks: in effect the
// tail of the old EOF block.
func TestXfsWriteZeroEOF_xfs_file_358_420_iomap_zero_range_1453_1487(t *testing.T) {
	m := mustRun(t, xfs1k, pw(0, 100), fsync, pw(5000, 10))
	want := []co{
		{CalloutZero, 100, 924, 924, 924, 4096, MapMapped, 0},
		{CalloutWrite, 5000, 10, 10, 10, 4096, MapDelalloc, FlagNew},
	}
	assert.Empty(t, cmp.Diff(want, callouts(m, 2)))
	// Unwritten preallocation past EOF is skipped (iomap_zero_iter).
	m = mustRun(t, xfs1k, pw(0, 100), fsync,
		cases.Op{Kind: cases.Fallocate, Off: 0, Len: 8192, KeepSize: true}, pw(6000, 10))
	assert.Empty(t, cmp.Diff([]co{
		{CalloutZero, 100, 924, 924, 924, 4096, MapMapped, 0},
		{CalloutWrite, 6000, 10, 10, 10, 4096, MapUnwritten, 0},
	}, callouts(m, 3)))
	assert.Equal(t, []string{"Data", "AllocatedZero", "AllocatedZero", "AllocatedZero",
		"AllocatedZero", "Data"}, states(m))
}

// With one block per folio the read in __iomap_write_begin makes the whole
// folio uptodate (no ifs), so even a cold short copy is accepted.
func TestIomapWriteEnd_BlockSizedFolioReadMakesUptodate_bufferedio_719_779_878_900(t *testing.T) {
	m := mustRun(t, xfs4kPage, pw(0, 4096), cases.Op{Kind: cases.Remount}, sc(0, 100, 50))
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 0, 100, 50, 50, 4096, MapMapped, 0}}, callouts(m, 2)))
}

// gfs2_clear_beyond_eof zeroes from i_size to the end of its page, not of
// its block, and only where blocks are mapped.
func TestGfs2ClearBeyondEOF_PageGranularity_gfs2_bmap_1318_1329(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 1500), fsync,
		cases.Op{Kind: cases.Fallocate, Off: 0, Len: 8192, KeepSize: true}, pw(9000, 10))
	want := []co{
		{CalloutZero, 1500, 2596, 2596, 2596, 4096, MapMapped, FlagMerged},
		{CalloutWrite, 9000, 10, 10, 10, 4096, MapMapped, FlagNew | FlagMerged},
	}
	assert.Empty(t, cmp.Diff(want, callouts(m, 3)))
	// fallocate on gfs2 writes zeros into real blocks.
	assert.Equal(t, []string{"Data", "Data", "AllocatedZero", "AllocatedZero", "AllocatedZero",
		"AllocatedZero", "AllocatedZero", "AllocatedZero", "Data"}, states(m))
}

// gfs2 stuffing: a write ending within bs-232 stays stuffed and is one
// INLINE mapping; a larger one unstuffs (a block only if i_size > 0);
// truncate to 0 re-stuffs, a shrink to a non-zero size does not.
func TestGfs2Stuffing_bmap_866_891_unstuff_54_148_trunc_end_2002_2035(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 792))
	st, ok := m.Stuffed()
	assert.True(t, ok)
	assert.True(t, st)
	assert.Equal(t, []string{"Inline"}, states(m))
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 0, 792, 792, 792, 4096, MapInline, 0}}, callouts(m, 0)))

	require.NoError(t, m.Apply(1, pw(792, 1)))
	st, _ = m.Stuffed()
	assert.False(t, st)
	assert.Equal(t, []string{"Data"}, states(m))
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 792, 1, 1, 1, 4096, MapMapped, FlagMerged}}, callouts(m, 1)))

	require.NoError(t, m.Apply(2, cases.Op{Kind: cases.Truncate, Off: 10}))
	st, _ = m.Stuffed()
	assert.False(t, st, "shrinking to a non-zero size keeps the inode unstuffed")
	require.NoError(t, m.Apply(3, cases.Op{Kind: cases.Truncate, Off: 0}))
	st, _ = m.Stuffed()
	assert.True(t, st, "truncate to 0 re-stuffs")

	// Unstuffing an empty inode allocates nothing for block 0.
	m = mustRun(t, gfs2_1k, pw(2000, 10))
	assert.Equal(t, []string{"MustBeHole", "Data"}, states(m))
	// Truncate up past max_stuffed unstuffs (do_grow, bmap.c:2086-2110).
	m = mustRun(t, gfs2_1k, pw(0, 10), cases.Op{Kind: cases.Truncate, Off: 3000})
	st, _ = m.Stuffed()
	assert.False(t, st)
	assert.Equal(t, []string{"Data", "MustBeHole", "MustBeHole"}, states(m))
	// A shrink of a stuffed file keeps it stuffed and clears the tail.
	m = mustRun(t, gfs2_1k, pw(0, 500), cases.Op{Kind: cases.Truncate, Off: 100})
	st, _ = m.Stuffed()
	assert.True(t, st)
	assert.Equal(t, cases.Data(0, 0, 100), m.Content())
}

// Writeback writes dirty blocks only; blocks a partial-folio write did not
// touch stay holes (iomap_writepage_map, bufferedio 1982-2067; block
// allocation per overlapping buffer in __block_write_begin_int).
func TestWriteback_DirtyBlocksOnly_bufferedio_1982_2067(t *testing.T) {
	for _, g := range []Geometry{gfs2_1k, ext2_1k, ext4_1k} {
		m := mustRun(t, g, cases.Op{Kind: cases.Truncate, Off: 4096}, pw(1500, 10), fsync)
		assert.Equal(t, []string{"MustBeHole", "Data", "MustBeHole", "MustBeHole"}, states(m), g.FS)
	}
	// xfs may preallocate: holes are not asserted.
	m := mustRun(t, xfs1k, cases.Op{Kind: cases.Truncate, Off: 4096}, pw(1500, 10), fsync)
	assert.Equal(t, []string{"MustBeHole?", "Data", "MustBeHole?", "MustBeHole?"}, states(m))
}

// page_mkwrite dirties (and allocates) every block of the faulted folio
// below EOF: iomap_page_mkwrite (bufferedio 1503-1549), gfs2_page_mkwrite
// (gfs2/file.c:416-), ext2 writeback get_block(create=1).
func TestPageMkwrite_WholeFolioBelowEOF_bufferedio_1503_1549(t *testing.T) {
	mw := cases.Op{Kind: cases.MmapWrite, Off: 10, Len: 1}
	for _, g := range []Geometry{gfs2_1k, ext2_1k, ext4_1k} {
		m := mustRun(t, g, cases.Op{Kind: cases.Truncate, Off: 3000}, mw)
		assert.Equal(t, []string{"Data", "AllocatedZero", "AllocatedZero"}, states(m), g.FS)
	}
	m := mustRun(t, xfs1k, cases.Op{Kind: cases.Truncate, Off: 3000}, mw)
	assert.Equal(t, []string{"Data", "ReadsZero?", "ReadsZero?"}, states(m))
	// A store past EOF would SIGBUS, so the op extends the file first (as
	// fsx's mapwrite does): size grows to the end of the store.
	m, err := Run(gfs2_1k, []cases.Op{{Kind: cases.MmapWrite, Off: 100, Len: 1}})
	require.NoError(t, err)
	assert.Equal(t, int64(101), m.Size())
	assert.Equal(t, make([]byte, 100), m.Content()[:100])
}

// fsx pollute_eofpage: garbage stored past EOF never shows, even after the
// file grows over it (xfs_setattr_size zeroing, xfs_iops.c:866-873;
// gfs2 do_grow, bmap.c:2086-2110).
func TestPolluteEOF_NeverSurfaces_xfs_iops_866_873(t *testing.T) {
	for _, g := range geometries {
		m := mustRun(t, g, pw(0, 1500), fsync, cases.Op{Kind: cases.PolluteEOF},
			cases.Op{Kind: cases.Truncate, Off: 6000}, pw(7000, 5))
		want := make([]byte, 7005)
		copy(want, cases.Data(0, 0, 1500))
		copy(want[7000:], cases.Data(4, 7000, 5))
		assert.Equal(t, want, m.Content(), "%s bs=%d", g.FS, g.BlockSize)
	}
}

// Truncate down zeroes the new EOF block's tail through iomap_zero_range
// (iomap_truncate_page, bufferedio 1489-1501; gfs2 trunc_start
// bmap.c:1379-1425) and frees the blocks past it.
func TestTruncateDown_ZeroTailFreeRest_bufferedio_1489_1501(t *testing.T) {
	m := mustRun(t, xfs1k, pw(0, 8192), fsync, cases.Op{Kind: cases.Truncate, Off: 1500})
	// The 8 KiB write made one 8 KiB folio (fgf_set_order(8192)).
	assert.Empty(t, cmp.Diff([]co{{CalloutZero, 1500, 548, 548, 548, 8192, MapMapped, 0}}, callouts(m, 2)))
	assert.Equal(t, []string{"Data", "Data"}, states(m))
	require.NoError(t, m.Apply(3, cases.Op{Kind: cases.Truncate, Off: 8192}))
	assert.Equal(t, []string{"Data", "Data", "MustBeHole?", "MustBeHole?", "MustBeHole?",
		"MustBeHole?", "MustBeHole?", "MustBeHole?"}, states(m))

	m = mustRun(t, gfs2_1k, pw(0, 8192), fsync, cases.Op{Kind: cases.Truncate, Off: 1500},
		cases.Op{Kind: cases.Truncate, Off: 8192})
	assert.Equal(t, []string{"Data", "Data", "MustBeHole", "MustBeHole", "MustBeHole",
		"MustBeHole", "MustBeHole", "MustBeHole"}, states(m))
}

// Punch hole frees whole blocks and zeroes partial edges; ext2 has no
// fallocate at all (ErrUnsupported), gfs2 no ZERO_RANGE.
func TestPunchAndZeroRange_xfs_bmap_util_833_gfs2_punch_2426_ext4_zero_range_4629(t *testing.T) {
	for _, g := range []Geometry{xfs1k, gfs2_1k, ext4_1k} {
		m := mustRun(t, g, pw(0, 6144), fsync, cases.Op{Kind: cases.PunchHole, Off: 1500, Len: 2600})
		got := states(m)
		assert.Equal(t, "Data", got[1], g.FS)
		hole := "MustBeHole"
		if g.FS == "xfs" {
			hole += "?"
		}
		assert.Equal(t, hole, got[2], g.FS)
		assert.Equal(t, hole, got[3], g.FS)
		assert.Equal(t, "Data", got[4], g.FS)
		assert.Equal(t, make([]byte, 2600), m.Content()[1500:4100], g.FS)
	}
	_, err := Run(ext2_1k, []cases.Op{{Kind: cases.PunchHole, Off: 0, Len: 10}})
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = Run(ext2_1k, []cases.Op{{Kind: cases.Fallocate, Off: 0, Len: 10}})
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = Run(gfs2_1k, []cases.Op{{Kind: cases.ZeroRange, Off: 0, Len: 10}})
	assert.ErrorIs(t, err, ErrUnsupported)

	m := mustRun(t, xfs1k, pw(0, 6144), fsync, cases.Op{Kind: cases.ZeroRange, Off: 1500, Len: 2600})
	assert.Equal(t, []string{"Data", "Data", "AllocatedZero", "AllocatedZero", "Data", "Data"}, states(m))
	m = mustRun(t, ext4_1k, cases.Op{Kind: cases.ZeroRange, Off: 1500, Len: 2600})
	assert.Equal(t, int64(4100), m.Size())
	assert.Equal(t, []string{"MustBeHole", "AllocatedZero", "AllocatedZero", "AllocatedZero", "AllocatedZero"}, states(m))
}

// O_DIRECT writes go around the page cache and invalidate it; gfs2 sends
// an extending or allocating direct write through the buffered path
// (gfs2_file_direct_write, gfs2/file.c:874-, 909-910).
func TestDirectWrite_Invalidate_gfs2_file_874_910(t *testing.T) {
	dw := cases.Op{Kind: cases.DirectWrite, Off: 0, Len: 4096}
	m := mustRun(t, xfs1k, pw(0, 100), dw)
	assert.Empty(t, callouts(m, 1))
	_, _, cached := m.folioAt(0)
	assert.False(t, cached, "direct write must invalidate the cached folio")
	assert.Equal(t, []string{"Data", "Data", "Data", "Data"}, states(m))

	m = mustRun(t, gfs2_1k, dw)
	assert.NotEmpty(t, callouts(m, 0), "extending direct write falls back to buffered on gfs2")
	_, _, cached = m.folioAt(0)
	assert.False(t, cached)
	_, err := Run(xfs1k, []cases.Op{{Kind: cases.DirectWrite, Off: 100, Len: 512}})
	assert.ErrorIs(t, err, ErrInvalid)
}

// chattr +j on gfs2 flushes and drops the cache and moves writes to the
// buffer-head path (IOMAP_F_BUFFER_HEAD, gfs2/bmap.c:1102-1103;
// gfs2_set_flags, gfs2/file.c:243-256).
func TestJournalData_BufferHead_gfs2_bmap_1102_1103_file_243_256(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 2000), cases.Op{Kind: cases.JournalData}, pw(100, 10))
	assert.True(t, m.JournalData())
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 100, 10, 10, 10, 4096, MapMapped, FlagMerged | FlagBufferHead}}, callouts(m, 2)))
	_, err := Run(xfs4k, []cases.Op{{Kind: cases.JournalData}})
	assert.ErrorIs(t, err, ErrUnsupported)
}

// ext2/ext4 take the buffer-head path: one ->write_begin/->write_end per
// page (generic_perform_write, mm/filemap.c:4034-); a short copy into a
// non-uptodate page is zeroed (block_write_end, fs/buffer.c:2268-) and
// retried; the NEW buffers of the failed range below EOF end up mapped
// zeros (folio_zero_new_buffers, buffer.c:2005-).
func TestBufferHeadPath_ext_generic_perform_write_4034(t *testing.T) {
	m := mustRun(t, ext4_1k, pw(1000, 5000))
	assert.Empty(t, cmp.Diff([]co{
		{CalloutAops, 1000, 3096, 3096, 3096, 4096, MapNone, 0},
		{CalloutAops, 4096, 1904, 1904, 1904, 4096, MapNone, 0},
	}, callouts(m, 0)))
	m = mustRun(t, ext2_1k, cases.Op{Kind: cases.Truncate, Off: 8192}, sc(0, 4096, 1500))
	assert.Empty(t, cmp.Diff([]co{
		{CalloutAops, 0, 4096, 1500, 0, 4096, MapNone, 0},
		{CalloutAops, 0, 1500, 1500, 1500, 4096, MapNone, 0},
	}, callouts(m, 1)))
	assert.Equal(t, []string{"Data", "Data", "AllocatedZero", "AllocatedZero",
		"MustBeHole", "MustBeHole", "MustBeHole", "MustBeHole"}, states(m))
}

func TestNewNamesBadField(t *testing.T) {
	for _, tt := range []struct {
		g     Geometry
		field string
	}{
		{Geometry{FS: "btrfs", BlockSize: 4096, PageSize: 4096}, "FS"},
		{Geometry{FS: "xfs", BlockSize: 3000, PageSize: 4096}, "BlockSize"},
		{Geometry{FS: "ext4", BlockSize: 8192, PageSize: 4096}, "BlockSize"},
		{Geometry{FS: "xfs", BlockSize: 4096, PageSize: 1000}, "PageSize"},
		{Geometry{FS: "gfs2", BlockSize: 4096, PageSize: 4096, MaxFolio: 8192}, "MaxFolio"},
		{Geometry{FS: "xfs", BlockSize: 16384, PageSize: 4096, MaxFolio: 8192}, "MaxFolio"},
	} {
		_, err := New(tt.g)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.field)
	}
	m, err := New(Geometry{FS: "xfs", BlockSize: 4096, PageSize: 4096})
	require.NoError(t, err)
	assert.Equal(t, int64(2<<20), m.Geometry().MaxFolio)
}

func TestRunNamesOpIndex(t *testing.T) {
	_, err := Run(ext2_1k, []cases.Op{pw(0, 1), {Kind: cases.Fallocate, Off: 0, Len: 1}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "op 1")
	assert.True(t, errors.Is(err, ErrUnsupported))
}

func TestStrings(t *testing.T) {
	b := Block{Index: 3, State: Data, LastOp: 7, MayBeAllocated: true}
	assert.Equal(t, "block 3: Data (last written by op 7) [may be allocated]", b.String())
	assert.Equal(t, "block 0: MustBeHole", Block{State: MustBeHole, LastOp: -1}.String())
	assert.Equal(t, "BlockState(99)", BlockState(99).String())
	c := Callout{Op: 2, Kind: CalloutWrite, Pos: 0x10, Len: 0x20, Copied: 0x20, Written: 0x20,
		FolioPos: 0, FolioSize: 0x1000, Map: MapMapped, Flags: FlagNew | FlagMerged}
	assert.Equal(t, "op 2 write folio@0x0+0x1000 pos=0x10 len=0x20 copied=0x20 written=0x20 map=MAPPED flags=NEW|MERGED", c.String())
}

// The last writer of each block is tracked for failure reports.
func TestLastOp(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 3000), pw(1500, 10), cases.Op{Kind: cases.PunchHole, Off: 2048, Len: 1024})
	var last []int
	for _, b := range m.Blocks() {
		last = append(last, b.LastOp)
	}
	assert.Equal(t, []int{0, 1, -1}, last)
}

func readsOf(m *Model, op int) []Read {
	var out []Read
	for _, r := range m.Reads() {
		if r.Op == op {
			out = append(out, r)
		}
	}
	return out
}

// iomap_block_needs_zeroing: a partial block is read from disk only for an
// existing MAPPED extent below EOF; DELALLOC, UNWRITTEN, MAPPED|NEW and
// blocks at or past EOF are zeroed. iomap_adjust_read_range splits the
// run at the EOF block so the part past EOF is zeroed, not read.
func TestIomapBlockNeedsZeroing_bufferedio_394_402_and_EOFSplit_314_320(t *testing.T) {
	cold := []cases.Op{pw(0, 1500), fsync, {Kind: cases.Remount}}
	tests := []struct {
		name  string
		g     Geometry
		ops   []cases.Op
		reads []Read
	}{
		{"MAPPED below EOF is read", gfs2_1k, append(cold, pw(100, 10)),
			[]Read{{3, 0, 1024}}},
		// The only read is gfs2_clear_beyond_eof zeroing the tail of the
		// mapped EOF block 1; block 2 (MAPPED|NEW) is zeroed.
		{"MAPPED|NEW is zeroed", gfs2_1k, append(cold, pw(2100, 10)), []Read{{3, 1024, 1024}}},
		{"UNWRITTEN is zeroed", xfs1k, []cases.Op{{Kind: cases.Fallocate, Off: 0, Len: 4096}, pw(100, 10)}, nil},
		{"DELALLOC|NEW is zeroed", xfs1k, []cases.Op{pw(5000, 10)}, nil},
		{"run split at the EOF block", gfs2_1k, []cases.Op{pw(0, 1500),
			{Kind: cases.Fallocate, Off: 0, Len: 4096, KeepSize: true}, fsync, {Kind: cases.Remount}, pw(100, 2200)},
			[]Read{{4, 0, 2048}}},
		{"bh path reads the partial mapped buffer", ext2_1k, append(cold, pw(100, 10)),
			[]Read{{3, 0, 1024}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRun(t, tt.g, tt.ops...)
			assert.Empty(t, cmp.Diff(tt.reads, readsOf(m, len(tt.ops)-1)))
		})
	}
}

func TestCoalesceCallouts(t *testing.T) {
	in := []Callout{
		{Op: 1, Pos: 0, Len: 1024, Copied: 1024, Written: 1024, FolioSize: 4096, Map: MapMapped, Flags: FlagMerged | 1<<9},
		{Op: 1, Pos: 1024, Len: 3072, Copied: 3072, Written: 3072, FolioSize: 4096, Map: MapMapped, Flags: FlagMerged},
		{Op: 1, Pos: 4096, Len: 100, Copied: 50, Written: 0, FolioPos: 4096, FolioSize: 4096, Map: MapMapped, Flags: FlagMerged},
		{Op: 1, Pos: 4096, Len: 50, Copied: 50, Written: 50, FolioPos: 4096, FolioSize: 4096, Map: MapMapped, Flags: FlagMerged},
	}
	want := []Callout{
		{Op: 1, Pos: 0, Len: 4096, Copied: 4096, Written: 4096, FolioSize: 4096, Map: MapMapped, Flags: FlagMerged},
		in[2], in[3],
	}
	assert.Empty(t, cmp.Diff(want, CoalesceCallouts(in)))
}

// xfs with blocks larger than a page (LBS, xfs_super.c:1653-1670): folios
// have a minimum order covering a block, so a sub-block write zeroes or
// reads the whole block inside one multi-page folio.
func TestXfsLargeBlocks_MinFolioOrder_xfs_super_1653_1670(t *testing.T) {
	g := Geometry{FS: "xfs", BlockSize: 16384, PageSize: 4096, MaxFolio: 64 << 10}
	m := mustRun(t, g, pw(20000, 10))
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 20000, 10, 10, 10, 16384, MapDelalloc, FlagNew}}, callouts(m, 0)))
	assert.Equal(t, []string{"MustBeHole?", "Data"}, states(m))
	m = mustRun(t, g, pw(0, 20000), fsync, cases.Op{Kind: cases.Remount}, pw(100, 10))
	assert.Empty(t, cmp.Diff([]Read{{3, 0, 16384}}, readsOf(m, 3)))
}

// pwritev chunks by iov_iter_count, not by iovec (iomap_write_iter,
// bufferedio 963-966), so a writev makes the same callouts as a pwrite;
// O_APPEND writes at i_size.
func TestWritevAndAppend_bufferedio_963_966(t *testing.T) {
	wv := cases.Op{Kind: cases.Writev, Off: 1000, Len: 5000, Segs: []int64{1, 4000, 999}}
	a := mustRun(t, gfs2_1k, wv)
	b := mustRun(t, gfs2_1k, pw(1000, 5000))
	assert.Empty(t, cmp.Diff(callouts(b, 0), callouts(a, 0)))
	assert.Equal(t, b.Content(), a.Content())

	m := mustRun(t, xfs1k, pw(0, 1500), cases.Op{Kind: cases.Append, Len: 100})
	assert.Equal(t, int64(1600), m.Size())
	assert.Empty(t, cmp.Diff([]co{{CalloutWrite, 1500, 100, 100, 100, 4096, MapDelalloc, 0}}, callouts(m, 1)),
		"the EOF block is still delalloc: no EOF zeroing, no NEW")
}

// drop_caches and remount write back dirty data, then leave the cache cold.
func TestDropCachesColdCache(t *testing.T) {
	m := mustRun(t, xfs1k, pw(0, 3000), cases.Op{Kind: cases.DropCaches})
	_, _, cached := m.folioAt(0)
	assert.False(t, cached)
	assert.Equal(t, []string{"Data", "Data", "Data"}, states(m))
	for i := 0; i < 3; i++ {
		assert.Equal(t, uint8(0), m.blocks[i].flags, "block %d", i)
	}
}

// ext4_punch_hole (ext4/inode.c:4036-4046) does nothing at or past i_size
// and stops a range running past it at the end of the page holding i_size,
// so unwritten blocks preallocated beyond EOF survive a punch.
func TestExt4PunchHoleClipsAtEOF_ext4inode_4036_4046(t *testing.T) {
	m := mustRun(t, ext4_1k,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 100},
		cases.Op{Kind: cases.Fallocate, Off: 8192, Len: 2048, KeepSize: true},
		cases.Op{Kind: cases.PunchHole, Off: 0, Len: 16384},
		cases.Op{Kind: cases.PunchHole, Off: 4096, Len: 8192},
		cases.Op{Kind: cases.Fsync})
	assert.Equal(t, int64(100), m.Size())
	assert.Equal(t, make([]byte, 100), m.Content(), "the punch inside EOF zeroes")
	un := mustRun(t, ext4_1k,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 100},
		cases.Op{Kind: cases.Fallocate, Off: 8192, Len: 2048, KeepSize: true},
		cases.Op{Kind: cases.Truncate, Off: 20000})
	// Without the punch, blocks 8 and 9 are unwritten; with it, they must
	// still be (the punch stopped at the page holding EOF).
	assert.Equal(t, un.Blocks()[8].State, mustRun(t, ext4_1k,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 100},
		cases.Op{Kind: cases.Fallocate, Off: 8192, Len: 2048, KeepSize: true},
		cases.Op{Kind: cases.PunchHole, Off: 0, Len: 16384},
		cases.Op{Kind: cases.Truncate, Off: 20000}).Blocks()[8].State)
}

// gfs2 refuses O_DIRECT opens (gfs2/file.c:636-637) and fallocate/punch
// (file.c:1388-1389) on jdata files.
func TestGfs2JdataRefusesDirectAndFallocate_gfs2file_636_1388(t *testing.T) {
	for _, op := range []cases.Op{
		{Kind: cases.DirectWrite, Off: 0, Len: 4096},
		{Kind: cases.Fallocate, Off: 0, Len: 4096},
		{Kind: cases.PunchHole, Off: 0, Len: 4096},
	} {
		_, err := Run(gfs2_1k, []cases.Op{{Kind: cases.JournalData}, {Kind: cases.PWrite, Off: 0, Len: 5000}, op})
		assert.ErrorIs(t, err, ErrUnsupported, "%s", op)
	}
}

// __gfs2_fallocate without KEEP_SIZE zeroes the EOF page's tail first
// (gfs2/file.c:1271-1275), like a write past EOF; with KEEP_SIZE it does
// not.
func TestGfs2FallocateClearsBeyondEOF_gfs2_file_1271_1275(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 1500), fsync, cases.Op{Kind: cases.Fallocate, Off: 4096, Len: 1024})
	assert.Empty(t, cmp.Diff([]co{{CalloutZero, 1500, 548, 548, 548, 4096, MapMapped, FlagMerged}}, callouts(m, 2)))
	assert.Equal(t, int64(5120), m.Size())
	m = mustRun(t, gfs2_1k, pw(0, 1500), fsync, cases.Op{Kind: cases.Fallocate, Off: 4096, Len: 1024, KeepSize: true})
	assert.Empty(t, callouts(m, 2))
}

// xfs_free_file_space (punch, zero range) zeroes its range cut at EOF
// (xfs_bmap_util.c:883-891), not the whole edge block; growing the file
// then zeroes from the old EOF on (xfs_setattr_size).
func TestXfsFreeFileSpaceZeroesOnlyBelowEOF_xfs_bmap_util_883_891(t *testing.T) {
	m := mustRun(t, xfs1kPage, pw(0, 0x64), cases.Op{Kind: cases.ZeroRange, Off: 0x32, Len: 0x803})
	assert.Empty(t, cmp.Diff([]co{
		{CalloutZero, 0x32, 0x32, 0x32, 0x32, 4096, MapMapped, 0},
		{CalloutZero, 0x64, 0x39c, 0x39c, 0x39c, 4096, MapMapped, 0},
	}, callouts(m, 1)))
	m = mustRun(t, xfs1kPage, pw(0, 0x464), cases.Op{Kind: cases.ZeroRange, Off: 0x432, Len: 0xc00, KeepSize: true})
	assert.Empty(t, cmp.Diff([]co{{CalloutZero, 0x432, 0x32, 0x32, 0x32, 4096, MapMapped, 0}}, callouts(m, 1)))
	m = mustRun(t, xfs1kPage, pw(0, 0x464), cases.Op{Kind: cases.PunchHole, Off: 0x500, Len: 0x100})
	assert.Empty(t, callouts(m, 1), "past EOF: nothing zeroed")
}

// Zeroing over a hole is skipped, and the model says where.
func TestZeroSkipsAreRecorded_bufferedio_1409_1416(t *testing.T) {
	m := mustRun(t, xfs1kPage, pw(0, 100), fsync, pw(5000, 10))
	assert.Equal(t, []Span{{Op: 2, Pos: 1024, Len: 5000 - 1024}}, m.ZeroSkips())
}

// folioOf returns the cached folio holding page p as (first page, pages),
// or (-1, 0) when p is not cached.
func folioOf(m *Model, p int64) (int64, int64) {
	s, z, ok := m.folioAt(p << m.pbits)
	if !ok {
		return -1, 0
	}
	return s >> m.pbits, z >> m.pbits
}

var xfs1kTHP = Geometry{FS: "xfs", BlockSize: 1024, PageSize: 4096, MaxFolio: 2 << 20}

// A store to an uncached page reads around it: do_sync_mmap_readahead
// (mm/filemap.c:3198-3207) sets a window of ra_pages (32) from 16 pages
// before the fault, and page_cache_ra_order (mm/readahead.c:452-505) fills
// it with order-2 folios when the mapping has large folios. page_mkwrite
// then dirties the whole faulted folio, so on xfs the 16 KiB around the
// store get delalloc and are written by msync: a later zero range whose
// first block lies in that folio but not in the stored page zeroes it
// (random-xfs-37 and -48 on v2 with THP). With one-page folios the same
// window is read in pages and only the stored page is dirtied.
func TestDoSyncMmapReadahead_ReadAroundOrder2_filemap_3146_3208_readahead_452_505(t *testing.T) {
	ops := []cases.Op{
		{Kind: cases.Truncate, Off: 0x40000},
		{Kind: cases.MmapWrite, Off: 0x20010, Len: 0x10}, // page 32
		{Kind: cases.ZeroRange, Off: 0x23c3d, Len: 0x800},
	}
	m := mustRun(t, xfs1kTHP, ops[:2]...)
	for p := int64(16); p < 48; p++ {
		s, n := folioOf(m, p)
		assert.Equal(t, [2]int64{p &^ 3, 4}, [2]int64{s, n}, "page %d", p)
	}
	s, _ := folioOf(m, 48)
	assert.Equal(t, int64(-1), s, "the window ends at page 47")
	assert.True(t, m.fra[40], "PG_readahead on the folio holding start+size-async_size")
	assert.Equal(t, raState{start: 16, size: 32, async: 8, mmapMiss: 1}, m.ra)
	// xfs_flush_unmap_range then splits the folio; the blocks stay.
	m = mustRun(t, xfs1kTHP, ops...)
	assert.Equal(t, []co{{CalloutZero, 0x23c3d, 0x3c3, 0x3c3, 0x3c3, 0x1000, MapMapped, 0}}, callouts(m, 2),
		"block 0x23c00 was allocated by page_mkwrite of folio [0x20000, 0x24000)")

	m = mustRun(t, xfs1kPage, ops[:2]...)
	for _, p := range []int64{16, 32, 47} {
		s, n := folioOf(m, p)
		assert.Equal(t, [2]int64{p, 1}, [2]int64{s, n}, "one-page folios: page %d", p)
	}
	m = mustRun(t, xfs1kPage, ops...)
	assert.Empty(t, callouts(m, 2), "block 0x23c00 is still a hole")
}

// The window stops at the first cached page (filemap_add_folio -EEXIST,
// mm/readahead.c:501-503) and do_page_cache_ra reads ra->size pages from
// there in minimum-order folios, skipping cached ones (readahead.c:302-321,
// 244-296), past the original window; it is cut at the EOF page, as the
// order-2 folios are shrunk not to pass it (readahead.c:498-500).
func TestPageCacheRaOrder_EEXISTFallsBackToPages_readahead_452_519_do_page_cache_ra_302_321(t *testing.T) {
	m := mustRun(t, xfs1kTHP,
		cases.Op{Kind: cases.Truncate, Off: 0x3a800}, // EOF in page 58
		pw(0x1e000, 0x10), // page 30 cached
		cases.Op{Kind: cases.MmapWrite, Off: 0x20010, Len: 0x10})
	for _, c := range []struct{ p, s, n int64 }{
		{16, 16, 4}, {27, 24, 4}, {28, 28, 1}, {30, 30, 1}, {32, 32, 1}, {47, 47, 1}, {58, 58, 1}, {59, -1, 0},
	} {
		s, n := folioOf(m, c.p)
		assert.Equal(t, [2]int64{c.s, c.n}, [2]int64{s, n}, "page %d", c.p)
	}
	assert.True(t, m.fra[51], "the fallback marks index+nr-lookahead, nr cut at EOF: 28+31-8")

	m = mustRun(t, xfs1kTHP,
		cases.Op{Kind: cases.Truncate, Off: 0x26800}, // EOF in page 38
		cases.Op{Kind: cases.MmapWrite, Off: 0x20010, Len: 0x10})
	for _, c := range []struct{ p, s, n int64 }{{32, 32, 4}, {36, 36, 2}, {38, 38, 1}, {39, -1, 0}} {
		s, n := folioOf(m, c.p)
		assert.Equal(t, [2]int64{c.s, c.n}, [2]int64{s, n}, "page %d", c.p)
	}
}

// Storing on into the folio that carries PG_readahead reads the next
// window: do_async_mmap_readahead (mm/filemap.c:3215-3237) and
// page_cache_async_ra (mm/readahead.c:611-674) move the window on by its
// size at the expected index and ask page_cache_ra_order for the folio's
// order plus 2: 64 KiB folios after 16 KiB ones.
func TestPageCacheAsyncRa_NextWindowLargerFolios_readahead_611_674(t *testing.T) {
	m := mustRun(t, xfs1kTHP,
		cases.Op{Kind: cases.Truncate, Off: 0x80000},
		cases.Op{Kind: cases.MmapWrite, Off: 0x20000, Len: 0xa000}) // pages 32..41
	for _, c := range []struct{ p, s, n int64 }{{40, 40, 4}, {48, 48, 16}, {79, 64, 16}, {80, -1, 0}} {
		s, n := folioOf(m, c.p)
		assert.Equal(t, [2]int64{c.s, c.n}, [2]int64{s, n}, "page %d", c.p)
	}
	assert.False(t, m.fra[40], "the flag is cleared on the hit")
	assert.True(t, m.fra[48])
	assert.Equal(t, raState{start: 48, size: 32, async: 32}, m.ra, "one miss, nine hits")

	// A remount reopens the file: the next miss starts from a fresh f_ra.
	m = mustRun(t, xfs1kTHP,
		cases.Op{Kind: cases.Truncate, Off: 0x80000},
		cases.Op{Kind: cases.MmapWrite, Off: 0x20000, Len: 1},
		cases.Op{Kind: cases.Remount})
	assert.Equal(t, raState{}, m.ra)
}

// filemap_write_and_wait_range (msync, O_DIRECT, the zero-range flush)
// writes the dirty folios overlapping its range and no others; with 2 MiB
// folios possible, rounding the range to that size would clean folios the
// kernel leaves dirty.
func TestWriteback_OnlyOverlappingFolios_filemap_write_and_wait_range(t *testing.T) {
	m := mustRun(t, xfs1kTHP, pw(0x40000, 0x10), pw(0, 0x10), cases.Op{Kind: cases.DirectWrite, Off: 0x30000, Len: 0x400})
	assert.NotZero(t, m.blocks[0].flags&fDirty, "block 0 is not in the direct write's range")
	m = mustRun(t, xfs1kTHP, pw(0, 0x10), fsync)
	assert.Zero(t, m.blocks[0].flags&fDirty)
}

// Past i_size __gfs2_iomap_get does not size a hole with gfs2_hole_size
// (bmap.c:947-949): the hole is the whole rest of the request, so zeroing
// past EOF skips a block fallocated (KEEP_SIZE) beyond the hole too
// (random-gfs2-115 and -117 at seed 101 on gfs2-1k, v1 and v2).
func TestGfs2HolePastEOFSpansTheRequest_gfs2_bmap_947_949(t *testing.T) {
	m := mustRun(t, gfs2_1k, pw(0, 1500), fsync,
		cases.Op{Kind: cases.Fallocate, Off: 3072, Len: 1024, KeepSize: true}, pw(9000, 10))
	assert.Empty(t, cmp.Diff([]co{
		{CalloutZero, 1500, 548, 548, 548, 4096, MapMapped, FlagMerged},
		{CalloutWrite, 9000, 10, 10, 10, 4096, MapMapped, FlagNew | FlagMerged},
	}, callouts(m, 3)))
	// The skipped block was zeroed by fallocate: the bytes are zero anyway.
	assert.Equal(t, "AllocatedZero", states(m)[3])
}
