package cases

// CrashCatalogue is what `iomapct crash` runs: short sequences around the
// persistence calls (fsync, fdatasync, sync), because crash-consistency
// bugs mostly need three ops or fewer after a persistence point
// (CrashMonkey/ACE, OSDI 2018). The guest creates each file durably, runs
// the ops with a marker after each and never unmounts; the host cuts the
// power at every flush of the disk's write log and judges the recovered
// file against reference.CrashOracle. Not part of Catalogue: every op here
// costs a handful of recovery mounts.
var CrashCatalogue = []Case{
	{Name: "crash-write-fsync", Doc: "a multi-block write, then fsync: durable after the fsync returns",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 3*bs+100), fsyncOp) }},
	{Name: "crash-write-fdatasync", Doc: "fdatasync makes the data and the new size durable",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 2*bs), fdatasyncOp) }},
	{Name: "crash-write-sync", Doc: "sync(2) makes an unaligned write durable",
		Gen: func(bs int64) []Op { return ops(pwrite(bs/2, bs), syncOp) }},
	{Name: "crash-append-fsync-twice", Doc: "two appends, each fsynced: the first stays durable while the second is in flight",
		Gen: func(bs int64) []Op { return ops(appendOp(bs+10), fsyncOp, appendOp(100), fsyncOp) }},
	{Name: "crash-overwrite-fdatasync", Doc: "an overwrite inside fsynced data, then fdatasync (no size change: a pure data flush)",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 2*bs), fsyncOp, pwrite(100, 200), fdatasyncOp) }},
	{Name: "crash-unsynced-tail", Doc: "fsynced block, then an unsynced extension: old or new, never stale",
		Gen: func(bs int64) []Op { return ops(pwrite(0, bs), fsyncOp, pwrite(bs, bs+1)) }},
	{Name: "crash-truncate-down-fsync", Doc: "truncate down after fsync, fsynced again: the size shrinks durably",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 3*bs), fsyncOp, truncate(bs+7), fsyncOp) }},
	{Name: "crash-truncate-up-fsync", Doc: "truncate up then write at the end; the gap reads zero after recovery",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 100), fsyncOp, truncate(2*bs+5), pwrite(2*bs, 5), fsyncOp) }},
	{Name: "crash-sparse-fsync", Doc: "a write far past EOF, fsynced, then one into the hole",
		Gen: func(bs int64) []Op { return ops(pwrite(5*bs, 100), fsyncOp, pwrite(0, 10), fsyncOp) }},
	{Name: "crash-mmap-fsync", Doc: "a store through a shared mapping (msync MS_SYNC), then fsync",
		Gen: func(bs int64) []Op { return ops(mmapw(0, bs+50), fsyncOp) }},
	{Name: "crash-dio-fsync", Doc: "an O_DIRECT write then fsync (the size change needs the fsync)",
		Gen: func(bs int64) []Op { return ops(dwrite(0, 2*bs), fsyncOp, dwrite(2*bs, bs), fdatasyncOp) }},
	{Name: "crash-writev-fsync", Doc: "a pwritev straddling blocks, fsynced",
		Gen: func(bs int64) []Op { return ops(writev(10, 100, bs, 7), fsyncOp) }},
	{Name: "crash-small-fsync-series", Doc: "three small writes, each fsynced: every fsync point is checked",
		Gen: func(bs int64) []Op {
			return ops(pwrite(0, 10), fsyncOp, pwrite(10, 10), fsyncOp, pwrite(20, 10), fsyncOp)
		}},
	{Name: "crash-truncate-zero-rewrite", Doc: "fsynced file truncated to zero and rewritten shorter",
		Gen: func(bs int64) []Op { return ops(pwrite(0, 2*bs), fsyncOp, truncate(0), pwrite(0, 50), fsyncOp) }},
	{Name: "crash-shortcopy-fsync", Doc: "a short copy keeps what it copied; fsynced",
		Gen: func(bs int64) []Op { return ops(shortcopy(100, 2*bs, bs), fsyncOp) }},
	{Name: "crash-fdatasync-extend", Doc: "fdatasync after each extending write: the size must follow",
		Gen: func(bs int64) []Op { return ops(pwrite(0, bs), fdatasyncOp, pwrite(bs, bs+1), fdatasyncOp) }},
	{Name: "crash-straddle-fsync", Doc: "small writes straddling block boundaries, each fsynced",
		Gen: func(bs int64) []Op { return ops(pwrite(bs-3, 6), fsyncOp, pwrite(2*bs-1, 2), fsyncOp) }},
	{Name: "crash-falloc-write-fsync", Doc: "a write into fallocated (KEEP_SIZE) space, fsynced",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(fallocKeep(0, 4*bs), pwrite(bs, 100), fsyncOp) }},
	{Name: "crash-punch-fsync", Doc: "a hole punched in fsynced data, fsynced",
		Only: withFallocate,
		Gen:  func(bs int64) []Op { return ops(pwrite(0, 4*bs), fsyncOp, punch(bs, 2*bs), fsyncOp) }},
	{Name: "crash-jdata-write-fsync", Doc: "gfs2 journaled data: multi-block write then fsync (gfs2_fsync writes, waits and flushes the log for jdata)",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(0, 2*bs+100), fsyncOp) }},
	{Name: "crash-jdata-overwrite", Doc: "gfs2 jdata: overwrite of fsynced journaled blocks, fsynced",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(0, bs), fsyncOp, pwrite(10, bs), fsyncOp) }},
	{Name: "crash-jdata-append-fdatasync", Doc: "gfs2 jdata: appends, each fdatasynced",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, appendOp(300), fdatasyncOp, appendOp(bs), fdatasyncOp) }},
	{Name: "crash-jdata-unstuff", Doc: "gfs2 jdata: stuffed data fsynced, then unstuffed by a write past the inline limit",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(0, 100), fsyncOp, pwrite(100, bs), fsyncOp) }},
	{Name: "crash-jdata-sync", Doc: "gfs2 jdata: sync(2) after a three-block write",
		Only: onlyGFS2,
		Gen:  func(bs int64) []Op { return ops(jdataOp, pwrite(0, 3*bs), syncOp) }},
}

// LookupCrash finds a crash catalogue case by name.
func LookupCrash(name string) (Case, bool) {
	for _, c := range CrashCatalogue {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// crashQuick names the crash cases `iomapct run --crash quick` (and so
// `make test-kernel`) runs: one per persistence path (fsync of new data,
// fdatasync of an overwrite, appends, a truncate, sync) plus gfs2's
// journaled data, so a flush or a transaction missing from any of them
// fails without the cost of the whole catalogue.
var crashQuick = []string{
	"crash-write-fsync", "crash-overwrite-fdatasync", "crash-append-fsync-twice",
	"crash-truncate-down-fsync", "crash-write-sync", "crash-jdata-write-fsync", "crash-jdata-overwrite",
}

// CrashQuick returns the quick subset of CrashCatalogue.
func CrashQuick() []Case {
	var out []Case
	for _, n := range crashQuick {
		c, ok := LookupCrash(n)
		if !ok {
			panic("crash quick set names unknown case " + n)
		}
		out = append(out, c)
	}
	return out
}
