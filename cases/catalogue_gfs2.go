package cases

// gfs2 stuffed inodes keep data inside the dinode block, after the 232-byte
// struct gfs2_dinode, while pos+len <= gfs2_max_stuffed_size (bs - 232).
// gfs2_iomap_begin_write (fs/gfs2/bmap.c:1009) unstuffs through
// gfs2_unstuff_dinode when a write goes past it; do_grow (bmap.c:2086)
// unstuffs on a truncate up past it; trunc_end re-stuffs on truncate to 0.
// jdata files (chattr +j) write through buffer heads and per-folio
// transactions (IOMAP_F_BUFFER_HEAD, gfs2_iomap_folio_ops,
// gfs2_trans_add_databufs).
var gfs2Cases = []Case{
	{
		Name: "gfs2-stuffed-exact-max",
		Doc:  "a write ending exactly at bs-232 stays stuffed (IOMAP_INLINE from __gfs2_iomap_get); the dinode tail past EOF is zero",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, gfs2MaxStuffed(bs)), fsyncOp) },
	},
	{
		Name: "gfs2-unstuff-max-plus-one",
		Doc:  "a write ending at bs-232+1 unstuffs: an empty file gets its data block directly (gfs2_iomap_begin_write's unstuff test)",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, gfs2MaxStuffed(bs)+1), fsyncOp) },
	},
	{
		Name: "gfs2-stuffed-max-minus-one-then-unstuff",
		Doc:  "stuffed at bs-233, then a 2-byte write ending at bs-231: gfs2_unstuff_dinode copies the stuffed bytes into block 0 (gfs2_unstuffer_folio) and the write lands on top",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			m := gfs2MaxStuffed(bs)
			return ops(pwrite(0, m-1), pwrite(m-1, 2), fsyncOp)
		},
	},
	{
		Name: "gfs2-stuffed-grow-to-max",
		Doc:  "stuffed at bs-233, then one byte at bs-233: ends exactly at the maximum and stays stuffed",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			m := gfs2MaxStuffed(bs)
			return ops(pwrite(0, m-1), fsyncOp, pwrite(m-1, 1), fsyncOp)
		},
	},
	{
		Name: "gfs2-unstuff-by-truncate-up",
		Doc:  "a small stuffed file truncated up to bs-231 unstuffs (do_grow); the bytes past the old EOF read zero",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), truncate(gfs2MaxStuffed(bs)+1), fsyncOp) },
	},
	{
		Name: "gfs2-stuffed-truncate-up-to-max",
		Doc:  "a stuffed file truncated up to exactly bs-232 stays stuffed (do_grow's gfs2_clear_beyond_eof branch)",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), truncate(gfs2MaxStuffed(bs)), fsyncOp) },
	},
	{
		Name: "gfs2-restuff-after-truncate-zero",
		Doc:  "a two-block file truncated to 0 is re-stuffed (trunc_end), and a write ending at bs-233 stays stuffed",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), fsyncOp, truncate(0), pwrite(0, gfs2MaxStuffed(bs)-1), fsyncOp)
		},
	},
	{
		Name: "gfs2-unstuffed-shrink-below-max",
		Doc:  "unstuffed at bs-231, truncated to bs-233: shrinking to a non-zero size does not re-stuff (trunc_start's gfs2_block_zero_range on the unstuffed inode)",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			m := gfs2MaxStuffed(bs)
			return ops(pwrite(0, m+1), fsyncOp, truncate(m-1), pwrite(10, 10), fsyncOp)
		},
	},
	{
		Name: "gfs2-stuffed-write-at-offset",
		Doc:  "an empty file written one byte at bs-233: the write ends at the maximum, the file is stuffed with a zero gap before the byte",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(gfs2MaxStuffed(bs)-1, 1), fsyncOp) },
	},
	{
		Name: "gfs2-stuffed-gap-unstuff",
		Doc:  "stuffed with ten bytes, then one byte at bs-232 (ending one past the maximum): the unstuffed block 0 holds the ten bytes, zeros, the new byte (gfs2_clear_beyond_eof then unstuff)",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 10), pwrite(gfs2MaxStuffed(bs), 1), fsyncOp) },
	},
	{
		Name: "gfs2-stuffed-pollute-then-write",
		Doc:  "polluteeof on a stuffed file (the mmap store fault unstuffs it: gfs2_page_mkwrite, gfs2/file.c:510), then a write past EOF: the garbage past the old EOF must not reach block 0",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 50), pollute, pwrite(gfs2MaxStuffed(bs)-5, 10), fsyncOp) },
	},
	{
		Name: "gfs2-stuffed-remount-unstuff",
		Doc:  "stuffed at bs-233, remount, then a write that unstuffs: the stuffed bytes come from the dinode read back from disk",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			m := gfs2MaxStuffed(bs)
			return ops(pwrite(0, m-1), remountOp, pwrite(m-1, 2), fsyncOp)
		},
	},
	{
		Name: "gfs2-jdata-partial-writes",
		Doc:  "chattr +j on the empty file, then writes straddling blocks: the buffer-head path through iomap (IOMAP_F_BUFFER_HEAD, __block_write_begin_int) with per-folio transactions (gfs2_iomap_put_folio)",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(10, bs+20), pwrite(bs-3, 6), fsyncOp) },
	},
	{
		Name: "gfs2-jdata-stuffed-unstuff",
		Doc:  "jdata file written up to the stuffed maximum, then past it: unstuffing adds the new block to the transaction (gfs2_unstuffer_folio's jdata branch)",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			m := gfs2MaxStuffed(bs)
			return ops(jdataOp, pwrite(0, m), pwrite(m, 5), fsyncOp)
		},
	},
	{
		Name: "gfs2-jdata-cold-rmw",
		Doc:  "jdata file with four blocks, remount, then a partial write in block 1: the block is read through buffer heads and journalled (gfs2_jdata_writepages)",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(0, 4*bs), remountOp, pwrite(bs+7, 9), fsyncOp) },
	},
	{
		Name: "gfs2-jdata-truncate-down-up",
		Doc:  "jdata file truncated inside a block then grown: the zeroed tail must reach the disk through the journal",
		Only: onlyGFS2,
		Gen: func(bs int64) []Op {
			return ops(jdataOp, pwrite(0, 3*bs), fsyncOp, truncate(bs+5), truncate(2*bs), fsyncOp)
		},
	},
	{
		Name: "gfs2-jdata-gap-past-eof",
		Doc:  "jdata file, pwrite far past EOF: gfs2_clear_beyond_eof zeroes the old EOF page and the gap stays unallocated",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(0, bs+1), pwrite(5*bs+3, 7), fsyncOp) },
	},
}
