package cases

// Cases that reach write-path lines nothing else did (README "Kernel
// coverage"): each is judged like any other case, on disk and by its reads.
var coverageCases = []Case{
	{
		Name: "pwrite-zero-length",
		Doc:  "zero-length pwrites inside and past EOF write nothing and move no size (generic_write_checks returns 0 before any zeroing; gfs2_file_write_iter's early exit)",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 100), pwrite(50, 0), pwrite(3*bs+7, 0), read(0, 200), pwrite(100, 0), fsyncOp)
		},
	},
	{
		Name: "fallocate-sync",
		Doc:  "fallocate through O_SYNC and O_DSYNC descriptors over dirty data, extending and with KEEP_SIZE, then writes into the allocated blocks and a cold read (gfs2 ends in vfs_fsync_range, xfs forces the inode's log, ext4 commits the journal)",
		Only: withFallocate,
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, bs+100), fallocSync(bs/2, 3*bs, false, "osync"), pwrite(2*bs+5, 10),
				fallocSync(4*bs+1, 2*bs, true, "odsync"), pwrite(3*bs+bs/2, bs), read(0, min(6*bs, MaxReadLen)),
				dropCachesOp, read(bs, min(4*bs, MaxReadLen)))
		},
	},
	{
		Name: "dio-setuid-file",
		Doc:  "aligned O_DIRECT writes inside EOF of a set-user-ID file (no S_NOSEC: xfs restarts its write checks with the iolock exclusive, ext4 takes i_rwsem exclusive), around a buffered write, then a read",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 4*bs), fsyncOp, setUIDOp, dwrite(0, bs), pwrite(bs+10, 20), dwrite(2*bs, bs),
				read(0, min(4*bs, MaxReadLen)), dwrite(4*bs, bs))
		},
	},
}

// setUIDOp makes the file set-user-ID.
var setUIDOp = Op{Kind: SetUID}

// fallocSync is a fallocate (KEEP_SIZE if keep) through a descriptor opened
// with mode (SyncModes).
func fallocSync(off, n int64, keep bool, mode string) Op {
	return Op{Kind: Fallocate, Off: off, Len: n, KeepSize: keep, Sync: mode}
}
