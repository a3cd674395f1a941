package cases

// Shared extents (xfs with reflink, which the pinned mkfs.xfs turns on).
// A write into a shared block is copied on write: xfs_buffered_write_iomap_begin
// (fs/xfs/xfs_iomap.c:1072-1101) reserves a COW fork extent and hands
// iomap the data fork extent as the source mapping, and a partial-block
// write reads the old bytes through it in __iomap_write_begin
// (fs/iomap/buffered-io.c:719-780, iomap_iter_srcmap). The caches are
// dropped after each clone so the read really comes from disk.
// FALLOC_FL_UNSHARE_RANGE runs iomap_unshare_iter (1305-1347) over the
// shared blocks. The judge checks every file's bytes and, from the xfs
// block map, which blocks still share a physical block.
var reflinkCases = []Case{
	{
		Name: "clone-cow-subblock",
		Doc:  "clone four blocks, drop caches, sub-block writes into shared blocks of the clone and of the source: each reads the rest of its block through the srcmap and gets its own block; the untouched blocks stay shared",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), fsyncOp, clone(0, 0, 1, 0, 4*bs), dropCachesOp,
				on(1, pwrite(bs+3, 5)), pwrite(2*bs+7, 3), on(1, fsyncOp), fsyncOp)
		},
	},
	{
		Name: "clone-cow-block-edges",
		Doc:  "writes into a cold clone that end exactly at a block end and start exactly at a block start, and one that straddles two shared blocks",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 6*bs), clone(0, 0, 1, 0, 6*bs), remountOp,
				on(1, pwrite(bs-7, 7)), on(1, pwrite(3*bs, 9)), on(1, pwrite(5*bs-4, 8)))
		},
	},
	{
		Name: "clone-cow-folio-straddle",
		Doc:  "a write straddling a page (folio) boundary inside a cold clone of three pages: both folios read their shared blocks through the srcmap",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			n := max(3*pageSize, 3*bs)
			return ops(pwrite(0, n), clone(0, 0, 1, 0, n), dropCachesOp, on(1, pwrite(pageSize-3, 6)), on(1, fsyncOp))
		},
	},
	{
		Name: "clone-cow-eof-block",
		Doc:  "clone a whole file whose size is not block aligned (the partial EOF block is shared, generic_remap_checks), then write inside the shared EOF block and append past it",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs+100), fsyncOp, clone(0, 0, 1, 0, 2*bs+100), dropCachesOp,
				on(1, pwrite(2*bs+50, 20)), on(1, appendOp(30)), on(1, fsyncOp))
		},
	},
	{
		Name: "clone-cow-straddle-unshared",
		Doc:  "the clone's own blocks next to shared ones: a write straddling an unshared and a shared block, partial in both",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), on(1, pwrite(0, 2*bs)), fsyncOp, on(1, fsyncOp),
				clone(0, 0, 1, 2*bs, 2*bs), dropCachesOp, on(1, pwrite(2*bs-5, 10)))
		},
	},
	{
		Name: "clone-cow-mmap",
		Doc:  "mmap stores into shared blocks of a cold clone: page_mkwrite reserves COW blocks, msync writes them elsewhere",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), clone(0, 0, 1, 0, 3*bs), dropCachesOp, on(1, mmapw(bs+1, 10)))
		},
	},
	{
		Name: "clone-truncate-shared",
		Doc:  "truncate a clone into a shared block (iomap_truncate_page zeroes the rest of that block: copy on write), then grow it again",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), clone(0, 0, 1, 0, 4*bs), dropCachesOp, on(1, truncate(bs+10)), on(1, truncate(3*bs)), on(1, fsyncOp))
		},
	},
	{
		Name: "clone-punch-zero-shared",
		Doc:  "punch a hole and zero a range across shared blocks of a clone, partial at both edges: the edge blocks are zeroed through copy on write, the source keeps its bytes",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 8*bs), clone(0, 0, 1, 0, 8*bs), dropCachesOp,
				on(1, punch(bs/2, 2*bs)), on(1, zero(5*bs+3, bs)), on(1, fsyncOp))
		},
	},
	{
		Name: "clone-into-past-eof",
		Doc:  "clone to an offset past the destination's EOF: xfs_reflink_zero_posteof zeroes the old EOF block's tail first",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), on(1, pwrite(0, 100)), clone(0, 0, 1, 3*bs, 2*bs), on(1, pwrite(3*bs+9, 2)))
		},
	},
	{
		Name: "clone-cow-interleaved",
		Doc:  "after a clone, the source and the clone are written in turn, sub-block, into the same shared blocks; writeback of the two files interleaves",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), clone(0, 0, 1, 0, 4*bs), dropCachesOp,
				pwrite(10, 5), on(1, pwrite(12, 5)), pwrite(bs+bs/2, 4), on(1, pwrite(3*bs+1, 1)), syncOp,
				on(1, pwrite(bs+bs/2+2, 4)), pwrite(3*bs+2, 1))
		},
	},
	{
		Name: "unshare-whole",
		Doc:  "unshare a whole cold clone: iomap_unshare_iter reads and dirties every shared folio, the content stays, no block stays shared",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs+10), clone(0, 0, 1, 0, 4*bs+10), dropCachesOp, on(1, unshare(0, 5*bs)))
		},
	},
	{
		Name: "unshare-partial",
		Doc:  "unshare part of a clone, from inside a block to inside another, with one block already copied on write: only the shared blocks of the range get their own copy",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 6*bs), clone(0, 0, 1, 0, 6*bs), remountOp, on(1, pwrite(2*bs+1, 1)),
				on(1, unshare(bs+1, 3*bs)), dropCachesOp, pwrite(bs+2, 3))
		},
	},
	{
		Name: "unshare-source-cold",
		Doc:  "unshare the source side of a clone after a remount, the range running past EOF (cut at EOF by iomap_file_unshare), then write the clone",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs+7), clone(0, 0, 1, 0, 3*bs+7), remountOp, unshare(0, 8*bs), on(1, pwrite(bs, 3)))
		},
	},
	{
		Name: "unshare-source-cached",
		Doc:  "unshare the source of a clone right after it: the clone wrote the source's folios back but left them cached, uptodate and clean, and iomap_unshare_iter must still dirty every one of them",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			n := max(2*pageSize, 4*bs) + 10
			return ops(pwrite(0, n), clone(0, 0, 1, 0, n), unshare(0, n), on(1, pwrite(bs+1, 2)))
		},
	},
	{
		Name: "dedupe-equal",
		Doc:  "a copy made through splice (unaligned copy_file_range), then dedupe of equal ranges: they share blocks afterwards, and a write to one is copied on write",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 5*bs), copyRange(0, 1, 1, 1, 4*bs), fsyncOp, on(1, fsyncOp),
				dedupe(0, bs, 1, bs, 2*bs), dropCachesOp, on(1, pwrite(bs+5, 5)))
		},
	},
	{
		Name: "dedupe-unequal",
		Doc:  "dedupe of ranges whose bytes differ in the last block: FILE_DEDUPE_RANGE_DIFFERS, nothing shared, nothing changed",
		Only: onlyXFS,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), clone(0, 0, 1, 0, 4*bs), on(1, pwrite(3*bs+9, 1)),
				dedupe(0, 0, 1, 0, 4*bs), on(1, fsyncOp))
		},
	},
}

