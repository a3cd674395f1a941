package reference

import (
	"fmt"

	"github.com/iomapct/iomapct/cases"
)

// Sync writes: O_SYNC / O_DSYNC descriptors and pwritev2's RWF_DSYNC and
// RWF_SYNC make the write end in generic_write_sync
// (include/linux/fs.h:2939-2950), which calls vfs_fsync_range over the
// bytes just written, [pos - count, pos - 1]. Every filesystem here writes
// back exactly the folios overlapping that range (xfs_file_fsync,
// ext4_sync_file, __generic_file_fsync through file_write_and_wait_range;
// gfs2_fsync through filemap_fdatawrite_range, gfs2/file.c:751-755),
// except a gfs2 jdata inode, whose dirty inode makes gfs2_fsync write back
// the whole file (file.c:762-771).

// syncPwrite is pwrite(2) through an O_SYNC or O_DSYNC descriptor.
func (m *Model) syncPwrite(op cases.Op) error {
	m.bufferedWrite(op.Off, op.Len, op.Off+op.Len)
	m.writeSync(op.Off, op.Off+op.Len)
	m.durable(op.Off, op.Len)
	return nil
}

// durable records what a sync write's range must hold on disk when the
// write returns: its bytes. The guest reads them from the block device
// (cases/execute/durable.go). A gfs2 file still stuffed keeps its bytes in
// the dinode and a jdata file in the journal until the log is flushed
// back in place, so the disk's in-place bytes say nothing there.
func (m *Model) durable(pos, n int64) {
	if n <= 0 || m.fs == fsGFS2 && (m.stuffed || m.jdata) {
		return
	}
	m.recordReadBack(pos, append([]byte(nil), m.content[pos:pos+n]...), n)
	rb := m.rs.back[m.opIndex]
	rb.Durable = true
	m.rs.back[m.opIndex] = rb
}

// writeSync is generic_write_sync after count bytes were written ending at
// end: the folios overlapping [end-count, end) are written back.
func (m *Model) writeSync(start, end int64) {
	if end <= start {
		return
	}
	if m.fs == fsGFS2 && m.jdata {
		m.writeback(0, m.cachedEnd())
		return
	}
	m.writeback(start, end)
}

// pwritev2 is pwritev2(2) with RWF_* flags.
//   - RWF_APPEND: generic_write_checks_count moves the position to i_size
//     (fs/read_write.c:1773-1774), as O_APPEND does.
//   - RWF_NOWAIT: kiocb_set_rw_flags refuses it with EOPNOTSUPP unless the
//     file has FMODE_NOWAIT (include/linux/fs.h:3621-3623), which ext2 and
//     gfs2 never set; ext4 sets it (ext4/file.c:894) but
//     ext4_buffered_write_iter returns EOPNOTSUPP for any buffered NOWAIT
//     write (file.c:291-292). So only xfs writes; see xfsNowaitWrite.
//   - RWF_DSYNC, RWF_SYNC: generic_write_sync (writeSync).
func (m *Model) pwritev2(op cases.Op) error {
	pos := op.Off
	if op.HasRWF("append") {
		pos = m.size
	}
	if m.rs.ret == nil {
		m.rs.ret = map[int]int64{}
	}
	if pos+op.Len > MaxModelSize {
		return fmt.Errorf("%w: pwritev2 reaches byte %d, past the model's limit %d", ErrInvalid, pos+op.Len, MaxModelSize)
	}
	written := op.Len
	if op.HasRWF("nowait") {
		if m.fs != fsXFS {
			return fmt.Errorf("%s buffered RWF_NOWAIT write: %w (EOPNOTSUPP)", m.g.FS, ErrUnsupported)
		}
		written = m.xfsNowaitWrite(pos, op.Len)
	} else {
		m.bufferedWrite(pos, op.Len, pos+op.Len)
	}
	if written > 0 {
		m.rs.ret[m.opIndex] = written
		if op.HasRWF("dsync") || op.HasRWF("sync") {
			m.writeSync(pos, pos+written)
			m.durable(pos, written)
		}
	} else {
		m.rs.ret[m.opIndex] = cases.EAGAIN
	}
	return nil
}

