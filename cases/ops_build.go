package cases

import "github.com/iomapct/iomapct/filesystems"

// Short constructors for the catalogue and the random generator: a case reads
// as its op list, not as struct literals.

func pwrite(off, n int64) Op { return Op{Kind: PWrite, Off: off, Len: n} }
func appendOp(n int64) Op    { return Op{Kind: Append, Len: n} }
func dwrite(off, n int64) Op { return Op{Kind: DirectWrite, Off: off, Len: n} }
func mmapw(off, n int64) Op  { return Op{Kind: MmapWrite, Off: off, Len: n} }
func truncate(size int64) Op { return Op{Kind: Truncate, Off: size} }
func falloc(off, n int64) Op { return Op{Kind: Fallocate, Off: off, Len: n} }
func fallocKeep(off, n int64) Op {
	return Op{Kind: Fallocate, Off: off, Len: n, KeepSize: true}
}
func punch(off, n int64) Op { return Op{Kind: PunchHole, Off: off, Len: n} }
func zero(off, n int64) Op  { return Op{Kind: ZeroRange, Off: off, Len: n} }
func zeroKeep(off, n int64) Op {
	return Op{Kind: ZeroRange, Off: off, Len: n, KeepSize: true}
}

// shortcopy is a pwrite of n bytes whose buffer faults after copied bytes.
func shortcopy(off, n, copied int64) Op {
	return Op{Kind: ShortCopy, Off: off, Len: n, Copied: copied}
}

// writev builds a pwritev at off from the iovec lengths segs.
func writev(off int64, segs ...int64) Op {
	var sum int64
	for _, s := range segs {
		sum += s
	}
	return Op{Kind: Writev, Off: off, Len: sum, Segs: append([]int64(nil), segs...)}
}

var (
	fsyncOp      = Op{Kind: Fsync}
	fdatasyncOp  = Op{Kind: Fdatasync}
	syncOp       = Op{Kind: Sync}
	dropCachesOp = Op{Kind: DropCaches}
	remountOp    = Op{Kind: Remount}
	pollute      = Op{Kind: PolluteEOF}
	jdataOp      = Op{Kind: JournalData}
)

// ops is a literal op list (reads better than []Op{...}).
func ops(o ...Op) []Op { return o }

// Filesystem sets for Case.Only.
var (
	// withFallocate: ext2 has no fallocate at all (EOPNOTSUPP).
	withFallocate = filesystems.With(func(c filesystems.Caps) bool { return c.Fallocate })
	// withUnwritten: only these have unwritten extents; gfs2 zeroes
	// fallocated blocks instead.
	withUnwritten = filesystems.With(func(c filesystems.Caps) bool { return c.Unwritten })
	// withZeroRange: gfs2_fallocate rejects FALLOC_FL_ZERO_RANGE.
	withZeroRange = filesystems.With(func(c filesystems.Caps) bool { return c.ZeroRange })
	// onlyGFS2: the jdata and stuffed-file cases: the filesystems with
	// both (of the four, gfs2; the name predates the registry).
	onlyGFS2 = filesystems.With(func(c filesystems.Caps) bool { return c.JournalData && c.Stuffed })
	// onlyXFS: the shared-extent ops need ->remap_file_range (of the
	// four, only xfs has it; the name predates the registry).
	onlyXFS = filesystems.With(func(c filesystems.Caps) bool { return c.Reflink })
	// withNoWait: RWF_NOWAIT buffered writes (EOPNOTSUPP elsewhere).
	withNoWait = filesystems.With(func(c filesystems.Caps) bool { return c.NoWait })
)

// pageSize is the guest's page size (x86-64); cases that straddle pages or
// folios use it.
const pageSize = 4096

// gfs2MaxStuffed is gfs2_max_stuffed_size() (gfs2/incore.h): the block size
// less sizeof(struct gfs2_dinode) = 232.
func gfs2MaxStuffed(bs int64) int64 { return bs - 232 }
