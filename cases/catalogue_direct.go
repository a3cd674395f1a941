package cases

// O_DIRECT mixed with buffered I/O, and mmap stores. A direct write must
// flush and invalidate cached pages over its range (kiocb_invalidate_pages,
// mm/filemap.c:2764, from iomap_dio_rw and ext2/ext4's DIO paths) so a later
// buffered RMW does not write stale cached bytes back. An mmap store goes
// through iomap_page_mkwrite (fs/iomap/buffered-io.c:1523) or the
// filesystem's page_mkwrite, and msync writes it back.
var directMmapCases = []Case{
	{
		Name: "dio-then-buffered-partial",
		Doc:  "direct write of four blocks, then a buffered partial write into block 1: the buffered path reads block 1 back from disk (gfs2 may fall back to buffered for extending DIO)",
		Gen:  func(bs int64) []Op { return ops(dwrite(0, 4*bs), pwrite(bs+3, 10), fsyncOp) },
	},
	{
		Name: "buffered-dirty-then-dio",
		Doc:  "dirty buffered data, then a direct write over part of it: the DIO path flushes the range first (filemap_write_and_wait_range), the direct bytes win",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), dwrite(bs, bs), fsyncOp) },
	},
	{
		Name: "dio-invalidate-then-partial",
		Doc:  "clean cached data, direct write over block 0, then a buffered partial write inside block 0: if the cached page was not invalidated (kiocb_invalidate_pages) the RMW would write the stale bytes back",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*pageSize), fsyncOp, dwrite(0, bs), pwrite(10, 2), fsyncOp)
		},
	},
	{
		Name: "dio-extend-past-eof",
		Doc:  "a small buffered file, then a direct write two blocks past EOF: the old EOF block tail and the gap read zero",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), dwrite(2*bs, bs), fsyncOp) },
	},
	{
		Name: "dio-into-unwritten",
		Doc:  "fallocate, a direct write into block 1, then a buffered partial write into block 2: the direct block converts to written, the buffered one zeroes around its bytes",
		Only: withUnwritten,
		Gen:  func(bs int64) []Op { return ops(falloc(0, 4*bs), dwrite(bs, bs), pwrite(2*bs+5, 3), fsyncOp) },
	},
	{
		Name: "dio-after-truncate-down",
		Doc:  "truncate down inside block 1, then a direct write at block 2: the EOF block tail [EOF, 2*bs) must be zero on disk (xfs_file_write_zero_eof / ext4 DIO extending-write zeroing)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), fsyncOp, truncate(bs+7), dwrite(2*bs, bs), fsyncOp) },
	},
	{
		Name: "mmap-store-over-data",
		Doc:  "mmap store of 100 bytes over written data, msync: the page is dirtied through page_mkwrite and written back (iomap_page_mkwrite, ext4_page_mkwrite, block_page_mkwrite)",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), mmapw(bs+3, 100), fsyncOp) },
	},
	{
		Name: "mmap-store-extend",
		Doc:  "ftruncate up then an mmap store at the new end: the gap between the old EOF and the store reads zero, the store is written back by msync",
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 100), truncate(3*bs+5), mmapw(3*bs-5, 10), fsyncOp) },
	},
	{
		Name: "mmap-store-into-hole",
		Doc:  "ftruncate up, then an mmap store into a hole: page_mkwrite allocates the block (IOMAP_F_NEW zeroing in iomap_page_mkwrite's write_begin)",
		Gen:  func(bs int64) []Op { return ops(truncate(4*bs), mmapw(bs+1, 3), fsyncOp) },
	},
	{
		Name: "mmap-store-then-cold-write",
		Doc:  "mmap store, drop caches, then a partial buffered write into the same block: the stored bytes come back from disk",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), mmapw(bs/2, bs), dropCachesOp, pwrite(bs+bs/4, 3), fsyncOp)
		},
	},
	{
		Name: "mmap-store-into-unwritten",
		Doc:  "fallocate, then an mmap store into an unwritten block: page_mkwrite maps it, writeback converts only that block",
		Only: withUnwritten,
		Gen:  func(bs int64) []Op { return ops(falloc(0, 4*bs), mmapw(2*bs+7, 5), fsyncOp) },
	},
}
