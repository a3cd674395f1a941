package cases

// Range shifts (fallocate COLLAPSE_RANGE, INSERT_RANGE; ext4 and xfs) with
// dirty data cached before and inside the moved range: the page cache from
// the shift point on must be written back and dropped
// (xfs_prepare_shift -> xfs_flush_unmap_range, fs/xfs/xfs_bmap_util.c:807-961;
// ext4_collapse_range / ext4_insert_range, fs/ext4/extents.c:5334-5549)
// or cached folios would keep the bytes of their old offsets. Reads after
// the shift see the moved bytes; writes after it land at the new offsets.
// Offsets and lengths are multiples of the page (and so of every block
// size), or of the block where a case is about sub-page blocks.
var shiftCases = []Case{
	{
		Name: "collapse-middle-dirty",
		Doc:  "collapse two pages in the middle of a written file with dirty data before, inside and after the range; read, then write at the seam",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 8*pageSize), fsyncOp, pwrite(pageSize-5, 10), pwrite(2*pageSize+10, 100),
				pwrite(5*pageSize+3, 50), collapse(pageSize, 2*pageSize), read(0, 6*pageSize),
				pwrite(pageSize-1, 2), read(0, 2*pageSize), fsyncOp)
		},
	},
	{
		Name: "collapse-start",
		Doc:  "collapse the first block of a file with everything dirty; read and mapread the shifted bytes",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 6*pageSize), collapse(0, bs), read(0, 2*pageSize), mapread(0, pageSize),
				read(5*pageSize, pageSize))
		},
	},
	{
		Name: "collapse-near-eof",
		Doc:  "collapse the page before a partial EOF block: the EOF block moves down; then a write past the new EOF (EOF zeroing) and a read across it",
		Only: withShift,
		Gen: func(bs int64) []Op {
			size := int64(5*pageSize + 123)
			return ops(pwrite(0, size), collapse(3*pageSize, pageSize), read(2*pageSize, 3*pageSize),
				pwrite(size-pageSize+bs, 10), read(4*pageSize, 2*pageSize), fsyncOp)
		},
	},
	{
		Name: "collapse-subpage-block",
		Doc:  "collapse one block inside a cached, partly dirty page (1k blocks: the page is split by the shift)",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*pageSize), fsyncOp, dropCachesOp, pwrite(bs+1, 10), read(0, 10),
				collapse(2*bs, bs), read(0, 2*pageSize), pwrite(2*bs+2, 3), fsyncOp, dropCachesOp, read(0, 3*bs))
		},
	},
	{
		Name: "collapse-unwritten",
		Doc:  "collapse across written and fallocated (unwritten) blocks; the unwritten ones move and still read zero",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*pageSize), falloc(2*pageSize, 2*pageSize), pwrite(4*pageSize, 100),
				collapse(pageSize, 2*pageSize), read(0, 3*pageSize), fsyncOp)
		},
	},
	{
		Name: "insert-middle-dirty",
		Doc:  "insert two pages into the middle of a file with dirty data around the point; read, write into the new hole, read again",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*pageSize), fsyncOp, pwrite(pageSize-7, 100), pwrite(3*pageSize+1, 5),
				insert(pageSize, 2*pageSize), read(0, 7*pageSize), pwrite(2*pageSize+3, 10),
				read(pageSize, 2*pageSize), fsyncOp)
		},
	},
	{
		Name: "insert-start",
		Doc:  "insert one block at offset 0 of a dirty file; mapread the shifted start",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*pageSize+5), insert(0, bs), read(0, 3*pageSize), mapread(0, pageSize))
		},
	},
	{
		Name: "insert-eof-block",
		Doc:  "insert at the start of a partial EOF block: the block moves up with its zero tail inside the file (xfs zeroes it growing the size first); then write past the new EOF",
		Only: withShift,
		Gen: func(bs int64) []Op {
			size := int64(3*pageSize + 100)
			return ops(pwrite(0, size), insert(3*pageSize, pageSize), read(3*pageSize, 2*pageSize),
				pwrite(size+pageSize+bs, 7), read(3*pageSize, 3*pageSize), fsyncOp)
		},
	},
	{
		Name: "insert-after-pollute",
		Doc:  "garbage stored past EOF through mmap, then an insert before EOF: the old EOF page's tail becomes file data and must read zero",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, pageSize+100), pollute, insert(0, pageSize), read(pageSize, 2*pageSize), fsyncOp)
		},
	},
	{
		Name: "collapse-small-folios",
		Doc:  "pages written one by one (one small folio each, also on xfs), clean, then a one-page collapse: the folios after the range hold the old offsets' bytes unless the shift drops them",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, pageSize), pwrite(pageSize, pageSize), pwrite(2*pageSize, pageSize),
				pwrite(3*pageSize, pageSize), pwrite(4*pageSize, 10), fsyncOp, collapse(pageSize, pageSize),
				read(0, 4*pageSize), mapread(2*pageSize, pageSize))
		},
	},
	{
		Name: "insert-small-folios",
		Doc:  "pages written one by one, one page dirty, then a one-page insert: the folios from the insert point on must not keep their old offsets",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, pageSize), pwrite(pageSize, pageSize), pwrite(2*pageSize, pageSize),
				fsyncOp, pwrite(2*pageSize+1, 5), insert(pageSize, pageSize), read(0, 4*pageSize))
		},
	},
	{
		Name: "collapse-insert-cold",
		Doc:  "collapse then insert on a cold cache after remount, with reads between",
		Only: withShift,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 6*pageSize+1), remountOp, collapse(2*pageSize, bs), read(0, 6*pageSize),
				insert(bs, 2*bs), read(0, 2*pageSize), pwrite(bs+1, 1), fsyncOp)
		},
	},
}
