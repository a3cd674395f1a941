package cases

// Partial-block read-modify-write over existing data with a cold page cache:
// the bytes of the block outside the write must come from disk
// (iomap_read_folio_sync, fs/iomap/buffered-io.c:707, called from
// __iomap_write_begin; ext4_block_write_begin / __block_write_begin_int's
// read of !uptodate buffers) and only the dirty blocks go back.
var rmwCases = []Case{
	{
		Name: "rmw-cold-head-of-block",
		Doc:  "drop caches, then overwrite bytes at the head of block 0: the block tail must be read, not zeroed (__iomap_write_begin, __block_write_begin_int)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), dropCachesOp, pwrite(5, 10), fsyncOp) },
	},
	{
		Name: "rmw-cold-tail-of-block",
		Doc:  "drop caches, then overwrite the last bytes of block 0: the head of the block must be read from disk",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), dropCachesOp, pwrite(bs-10, 10), fsyncOp) },
	},
	{
		Name: "rmw-remount-middle-of-block",
		Doc:  "remount, then overwrite the middle half of block 1: both sides of the block are read (iomap_adjust_read_range reading the whole block around the write)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), remountOp, pwrite(bs+bs/4, bs/2), fsyncOp) },
	},
	{
		Name: "rmw-cold-straddle-eof",
		Doc:  "drop caches, then a write starting in the EOF block and running past EOF: the part below EOF is read, the part past EOF zeroed (iomap_block_needs_zeroing's i_size test)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 2*bs+100), dropCachesOp, pwrite(2*bs+50, 200), fsyncOp) },
	},
	{
		Name: "rmw-cold-sub-block-in-page",
		Doc:  "drop caches, then one byte into the second byte of every block of two pages: with bs < PAGE_SIZE each write reads only its own block (per-block uptodate in iomap_folio_state / buffer heads)",
		Gen: func(bs int64) []Op {
			o := ops(pwrite(0, 2*pageSize), dropCachesOp)
			for off := int64(1); off < 2*pageSize; off += bs {
				o = append(o, pwrite(off, 1))
			}
			return append(o, fsyncOp)
		},
	},
	{
		Name: "rmw-cold-odd-blocks",
		Doc:  "eight blocks on disk, caches dropped, partial overwrites in blocks 1, 3 and 5 only: the untouched blocks are not rewritten and keep their bytes (per-block dirty tracking, iomap_set_range_dirty)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 8*bs), fsyncOp, dropCachesOp,
				pwrite(bs+3, 5), pwrite(3*bs+bs/2, bs/4), pwrite(6*bs-1, 1), fsyncOp)
		},
	},
	{
		Name: "rmw-warm-partial",
		Doc:  "partial overwrite with the data still dirty in the cache: no read at all, the new bytes overlay the cached ones",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), pwrite(bs+3, bs/3), fsyncOp) },
	},
	{
		Name: "rmw-cold-remount-writev",
		Doc:  "remount, then a writev whose segments straddle block 1/2: the RMW happens per folio across segment boundaries (iomap_write_iter copying from a multi-segment iov_iter)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), remountOp, writev(bs+bs/2, 7, bs/2, 13, 1), fsyncOp)
		},
	},
	{
		Name: "rmw-cold-repeated",
		Doc:  "two rounds of drop caches and partial overwrite of the same block: the second round must read the first round's bytes back from disk",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), dropCachesOp, pwrite(bs+1, 3), dropCachesOp, pwrite(bs+2, 5), fsyncOp)
		},
	},
}
