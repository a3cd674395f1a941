package cases

import "github.com/iomapct/iomapct/filesystems"

// Constructors for reads, range shifts and sync writes (op_read.go).

func read(off, n int64) Op     { return Op{Kind: Read, Off: off, Len: n} }
func mapread(off, n int64) Op  { return Op{Kind: MapRead, Off: off, Len: n} }
func collapse(off, n int64) Op { return Op{Kind: Collapse, Off: off, Len: n} }
func insert(off, n int64) Op   { return Op{Kind: Insert, Off: off, Len: n} }

// pwriteSync is a pwrite through a descriptor opened with O_SYNC ("osync")
// or O_DSYNC ("odsync").
func pwriteSync(off, n int64, mode string) Op {
	return Op{Kind: PWrite, Off: off, Len: n, Sync: mode}
}

// pwritev2 is pwritev2(2) with the RWF_* flags rwf (RWFNames order).
func pwritev2(off, n int64, rwf string) Op { return Op{Kind: PWritev2, Off: off, Len: n, RWF: rwf} }

// withShift: FALLOC_FL_COLLAPSE_RANGE and INSERT_RANGE exist on ext4
// (extent files) and xfs only; ext2 has no ->fallocate and gfs2_fallocate
// takes only PUNCH_HOLE and KEEP_SIZE (EOPNOTSUPP).
var withShift = filesystems.With(func(c filesystems.Caps) bool { return c.Shift })
