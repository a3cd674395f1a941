package cases

// Reads during a sequence, judged against the model's bytes at that point
// (check "read"). They reach the read side of the page cache: a folio with
// only some blocks uptodate is either copied from directly, when the bytes
// asked are all uptodate (filemap_range_uptodate -> iomap_is_partially_uptodate,
// fs/iomap/buffered-io.c:603-623, or block_is_partially_uptodate,
// fs/buffer.c:2347-2380), or read in by ->read_folio, which must skip the
// uptodate (and dirty) blocks (iomap_adjust_read_range, buffered-io.c:259-324;
// block_read_full_folio) or it would overwrite cached data with the disk's
// older bytes. Readahead (page_cache_sync_ra, page_cache_async_ra) decides
// which folios are cached, and how large, for the writes that follow.
var readCases = []Case{
	{
		Name: "read-partial-uptodate-block",
		Doc:  "data on disk, caches dropped, one block rewritten: reading that block copies from the partly uptodate folio; reading the page reads the folio in around the dirty block (iomap_adjust_read_range skips it)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*pageSize), fsyncOp, dropCachesOp, pwrite(bs, bs),
				read(bs, bs), read(0, pageSize), read(0, 2*pageSize), fsyncOp)
		},
	},
	{
		Name: "read-partial-uptodate-unaligned",
		Doc:  "a write inside one block of a cold folio reads that block from disk; reads of that block, of the page and across it see old bytes around new ones",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*pageSize), fsyncOp, dropCachesOp, pwrite(bs+10, 20),
				read(bs, 40), read(bs+5, bs), read(0, 3*pageSize), pwrite(2*bs-3, 6), read(bs, 2*bs))
		},
	},
	{
		Name: "read-partial-uptodate-after-remount",
		Doc:  "as read-partial-uptodate-block with a remount for a cold cache: the last block of a page rewritten, then read alone, with the block before it, and with the whole page",
		Gen: func(bs int64) []Op {
			page := max(pageSize, bs)
			last := page - bs
			return ops(pwrite(0, 2*page), remountOp, pwrite(last, bs),
				read(last, bs), read(max(0, last-bs), 2*bs), read(0, page+1))
		},
	},
	{
		Name: "read-mapread-partial-uptodate",
		Doc:  "a read fault on a folio with one dirty block: filemap_fault reads the folio in, which must keep the dirty block",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*pageSize), fsyncOp, dropCachesOp, pwrite(bs, 7),
				mapread(0, pageSize), mapread(bs, 20), fsyncOp)
		},
	},
	{
		Name: "read-straddle-eof",
		Doc:  "pread across EOF returns the bytes below it; mapread reads zero past EOF in the EOF page; after truncate down the same",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, bs+100), read(bs, 2*bs), read(0, pageSize+10), mapread(0, pageSize),
				truncate(bs/2+1), read(0, bs), mapread(bs/2-3, 64), fsyncOp, dropCachesOp,
				read(bs/2-1, 5), mapread(0, pageSize))
		},
	},
	{
		Name: "read-holes",
		Doc:  "reads of holes inside the file read zero, cached and cold; a write into the hole then a read of the block around it",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 100), pwrite(8*bs, 100), read(0, min(9*bs, MaxReadLen)), fsyncOp, dropCachesOp,
				read(bs, pageSize), pwrite(3*bs+5, 10), read(3*bs, bs), mapread(0, pageSize))
		},
	},
	{
		Name: "read-unwritten",
		Doc:  "reads of fallocated (unwritten) blocks read zero; a partial write into one, then reads of it cached and cold",
		Only: withFallocate,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 50), falloc(2*bs, 3*bs), read(0, min(5*bs, MaxReadLen)), pwrite(2*bs+5, 10),
				read(2*bs, 2*bs), fsyncOp, dropCachesOp, read(2*bs, bs), mapread(0, pageSize))
		},
	},
	{
		Name: "read-after-truncate-punch",
		Doc:  "reads after truncate down and up and after a punched hole: the cut bytes read zero, cached and cold",
		Only: withFallocate,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*pageSize), truncate(pageSize+100), read(0, 2*pageSize),
				truncate(3*pageSize), read(pageSize, pageSize+200), punch(bs+3, bs), read(0, 3*bs),
				fsyncOp, dropCachesOp, read(0, 2*pageSize))
		},
	},
	{
		Name: "read-after-zero-range",
		Doc:  "a read after fallocate ZERO_RANGE inside written data and across EOF",
		Only: withZeroRange,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*pageSize), zero(bs+1, 2*bs), read(0, 4*bs), zero(3*pageSize-10, 20),
				read(2*pageSize, 2*pageSize), mapread(0, 3*pageSize))
		},
	},
	{
		Name: "read-sequential-readahead",
		Doc:  "sequential reads of a cold file start readahead and move its window (page_cache_sync_ra, page_cache_async_ra on PG_readahead); partial-block writes then land in readahead's folios",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 256<<10), fsyncOp, dropCachesOp, read(0, 16<<10), read(16<<10, 16<<10),
				read(32<<10, 64<<10), read(96<<10, 64<<10), pwrite(100<<10+10, 10), pwrite(170<<10+bs-1, 2),
				read(100<<10, 2*bs), fsyncOp)
		},
	},
	{
		Name: "read-random-then-write",
		Doc:  "a read far into a cold file (not sequential: read only as asked) then partial writes around it",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 128<<10), fsyncOp, dropCachesOp, read(64<<10, 100), read(8<<10, 10),
				pwrite(64<<10+bs+1, 3), pwrite(9<<10, 5), read(64<<10, 2*pageSize), fsyncOp)
		},
	},
}
