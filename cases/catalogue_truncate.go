package cases

// Truncation inside a block: shrinking must zero the rest of the new EOF
// block (iomap_truncate_page, fs/iomap/buffered-io.c:1490; block_truncate_page,
// fs/buffer.c:2674; ext4_block_zero_page_range, fs/ext4/inode.c:3781;
// gfs2 trunc_start, fs/gfs2/bmap.c:1379) so a later grow reads zeros.
var truncateCases = []Case{
	{
		Name: "truncate-down-up-in-block",
		Doc:  "write two blocks, truncate to the middle of block 1, truncate up to near its end: the bytes between must read zero (xfs_truncate_page / block_truncate_page / trunc_start zeroing)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), truncate(bs+10), truncate(2*bs-10), fsyncOp)
		},
	},
	{
		Name: "truncate-down-up-in-block-synced",
		Doc:  "as truncate-down-up-in-block but the data is on disk first: the zeroing must reach the disk, not only the cache",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), fsyncOp, truncate(bs+10), truncate(2*bs-10), fsyncOp)
		},
	},
	{
		Name: "truncate-down-cold-then-up",
		Doc:  "data on disk, caches dropped, truncate down inside a block (the EOF block must be read to zero its tail), then up",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), dropCachesOp, truncate(bs+bs/3), truncate(3*bs), fsyncOp)
		},
	},
	{
		Name: "truncate-down-then-write-beyond",
		Doc:  "truncate to mid block 0, then pwrite in block 2: the old bytes of block 0 past the new EOF and block 1 must read zero",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), fsyncOp, truncate(bs/2), pwrite(2*bs+3, 10), fsyncOp)
		},
	},
	{
		Name: "truncate-zero-then-rewrite",
		Doc:  "truncate to 0 after data hit the disk, then a small write at an offset: freed blocks must not come back with stale bytes (gfs2 trunc_end re-stuffs)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), fsyncOp, truncate(0), pwrite(bs/3, 10), fsyncOp)
		},
	},
	{
		Name: "truncate-aligned-down-then-up",
		Doc:  "truncate down to a block boundary then back up: the blocks past the boundary are freed and must be holes reading zero",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), fsyncOp, truncate(2*bs), truncate(4*bs), fsyncOp)
		},
	},
	{
		Name: "truncate-up-sparse-then-write",
		Doc:  "ftruncate an empty file up to five blocks, then a partial pwrite inside: the write lands below EOF in a hole and must zero, not read, the rest of its block",
		Gen: func(bs int64) []Op {
			return ops(truncate(5*bs), pwrite(2*bs+7, 10), fsyncOp)
		},
	},
	{
		Name: "truncate-down-write-across-old-eof",
		Doc:  "truncate down inside block 1, then pwrite from below the new EOF to past the old one: the block is partly kept, partly new",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), fsyncOp, truncate(bs+bs/4), pwrite(bs+bs/8, bs), fsyncOp)
		},
	},
	{
		Name: "truncate-down-synced-then-stop",
		Doc: "data on disk, truncate down inside block 1, and nothing grows the file again: only the truncate's own " +
			"zeroing (xfs_truncate_page, block_truncate_page, gfs2 trunc_start) can clear the on-disk EOF block past " +
			"the new EOF, since the cache's partial folio is zeroed but not dirtied (truncate_inode_partial_folio); " +
			"found missing by the self-test (mutant xfs-truncate-zeroes-old-eof)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), fsyncOp, truncate(bs+10), fsyncOp)
		},
	},
}