// copyRangeCases run copy_file_range on every filesystem: xfs remaps whole
// blocks (->remap_file_range with REMAP_FILE_CAN_SHORTEN) and splices the
// rest, the others splice into ->write_iter, the buffered write path
// (fs/read_write.c:1619-1658).
var copyRangeCases = []Case{
	{
		Name: "copyrange-within-file",
		Doc:  "copy_file_range of two blocks within one file, block aligned, to past EOF: xfs shares them, the others copy through the write path",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs+100), copyRange(0, 0, 0, 4*bs, 2*bs), pwrite(4*bs+3, 2))
		},
	},
	{
		Name: "copyrange-unaligned",
		Doc:  "copy_file_range between two files at unaligned offsets (splice everywhere), into a file with data of its own",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), on(1, pwrite(0, bs)), copyRange(0, 10, 1, 7, 2*bs+5), on(1, fsyncOp))
		},
	},
	{
		Name: "copyrange-to-eof",
		Doc:  "copy_file_range asking for more than the source has, from a block boundary: cut at the source's EOF; xfs shares the partial EOF block too",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs+100), fsyncOp, copyRange(0, bs, 1, bs, 8*bs), dropCachesOp, on(1, pwrite(bs+bs/2, 3)))
		},
	},
	{
		Name: "copyrange-past-dst-eof",
		Doc:  "copy_file_range to an offset past the destination's EOF inside a block: the write path zeroes the old EOF block's tail first",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 2*bs), on(1, pwrite(0, 50)), copyRange(0, 3, 1, 3*bs+17, bs+9))
		},
	},
}
