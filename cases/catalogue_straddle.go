package cases

// Block-boundary straddles: a write whose first and last blocks are partial
// makes iomap (__iomap_write_begin, fs/iomap/buffered-io.c:719) or buffer
// heads (__block_write_begin_int, fs/buffer.c:2111) bring both edge blocks
// uptodate, by reading them or, beyond EOF and in new blocks, zeroing them.
var straddleCases = []Case{
	{
		Name: "straddle-beyond-eof",
		Doc: "pwrite into an empty file that starts beyond EOF and straddles a block boundary: " +
			"the gap reads as zero, the partial blocks are zeroed not read, the EOF tail is zero " +
			"(__iomap_write_begin's iomap_block_needs_zeroing / __block_write_begin_int's buffer_new path)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(2*bs+bs-100, 300), fsyncOp)
		},
	},
	{
		Name: "straddle-two-bytes-first-boundary",
		Doc: "a 2-byte pwrite across the first block boundary of an empty file: both blocks are new " +
			"and must be zeroed around the bytes (__iomap_write_begin, __block_write_begin_int)",
		Gen: func(bs int64) []Op { return ops(pwrite(bs-1, 2), fsyncOp) },
	},
	{
		Name: "straddle-page-boundary",
		Doc: "a pwrite across the 4 KiB page boundary, which is a block boundary at every block size: " +
			"two folios, each with a partial block (iomap_write_iter splitting per folio)",
		Gen: func(bs int64) []Op { return ops(pwrite(pageSize-10, 20), fsyncOp) },
	},
	{
		Name: "straddle-many-blocks-unaligned",
		Doc: "a pwrite from the middle of block 0 to the middle of block 3: whole blocks in between " +
			"are not read, only the edges (iomap_adjust_read_range skipping fully-covered blocks)",
		Gen: func(bs int64) []Op { return ops(pwrite(bs/2, 3*bs), fsyncOp) },
	},
	{
		Name: "straddle-overwrite-warm",
		Doc: "write four blocks, then overwrite a few bytes across the block 0/1 boundary with the " +
			"folio still cached: an uptodate folio needs no read (__iomap_write_begin's uptodate check)",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 4*bs), fsyncOp, pwrite(bs-7, 14), fsyncOp) },
	},
	{
		Name: "straddle-overwrite-cold",
		Doc: "write four blocks, drop caches, overwrite bytes across the block 1/2 boundary: both " +
			"edge blocks must be read from disk, not zeroed (iomap_read_folio_sync, buffered-io.c:707)",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 4*bs), dropCachesOp, pwrite(2*bs-3, 8), fsyncOp) },
	},
	{
		Name: "straddle-across-eof",
		Doc: "the file ends inside block 1; a pwrite starting before EOF straddles EOF and the block 1/2 " +
			"boundary: bytes of block 1 below EOF are kept, the new block 2 is zeroed around the data " +
			"(iomap_block_needs_zeroing's pos >= i_size test)",
		Gen: func(bs int64) []Op { return ops(pwrite(0, bs+100), fsyncOp, pwrite(bs+50, bs), fsyncOp) },
	},
	{
		Name: "straddle-single-byte-every-boundary",
		Doc: "one byte just before each of the first eight block boundaries, ascending: each write " +
			"extends the file inside a new block and leaves a gap (iomap_write_end's i_size update, " +
			"generic_write_end)",
		Gen: func(bs int64) []Op {
			var o []Op
			for k := int64(1); k <= 8; k++ {
				o = append(o, pwrite(k*bs-1, 1))
			}
			return append(o, fsyncOp)
		},
	},
	{
		Name: "straddle-single-byte-descending",
		Doc: "one byte just after each of eight block boundaries, descending: after the first write " +
			"every later one lands below EOF in a hole block, which must be zeroed not read (holes " +
			"inside i_size: IOMAP_HOLE with IOMAP_F_NEW after allocation)",
		Gen: func(bs int64) []Op {
			var o []Op
			for k := int64(8); k >= 1; k-- {
				o = append(o, pwrite(k*bs, 1))
			}
			return append(o, fsyncOp)
		},
	},
	{
		Name: "straddle-exact-blocks",
		Doc: "block-aligned whole-block writes side by side: no read or zeroing is needed, the " +
			"fully-covered fast path of __iomap_write_begin (pos and len block-aligned)",
		Gen: func(bs int64) []Op { return ops(pwrite(0, bs), pwrite(bs, bs), pwrite(3*bs, 2*bs), fsyncOp) },
	},
	{
		Name: "straddle-folio-boundary-large",
		Doc: "write 128 KiB, sync, then a write straddling the 64 KiB boundary: on xfs this crosses " +
			"large folios (iomap_write_iter's folio-size chunking, mapping_max_folio_size)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 128<<10), fsyncOp, pwrite(64<<10-333, 777), fsyncOp)
		},
	},
}
