package cases

// Unwritten extents, zero range and punch hole. A partial write into an
// unwritten block must zero, not read, the rest of the block
// (iomap_block_needs_zeroing treats IOMAP_UNWRITTEN as new; ext4's
// ext4_block_write_begin zeroes buffer_new/unwritten buffers), and partial
// zero/punch ranges zero the edge blocks in place (xfs_free_file_space,
// fs/xfs/xfs_bmap_util.c:833; ext4_zero_range, fs/ext4/extents.c:4629;
// ext4_punch_hole; gfs2_fallocate's punch path).
var fallocCases = []Case{
	{
		Name: "unwritten-partial-write",
		Doc:  "fallocate four blocks, then a small write in block 1: the rest of block 1 must be zero on disk and the other blocks stay unwritten, reading zero (iomap_block_needs_zeroing for IOMAP_UNWRITTEN)",
		Only: withUnwritten,
		Gen:  func(bs int64) []Op { return ops(falloc(0, 4*bs), pwrite(bs+10, 20), fsyncOp) },
	},
	{
		Name: "unwritten-keepsize-partial-write",
		Doc:  "fallocate KEEP_SIZE, then a small write: i_size ends inside the unwritten-then-written block, whose tail past EOF must be zero",
		Only: withUnwritten,
		Gen:  func(bs int64) []Op { return ops(fallocKeep(0, 4*bs), pwrite(bs+10, 20), fsyncOp) },
	},
	{
		Name: "unwritten-straddle",
		Doc:  "fallocate, then a write straddling the block 0/1 boundary: both edges are zeroed, the two blocks convert to written at I/O completion",
		Only: withUnwritten,
		Gen:  func(bs int64) []Op { return ops(falloc(0, 4*bs), pwrite(bs-5, 10), fsyncOp) },
	},
	{
		Name: "unwritten-beyond-eof-keepsize",
		Doc:  "a small file, fallocate KEEP_SIZE far past EOF, then a write inside the preallocation: the gap between old EOF and the write reads zero (xfs_file_write_zero_eof skips unwritten)",
		Only: withUnwritten,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), fallocKeep(0, 8*bs), pwrite(5*bs+7, 9), fsyncOp) },
	},
	{
		Name: "unwritten-cold-partial-write",
		Doc:  "fallocate, sync, drop caches, partial writes into two unwritten blocks: no disk read may happen for unwritten blocks (they read zero)",
		Only: withUnwritten,
		Gen: func(bs int64) []Op {
			return ops(falloc(0, 4*bs), fsyncOp, dropCachesOp, pwrite(bs/2, 3), pwrite(3*bs-2, 4), fsyncOp)
		},
	},
	{
		Name: "unwritten-after-data-partial",
		Doc:  "written data, then fallocate past it and a partial write straddling the written/unwritten boundary (iomap_iter splitting the write at the extent boundary)",
		Only: withUnwritten,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), fsyncOp, falloc(2*bs, 4*bs), pwrite(2*bs-6, 12), fsyncOp)
		},
	},
	{
		Name: "fallocate-extend-then-partial-write",
		Doc:  "fallocate mode 0 extends the file, then partial writes inside it: on gfs2 the blocks are allocated and zeroed, on ext4/xfs unwritten (gfs2_fallocate/fallocate_chunk, ext4_alloc_file_blocks, xfs_alloc_file_space)",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(falloc(0, 3*bs+bs/2), pwrite(bs+1, 2), pwrite(3*bs, 5), fsyncOp) },
	},
	{
		Name: "zero-range-partial-block",
		Doc:  "FALLOC_FL_ZERO_RANGE inside one block of data: the block is zeroed in place around the range (ext4_zero_range's ext4_zero_partial_blocks, xfs_free_file_space + xfs_alloc_file_space)",
		Only: withZeroRange,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), zero(bs+10, 20), fsyncOp) },
	},
	{
		Name: "zero-range-straddle",
		Doc:  "zero range from the tail of block 0 to the head of block 2: block 1 becomes unwritten, the edges are zeroed in place",
		Only: withZeroRange,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), fsyncOp, zero(bs-10, bs+30), fsyncOp) },
	},
	{
		Name: "zero-range-keepsize-past-eof",
		Doc:  "zero range KEEP_SIZE starting inside the EOF block and running past EOF: i_size does not move, the EOF block tail stays zero",
		Only: withZeroRange,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, bs+100), zeroKeep(bs+50, 3*bs), fsyncOp) },
	},
	{
		Name: "zero-range-extend",
		Doc:  "zero range (no KEEP_SIZE) past EOF grows i_size: the new bytes read zero, the old EOF block keeps its data below the range",
		Only: withZeroRange,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), zero(50, 2*bs+3), fsyncOp) },
	},
	{
		Name: "zero-range-cold",
		Doc:  "data on disk, caches dropped, partial zero range: the edge block must be read, zeroed in part and written back",
		Only: withZeroRange,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), dropCachesOp, zero(2*bs+bs/4, bs/4), fsyncOp) },
	},
	{
		Name: "punch-partial-block",
		Doc:  "punch hole inside one block: nothing is deallocated, the bytes are zeroed in place (iomap_zero_range / ext4_zero_partial_blocks / gfs2 punch_hole's gfs2_block_zero_range)",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), punch(bs+10, 20), fsyncOp) },
	},
	{
		Name: "punch-straddle",
		Doc:  "punch from the tail of block 0 to the head of block 2: block 1 becomes a hole, the edges are zeroed in place",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), fsyncOp, punch(bs-10, bs+30), fsyncOp) },
	},
	{
		Name: "punch-unaligned-two-blocks",
		Doc:  "punch two blocks' worth starting mid-block: exactly one whole block is freed",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), punch(bs/2, 2*bs), fsyncOp) },
	},
	{
		Name: "punch-cold",
		Doc:  "data on disk, caches dropped, then a sub-block punch: the edge block is read, zeroed in part, written back",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), fsyncOp, dropCachesOp, punch(2*bs+1, bs/2), fsyncOp) },
	},
	{
		Name: "punch-across-eof",
		Doc:  "punch from a block boundary to past EOF: i_size is kept (KEEP_SIZE), the EOF block is freed",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 2*bs+10), fsyncOp, punch(bs, 4*bs), fsyncOp) },
	},
	{
		Name: "punch-then-partial-write",
		Doc:  "punch a whole block out of the middle, then a partial write into the hole: the rest of the block must be zeroed, never read from the freed (poisoned) disk block (IOMAP_HOLE + IOMAP_F_NEW, buffer_new)",
		Only: withFallocate,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), fsyncOp, punch(bs, bs), pwrite(bs+5, 10), fsyncOp)
		},
	},
}
