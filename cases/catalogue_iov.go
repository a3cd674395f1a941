package cases

// Short copies, multi-segment writev and O_APPEND. A copy from user space
// that comes up short is handled in iomap_write_iter (fs/iomap/buffered-io.c:945)
// and __iomap_write_end (:878): a short copy into a block that was not
// uptodate is discarded (copied = 0) and retried; buffer heads do the same in
// block_write_end (fs/buffer.c:2268).
var iovCases = []Case{
	{
		Name: "shortcopy-over-data",
		Doc:  "a short copy over cached data: the copied prefix is kept, nothing past it changes (__iomap_write_end with an uptodate folio)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), shortcopy(bs+10, bs, bs/2), fsyncOp) },
	},
	{
		Name: "shortcopy-into-hole",
		Doc:  "a short copy into an empty file: the write of three blocks stops after bs+5 bytes; i_size ends there and the partial last block is zero past it (iomap_write_failed / block_write_end's zero-length retry)",
		Gen:  func(bs int64) []Op { return ops(shortcopy(10, 3*bs, bs+5), fsyncOp) },
	},
	{
		Name: "shortcopy-straddle-eof",
		Doc:  "a short copy starting at a block boundary past a file ending inside the previous block: only five bytes arrive, i_size ends mid-block",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, bs+10), shortcopy(bs+10, 2*bs, 5), fsyncOp) },
	},
	{
		Name: "shortcopy-page-boundary",
		Doc:  "a short copy across the page boundary that stops before it: the second folio is never touched",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), shortcopy(pageSize-100, 300, 50), fsyncOp) },
	},
	{
		Name: "shortcopy-cold-partial-block",
		Doc:  "drop caches, then a short copy that ends inside a block below EOF: the block was read for the RMW, so the copied bytes are kept",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), dropCachesOp, shortcopy(bs+1, 2*bs, bs/2+3), fsyncOp) },
	},
	{
		Name: "shortcopy-hole-recycled-page",
		Doc: "fill 512 KiB of page cache, truncate to 0 (its pages go back to the allocator still holding data), " +
			"truncate up, then a short copy into a hole covering one whole page: the new page is made uptodate by " +
			"zeroing only outside [pos, pos+len) (__iomap_write_begin, fs/iomap/buffered-io.c:760-774), so a short " +
			"copy accepted by __iomap_write_end (:878) leaves [pos+copied, block end) holding recycled memory; " +
			"buffer heads zero it (block_write_end's folio_zero_new_buffers, fs/buffer.c:2290)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 512<<10), fsyncOp, truncate(0), truncate(64<<10),
				shortcopy(2*pageSize+1, pageSize-1, 10), fsyncOp)
		},
	},
	{
		Name: "writev-many-segments",
		Doc:  "a pwritev of 64 segments of lengths 1..bs+1 from the middle of block 0: the copy crosses segment and block boundaries independently (copy_folio_from_iter_atomic over a multi-segment iov_iter)",
		Gen: func(bs int64) []Op {
			var segs []int64
			for i := int64(0); i < 64; i++ {
				segs = append(segs, 1+(i*37)%(bs+1))
			}
			return ops(writev(bs/2, segs...), fsyncOp)
		},
	},
	{
		Name: "writev-segments-at-block-edges",
		Doc:  "a pwritev whose segment boundaries sit one byte either side of block boundaries",
		Gen: func(bs int64) []Op {
			return ops(writev(3, bs-4, 2, bs-2, 2, bs-1, 1, 17), fsyncOp)
		},
	},
	{
		Name: "writev-one-byte-segments-cold",
		Doc:  "data on disk, caches dropped, then 33 one-byte segments across a block boundary: one RMW per edge block despite the tiny segments",
		Gen: func(bs int64) []Op {
			segs := make([]int64, 33)
			for i := range segs {
				segs[i] = 1
			}
			return ops(pwrite(0, 4*bs), dropCachesOp, writev(bs-16, segs...), fsyncOp)
		},
	},
	{
		Name: "append-series",
		Doc:  "several small O_APPEND writes: each starts at the current EOF inside the EOF block (generic_write_checks setting ki_pos = i_size)",
		Gen: func(bs int64) []Op {
			return ops(appendOp(100), appendOp(bs-7), appendOp(1), appendOp(bs+3), fsyncOp)
		},
	},
	{
		Name: "append-block-straddle-after-sync",
		Doc:  "O_APPEND straddling a block boundary after the EOF block reached the disk",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, bs-3), fsyncOp, appendOp(10), appendOp(bs), fsyncOp) },
	},
	{
		Name: "append-after-truncate-down",
		Doc:  "truncate down inside a block then O_APPEND: the append starts at the new EOF; the truncated bytes stay gone",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 3*bs), fsyncOp, truncate(bs+3), appendOp(20), fsyncOp) },
	},
}
