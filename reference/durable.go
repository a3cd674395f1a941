package reference

import (
	"fmt"
	"strings"

	"github.com/iomapct/iomapct/cases"
)

// This file is the power-cut half of the specification: what a file may
// hold after the power failed and the filesystem recovered, given how far
// its op sequence had got. It does not model the page cache or the journal;
// it bounds the recovered file by the states the sequence went through.
//
// Rules (each with the kernel code it rests on, Linux 6.12):
//
//  1. Durable on return. fsync(2), fdatasync(2) and sync(2) make the file's
//     data and size as of their return durable: ext4_sync_file
//     (fs/ext4/fsync.c:141-193) writes and waits on the range, commits the
//     inode's transaction and issues a cache flush (blkdev_issue_flush);
//     xfs_file_fsync (fs/xfs/xfs_file.c) writes and waits, forces the log
//     up to the inode's last change and flushes the data device's cache;
//     gfs2_fsync (fs/gfs2/file.c:742-777) writes the pages, syncs the
//     inode (gfs2_write_inode flushes the log) and for journaled data
//     waits on the writeback and flushes the glock's log
//     (gfs2_ail_flush); ext2's generic_buffers_fsync (fs/buffer.c) writes
//     data and the inode's buffers and flushes the cache. fdatasync skips
//     only metadata not needed to read the data, and the size is needed.
//     sync(2) (ksys_sync, fs/sync.c) writes every filesystem and, through
//     sync_fs and sync_bdevs, flushes. RangeDurable lists op kinds that
//     instead make only their own byte range durable when they return (a
//     write on an O_SYNC or O_DSYNC descriptor: generic_write_sync ->
//     vfs_fsync_range over the bytes written, include/linux/fs.h).
//  2. Old or new. A byte not made durable since its last change holds one
//     of the values it had from its last durable point up to the crash,
//     including the op in flight when the power failed (its writes may be
//     partly on disk). A byte past a state's size reads as zero in that
//     state (a later extension exposes zeros, never old data). Anything
//     else (the mkfs poison, another file's bytes) is stale data: the
//     journaling filesystems never expose it (ext4 data=ordered writes data
//     before the transaction that maps it commits, jbd2's ordered inode
//     list; xfs maps new blocks at I/O completion or as unwritten; gfs2's
//     default ordered mode writes data before the log flush
//     (gfs2_ordered_write, fs/gfs2/log.c), and journaled data is in the
//     log itself (gfs2_trans_add_data, fs/gfs2/trans.c), replayed by
//     recovery (databuf_lo_scan_elements, fs/gfs2/lops.c)). ext2 has no
//     journal and no ordering: its never-synced bytes may be anything
//     (StaleAllowed), its synced bytes are still promised.
//  3. Size. The recovered size lies between the smallest and the largest
//     size the file had from its last durable point to the crash
//     (appends written back in pieces move the on-disk size in steps;
//     xfs_end_ioend updates di_size per completed I/O).

// RangeDurable lists op kinds that make their own byte range (and the size
// they reach) durable when they return, as O_SYNC/O_DSYNC writes do.
var RangeDurable = map[cases.Kind]bool{}

// WholeDurable reports whether op makes the whole file durable when it
// returns (rule 1).
func WholeDurable(k cases.Kind) bool {
	switch k {
	case cases.Fsync, cases.Fdatasync, cases.Sync, cases.DropCaches, cases.Remount:
		return true
	}
	return false
}

// wholeDurableFor reports whether op makes case file 0 (the file the
// oracle judges) durable: fsync and fdatasync only of their own file;
// sync, drop_caches and remount act on the whole filesystem.
func wholeDurableFor(op cases.Op) bool {
	switch op.Kind {
	case cases.Sync, cases.DropCaches, cases.Remount:
		return true
	}
	return WholeDurable(op.Kind) && op.File == 0
}

// rangeDurableFor reports whether op makes its own byte range of file 0
// durable when it returns: a write on an O_SYNC/O_DSYNC descriptor
// (Op.Sync) or with RWF_SYNC/RWF_DSYNC (Op.RWF), which end in
// generic_write_sync -> vfs_fsync_range over the bytes written
// (include/linux/fs.h), or a kind listed in RangeDurable.
func rangeDurableFor(op cases.Op) bool {
	if op.File != 0 {
		return false
	}
	// A fallocate on a sync descriptor writes data back on gfs2 only
	// (syncfalloc.go): not a promise about the range's bytes.
	if RangeDurable[op.Kind] || op.Sync != "" && op.Kind != cases.Fallocate {
		return true
	}
	for _, f := range strings.Split(op.RWF, ",") {
		if f == "dsync" || f == "sync" {
			return true
		}
	}
	return false
}

// CrashOracle holds a sequence's states: States[k] is the file after k ops.
type CrashOracle struct {
	Ops    []cases.Op
	States []CrashState
}

// CrashState is the file's bytes and size after some ops.
type CrashState struct {
	Size    int64
	Content []byte
}

// NewCrashOracle runs the model over ops and keeps every state.
func NewCrashOracle(g Geometry, ops []cases.Op) (*CrashOracle, error) {
	m, err := New(g)
	if err != nil {
		return nil, err
	}
	o := &CrashOracle{Ops: ops, States: []CrashState{{}}}
	for i, op := range ops {
		if err := m.Apply(i, op); err != nil {
			return nil, fmt.Errorf("op %d (%s): %w", i, op, err)
		}
		o.States = append(o.States, CrashState{Size: m.Size(), Content: m.Content()})
	}
	return o, nil
}

