package cases

// Sync writes: O_SYNC and O_DSYNC descriptors and pwritev2 with RWF_DSYNC,
// RWF_SYNC, RWF_APPEND and RWF_NOWAIT. A sync write ends in
// generic_write_sync (include/linux/fs.h:2939-2950), which writes back the
// folios it touched; the writes after it then meet clean blocks (xfs:
// written extents instead of delalloc) and, after a cache drop, must read
// them back for a partial block.
var syncCases = []Case{
	{
		Name: "osync-partial-block",
		Doc:  "an O_SYNC write of a partial block, then a plain write inside it and a read",
		Gen: func(bs int64) []Op {
			return ops(pwriteSync(0, 100, "osync"), pwrite(50, 10), read(0, 200), pwriteSync(bs-3, 6, "osync"), read(0, bs+10))
		},
	},
	{
		Name: "odsync-then-cold-partial",
		Doc:  "an O_DSYNC write across blocks, caches dropped, partial-block writes that must read the synced blocks back",
		Gen: func(bs int64) []Op {
			return ops(pwriteSync(0, 3*bs+5, "odsync"), pwrite(bs+3, 10), dropCachesOp, pwrite(2*bs+1, 5),
				pwriteSync(3*bs+5, 10, "odsync"), read(0, 4*bs))
		},
	},
	{
		Name: "rwf-dsync-sync",
		Doc:  "pwritev2 with RWF_DSYNC over two pages and RWF_SYNC inside them, then a cold read",
		Gen: func(bs int64) []Op {
			return ops(pwritev2(0, 2*pageSize, "dsync"), pwritev2(pageSize+10, 100, "sync"),
				pwrite(pageSize+50, 3), dropCachesOp, read(0, 2*pageSize))
		},
	},
	{
		Name: "rwf-append",
		Doc:  "pwritev2 with RWF_APPEND writes at EOF whatever the offset, with and without RWF_DSYNC",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 100), pwritev2(0, 50, "append"), pwritev2(0, bs, "dsync,append"),
				read(0, 2*bs), pwritev2(0, 3, "append"), fsyncOp)
		},
	},
	{
		Name: "rwf-nowait",
		Doc:  "RWF_NOWAIT buffered writes (xfs only; EOPNOTSUPP elsewhere): EAGAIN past EOF and where a block must be read; a whole-folio write succeeds; a write that needs a read after a whole folio returns short",
		Only: withNoWait,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*pageSize), fsyncOp, dropCachesOp, pwritev2(10, 10, "nowait"),
				pwritev2(pageSize, pageSize, "nowait"), pwritev2(2*pageSize, pageSize+10, "nowait"),
				pwritev2(6*pageSize, 10, "nowait"), read(0, 4*pageSize))
		},
	},
}
