package cases

// Writes past EOF leaving gaps, and EOF-tail zeroing: the bytes between the
// old EOF and the new data must read zero and the on-disk EOF block tail must
// be zero, even when garbage was stored past EOF through mmap (polluteeof,
// fsx -e). The zeroing is done by xfs_file_write_zero_eof (fs/xfs/xfs_file.c:358),
// gfs2_clear_beyond_eof (fs/gfs2/bmap.c), generic_write_end's
// pagecache_isize_extended (mm/truncate.c:800) for ext2/ext4, and at
// writeback by iomap_writepage_handle_eof (fs/iomap/buffered-io.c:1930) or
// block_write_full_folio (fs/buffer.c:2748).
var eofCases = []Case{
	{
		Name: "gap-same-block",
		Doc:  "a second pwrite past EOF inside the same block leaves a gap that must read zero (xfs_file_write_zero_eof, gfs2_clear_beyond_eof)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pwrite(200, 50), fsyncOp) },
	},
	{
		Name: "gap-next-block",
		Doc:  "a pwrite in the next block past EOF: the old EOF block's tail is zeroed in the cache and on disk (iomap_zero_range over the EOF block)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pwrite(bs+100, 100), fsyncOp) },
	},
	{
		Name: "gap-far",
		Doc:  "a pwrite ten blocks past EOF: the blocks in between stay holes and read zero; only the partial EOF block is zeroed (iomap_zero_iter skipping IOMAP_HOLE)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pwrite(10*bs+5, 50), fsyncOp) },
	},
	{
		Name: "gap-after-fsync",
		Doc:  "the EOF block is clean on disk before a write past EOF: its tail must be zeroed again through write_begin/write_end, not assumed zero (iomap_zero_range on a MAPPED extent)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), fsyncOp, pwrite(3*bs+1, 10), fsyncOp) },
	},
	{
		Name: "pollute-then-write-far",
		Doc:  "polluteeof, then a pwrite three blocks further: the garbage in the EOF page past EOF must be zeroed before i_size moves (xfs_file_write_zero_eof, gfs2_clear_beyond_eof, pagecache_isize_extended)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, bs/2+3), pollute, pwrite(3*bs, 10), fsyncOp) },
	},
	{
		Name: "pollute-then-write-same-block",
		Doc:  "polluteeof, then a pwrite past EOF inside the same block: the gap [EOF, write) must not expose the garbage (iomap_zero_range of the gap, block_write_begin's partial zeroing)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pollute, pwrite(300, 100), fsyncOp) },
	},
	{
		Name: "pollute-then-truncate-up",
		Doc:  "polluteeof, then ftruncate up three blocks: the old EOF block tail must be zero (xfs_setattr_size's xfs_zero_range, ext4_setattr/ext2_setsize + pagecache_isize_extended, gfs2 do_grow)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pollute, truncate(3*bs+17), fsyncOp) },
	},
	{
		Name: "pollute-then-truncate-up-same-block",
		Doc:  "polluteeof, then ftruncate up inside the same block: the newly visible bytes must read zero (xfs_zero_range from old size, gfs2_clear_beyond_eof, ext4 truncate-up paths)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pollute, truncate(200), fsyncOp) },
	},
	{
		Name: "pollute-then-truncate-up-then-write-hole",
		Doc:  "polluteeof, ftruncate up, then one byte into the next block (a hole in the same cached page when bs < PAGE_SIZE): the page is uptodate, so a write_begin that trusts folio uptodate for a new block (ext4_block_write_begin, __block_write_begin_int) keeps the garbage around the byte unless truncate-up zeroed the whole EOF folio",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 100), pollute, truncate(3*bs+17), pwrite(bs+bs/2, 1), fsyncOp)
		},
	},
	{
		Name: "pollute-then-fallocate-extend",
		Doc:  "polluteeof, then fallocate mode 0 past EOF (size grows): the garbage must not become file content (xfs_file_fallocate's xfs_zero_range on size change, ext4_alloc_file_blocks, gfs2_fallocate)",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pollute, falloc(2*bs, bs), fsyncOp) },
	},
	{
		Name: "pollute-then-fallocate-overlapping-eof",
		Doc:  "polluteeof, then fallocate mode 0 over a range covering EOF: i_size moves past the polluted bytes, which must read zero",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pollute, falloc(50, 2*bs), fsyncOp) },
	},
	{
		Name: "pollute-after-fsync-then-write",
		Doc:  "the EOF block is written back first, then polluted in the clean cached page, then a pwrite extends the file: the garbage must be zeroed before it can be written back (iomap_zero_range / block_write_begin's zeroing)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, bs+5), fsyncOp, pollute, pwrite(4*bs, 7), fsyncOp) },
	},
	{
		Name: "pollute-then-mmapwrite-extend",
		Doc:  "polluteeof, ftruncate up, then an mmap store there: the polluted bytes become in-file and must read zero (truncate-up zeroing, iomap_page_mkwrite)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), pollute, truncate(2*bs+5), mmapw(2*bs-5, 10), fsyncOp) },
	},
	{
		Name: "pollute-then-append",
		Doc:  "polluteeof, then an O_APPEND write: the append starts at EOF, so the polluted bytes it does not overwrite sit past the new EOF and must be zero on disk (iomap_writepage_handle_eof / block_write_full_folio)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 123), pollute, appendOp(17), fsyncOp) },
	},
	{
		Name: "pollute-cold-then-write",
		Doc:  "remount (cold cache), fault the EOF page in via polluteeof, then write past EOF: the read-in page carries the garbage, zeroing must still happen",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), remountOp, pollute, pwrite(2*bs, 10), fsyncOp) },
	},
	{
		Name: "pollute-then-dio-extend",
		Doc:  "polluteeof, then an O_DIRECT write far past EOF: the size grows without a buffered write, so the garbage the EOF folio holds past the old EOF must be zeroed before that folio is written back (xfs_file_write_checks zeroes from the old EOF; ext4's DIO extension does not)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 123), pollute, dwrite(16*pageSize, bs), fsyncOp) },
	},
	{
		Name: "pollute-then-fsync-only",
		Doc:  "polluteeof with no later size change: writeback of the EOF folio must zero the tail past EOF before it goes to disk (iomap_writepage_handle_eof's folio_zero_segment, block_write_full_folio)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, bs+bs/2+1), pollute, fsyncOp) },
	},
}