// xfsNowaitWrite is a RWF_NOWAIT buffered write on xfs; it returns the
// bytes written, 0 for EAGAIN.
//   - Before anything is written, kiocb_modified (xfs_file_write_checks,
//     xfs_file.c:491) returns EAGAIN when the timestamps need an update
//     (file_modified_flags, fs/inode.c:2321-2322), which depends on the
//     clock, and xfs_ilock_for_iomap returns EAGAIN when the extent list
//     is not read in yet or the lock is taken (xfs_iomap.c:741-745).
//     Either way nothing changed: an EAGAIN the guest observed
//     (RunObserved) is taken as that.
//   - A write starting past EOF would have to zero the gap first:
//     xfs_file_write_zero_eof returns EAGAIN (xfs_file.c:386-387).
//   - __iomap_write_begin returns EAGAIN where it would read a block from
//     disk (fs/iomap/buffered-io.c:768-769); what earlier folios took
//     stays written and the write returns its count
//     (iomap_file_buffered_write, 1070-1077). The folio it stopped in
//     keeps no uptodate block it did not have: its zeroed parts are only
//     marked uptodate by write_end, which never runs.
//
// A folio that cannot be locked or allocated without waiting makes
// write_begin fail with EAGAIN too; at the first folio that is the EAGAIN
// above (and its failed begin may be traced), later ones — and the
// iomap_folio_state allocation (buffered-io.c:743-744) — are not
// modelled: a short count there fails the return check.
func (m *Model) xfsNowaitWrite(pos, n int64) int64 {
	if pos > m.size {
		return 0
	}
	sawEAGAIN := m.opIndex < len(m.rs.observed) && m.rs.observed[m.opIndex] == cases.EAGAIN
	var before *Model
	if sawEAGAIN {
		before = m.clone()
	}
	m.rs.nowait, m.rs.nowaitStop, m.rs.nowaitMaybe = true, -1, sawEAGAIN
	m.bufferedWrite(pos, n, pos+n)
	m.rs.nowait, m.rs.nowaitMaybe = false, false
	written := n
	if m.rs.nowaitStop >= 0 {
		written = m.rs.nowaitStop - pos
	}
	if sawEAGAIN && written > 0 {
		// The kernel gave EAGAIN before writing anything: the checks
		// before write_begin, or write_begin on the first folio
		// failing to lock or allocate it without waiting
		// (__filemap_get_folio with FGP_NOWAIT, mm/filemap.c:1898-1901,
		// 1937-1939, 1982-1983). Nothing happened; the trace may hold
		// that failed begin, of a length asked that the model does
		// not follow (MayBeAbsent steps are matched by position).
		var first *Callout
		for i := len(before.callouts); i < len(m.callouts); i++ {
			if m.callouts[i].Op == m.opIndex && m.callouts[i].Kind == CalloutWrite {
				c := m.callouts[i]
				first = &c
				break
			}
		}
		*m = *before
		if first != nil {
			first.Copied, first.Written = 0, 0
			first.BeginStatus, first.MayBeAbsent = cases.EAGAIN, true
			m.record(*first)
		}
		return 0
	}
	// written == 0 with sawEAGAIN: write_begin refused the first folio,
	// or an earlier check did; the refused step may be absent from the
	// trace (MayBeAbsent).
	return written
}

// clone is a deep copy of the model, to undo an op whose outcome the guest
// reported otherwise.
func (m *Model) clone() *Model {
	c := *m
	c.content = append([]byte(nil), m.content...)
	c.blocks = append([]blk(nil), m.blocks...)
	c.fhead = append([]int32(nil), m.fhead...)
	c.ford = append([]uint8(nil), m.ford...)
	c.fra = append([]bool(nil), m.fra...)
	c.callouts = append([]Callout(nil), m.callouts...)
	c.reads = append([]Read(nil), m.reads...)
	c.skips = append([]Span(nil), m.skips...)
	c.rs.back = make(map[int]ReadBack, len(m.rs.back))
	for k, v := range m.rs.back {
		c.rs.back[k] = v
	}
	c.rs.ret = make(map[int]int64, len(m.rs.ret))
	for k, v := range m.rs.ret {
		c.rs.ret[k] = v
	}
	return &c
}

// nowaitRefuses is called by iomapWriteIter before write_begin on a folio
// during a RWF_NOWAIT write: true (and the write stops at pos) when
// __iomap_write_begin would read a block from disk (buffered-io.c:747-769
// walked without changing anything).
func (m *Model) nowaitRefuses(pos, length, fs, fz int64, mp iomapping) bool {
	if !m.rs.nowait || mp.typ == MapInline {
		return false
	}
	if pos <= fs && pos+length >= fs+fz {
		return false
	}
	if m.folioUptodate(fs, fz) {
		return false
	}
	blockStart := roundDown(pos, m.bs)
	blockEnd := roundUp(pos+length, m.bs)
	from, to := pos, pos+length
	for {
		poff, plen := m.adjustReadRange(&blockStart, blockEnd-blockStart, fs, fz)
		if plen == 0 {
			return false
		}
		covered := (from <= poff || from >= poff+plen) && (to <= poff || to >= poff+plen)
		if !covered && mp.typ == MapMapped && mp.flags&FlagNew == 0 && blockStart < m.size {
			m.rs.nowaitStop = pos
			return true
		}
		blockStart += plen
		if blockStart >= blockEnd {
			return false
		}
	}
}
