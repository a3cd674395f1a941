package reference

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
)

var ext2_4k = Geometry{FS: "ext2", BlockSize: 4096, PageSize: 4096}

func polluted(t *testing.T, g Geometry, ops ...cases.Op) []Allowance {
	t.Helper()
	a, err := Polluted(g, ops, "")
	require.NoError(t, err)
	return a
}

// An O_DIRECT write past EOF on ext2 moves i_size in ext2_dio_write_end_io
// (fs/ext2/file.c:198-202) and invalidates only its own range
// (iomap_dio_rw → kiocb_invalidate_pages), so the garbage polluteeof stored
// past the old EOF stays in the cached EOF page, now inside EOF: a read
// right after returns it (random-ext2-18). A later truncate down below it
// zeroes it in the cache (truncate_inode_partial_folio), so none is left
// at the end.
func TestPolluted_DirectWriteGrowthExposes_ext2_file_198_202(t *testing.T) {
	ops := []cases.Op{pw(0, 5000), {Kind: cases.PolluteEOF},
		{Kind: cases.DirectWrite, Off: 16384, Len: 4096}}
	assert.Equal(t, []Allowance{{Off: 5000, End: 8192, Value: PolluteByte, Op: 1}},
		polluted(t, ext2_4k, ops...))
	ops = append(ops, cases.Op{Kind: cases.Truncate, Off: 4000})
	assert.Empty(t, polluted(t, ext2_4k, ops...))
}

// Garbage a size change brought inside EOF is file data: a collapse removes
// the part in [off, off+len) and moves the rest down by len; its writeback
// of the page cache from the page holding off to EOF (ext4_collapse_range,
// fs/ext4/extents.c:5371-5377) zeroes what is past EOF (random-ext4-174:
// polluteeof, an O_DIRECT write past EOF, then a collapse below the
// garbage).
func TestPolluted_CollapseMovesGarbage_ext4_extents_5371_5377(t *testing.T) {
	base := []cases.Op{pw(0, 5000), {Kind: cases.PolluteEOF},
		{Kind: cases.DirectWrite, Off: 16384, Len: 4096}}
	// Below the garbage: it moves down by a block.
	got := polluted(t, ext4_4k, append(base, cases.Op{Kind: cases.Collapse, Off: 0, Len: 4096})...)
	assert.Equal(t, []Allowance{{Off: 904, End: 4096, Value: PolluteByte, Op: 1}}, got)
	// Over the garbage: the removed part is gone, nothing moves over it.
	got = polluted(t, ext4_4k, append(base, cases.Op{Kind: cases.Collapse, Off: 4096, Len: 4096})...)
	assert.Empty(t, got)
	// Garbage still past EOF is written back zeroed (and dropped) by the
	// collapse, so a later growth no longer exposes it.
	past := []cases.Op{pw(0, 9000), {Kind: cases.PolluteEOF},
		{Kind: cases.Collapse, Off: 0, Len: 4096}, {Kind: cases.Truncate, Off: 20000}}
	assert.Empty(t, polluted(t, ext4_4k, past...))
}

// An insert moves the garbage at or after off up by len, and like a
// collapse writes back and drops the cache from the page holding off
// (ext4_insert_range, fs/ext4/extents.c:5467-5471).
func TestPolluted_InsertMovesGarbage_ext4_extents_5467_5471(t *testing.T) {
	base := []cases.Op{pw(0, 5000), {Kind: cases.PolluteEOF},
		{Kind: cases.DirectWrite, Off: 16384, Len: 4096}}
	got := polluted(t, ext4_4k, append(base, cases.Op{Kind: cases.Insert, Off: 4096, Len: 8192})...)
	assert.Equal(t, []Allowance{{Off: 13192, End: 16384, Value: PolluteByte, Op: 1}}, got)
	// After the garbage: nothing moves.
	got = polluted(t, ext4_4k, append(base, cases.Op{Kind: cases.Insert, Off: 8192, Len: 4096})...)
	assert.Equal(t, []Allowance{{Off: 5000, End: 8192, Value: PolluteByte, Op: 1}}, got)
	// Past EOF at the time of the insert: zeroed by its writeback.
	past := []cases.Op{pw(0, 9000), {Kind: cases.PolluteEOF},
		{Kind: cases.Insert, Off: 0, Len: 4096}, {Kind: cases.Truncate, Off: 20000}}
	assert.Empty(t, polluted(t, ext4_4k, past...))
}
