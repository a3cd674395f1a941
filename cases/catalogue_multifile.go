package cases

// Several files written in turn on one filesystem: the allocations and the
// writeback of two files interleave (delalloc conversion, gfs2's resource
// groups, ext4's block groups), which a single file never shows.
var multiFileCases = []Case{
	{
		Name: "two-files-interleaved",
		Doc:  "two files extended in turn by appends and writes, then synced together: blocks of the two alternate on disk",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, bs+5), on(1, pwrite(0, bs+9)), appendOp(bs), on(1, appendOp(2*bs+1)),
				pwrite(3*bs-2, 4), on(1, pwrite(5*bs, 3)), syncOp)
		},
	},
	{
		Name: "two-files-interleaved-cold",
		Doc:  "two files written in turn, caches dropped, then partial overwrites of both and an EOF change in one: every file read back from disk",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 3*bs), on(1, pwrite(bs/2, 3*bs)), dropCachesOp,
				on(1, pwrite(bs+1, 2)), pwrite(2*bs-1, 3), on(1, truncate(2*bs+7)), fsyncOp, on(1, fsyncOp))
		},
	},
}