func (s CrashState) at(x int64) byte {
	if x < s.Size {
		return s.Content[x]
	}
	return 0
}

// CrashMismatch is one way a recovered file breaks the rules.
type CrashMismatch struct {
	// Check is "size" or "content".
	Check string
	// Off and Len are the byte range (content); Off is -1 for size.
	Off, Len int64
	// Expected are the allowed values of the first byte (content) or the
	// allowed size range; Found what the file holds.
	Expected, Found string
	// Durable is true when the range was made durable by an op that had
	// returned: it had exactly one allowed value.
	Durable bool
	// DurableBy is the op that made it durable (-1: none; content was
	// never synced, or the file's creation).
	DurableBy int
	Msg       string
}

// Judge checks a recovered file when the first returned ops of the
// sequence had returned before the power failed (the op after them may
// have been in flight). staleAllowed relaxes rule 2 for bytes that were
// never made durable (ext2).
func (o *CrashOracle) Judge(returned int, size int64, got []byte, staleAllowed bool) []CrashMismatch {
	n := len(o.Ops)
	returned = max(0, min(returned, n))
	hi := min(returned+1, n) // the last state the crash may have reached
	// whole is the first state that is durable file-wide; sizeFrom the
	// first whose size is (a range-durable write makes the size it
	// reaches durable too, as fdatasync does).
	whole, sizeFrom := 0, 0
	for i := 0; i < returned; i++ {
		if wholeDurableFor(o.Ops[i]) {
			whole, sizeFrom = i+1, i+1
		}
		if rangeDurableFor(o.Ops[i]) {
			sizeFrom = i + 1
		}
	}
	var out []CrashMismatch
	lo, hiSize := o.States[sizeFrom].Size, o.States[sizeFrom].Size
	for j := sizeFrom; j <= hi; j++ {
		lo, hiSize = min(lo, o.States[j].Size), max(hiSize, o.States[j].Size)
	}
	if size < lo || size > hiSize {
		out = append(out, CrashMismatch{Check: "size", Off: -1, Expected: fmt.Sprintf("[%d, %d]", lo, hiSize), Found: fmt.Sprint(size),
			Durable: lo == hiSize, DurableBy: sizeFrom - 1,
			Msg: fmt.Sprintf("recovered size %d, allowed [%d, %d] (states after ops %d..%d%s)", size, lo, hiSize, sizeFrom, hi, durableByText(o.Ops, sizeFrom-1))})
	}
	// Per byte: the first durable state for that byte, then the states up
	// to the crash.
	firstState := func(x int64) int {
		d := whole
		for i := whole; i < returned; i++ {
			op := o.Ops[i]
			if rangeDurableFor(op) && x >= op.Off && x < op.Off+op.Len {
				d = i + 1
			}
		}
		return d
	}
	allowed := func(x int64, v byte) (bool, int) {
		d := firstState(x)
		for j := d; j <= hi; j++ {
			if o.States[j].at(x) == v {
				return true, d
			}
		}
		return false, d
	}
	pinned := func(x int64, d int) bool {
		for j := d + 1; j <= hi; j++ {
			if o.States[j].at(x) != o.States[d].at(x) {
				return false
			}
		}
		return true
	}
	for x := int64(0); x < int64(len(got)); x++ {
		ok, d := allowed(x, got[x])
		if ok {
			continue
		}
		durable := pinned(x, d)
		if staleAllowed && !durable {
			continue
		}
		// Extend over the following bytes that break the rule the same way.
		end := x + 1
		for end < int64(len(got)) {
			ok2, d2 := allowed(end, got[end])
			if ok2 || pinned(end, d2) != durable {
				break
			}
			end++
		}
		var vals []byte
		for j := d; j <= hi; j++ {
			v := o.States[j].at(x)
			seen := false
			for _, w := range vals {
				seen = seen || w == v
			}
			if !seen {
				vals = append(vals, v)
			}
		}
		exp := fmt.Sprintf("% x", vals)
		if !durable {
			exp = "one of " + exp
		}
		by := -1
		if durable && d > 0 {
			by = d - 1
		}
		m := CrashMismatch{Check: "content", Off: x, Len: end - x, Expected: exp, Found: sample(got[x:end]), Durable: durable, DurableBy: by}
		what := "not made durable: old or new bytes allowed"
		if durable {
			what = "durable"
			if by >= 0 {
				what = fmt.Sprintf("made durable by op %d (%s)", by, o.Ops[by])
			}
		}
		m.Msg = fmt.Sprintf("%d byte(s) in [%d, %d) (%s): expected %s, found %s", end-x, x, end, what, exp, m.Found)
		out = append(out, m)
		x = end - 1
		if len(out) >= 4 {
			break
		}
	}
	return out
}

func sample(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("% x …", b[:16])
	}
	return fmt.Sprintf("% x", b)
}

func durableByText(ops []cases.Op, by int) string {
	if by < 0 {
		return ""
	}
	return fmt.Sprintf("; made durable by op %d (%s)", by, ops[by])
}
