package reference

import "github.com/iomapct/iomapct/cases"

// iomapping is one mapping returned by ->iomap_begin: the byte range
// [off, end) and its type and flags.
type iomapping struct {
	typ      MapType
	flags    MapFlags
	off, end int64
}

// bufferedWrite is write(2)/pwrite(2)/pwritev(2) of n bytes at pos. The user
// buffer is readable up to file offset limit (limit < pos+n models a
// ShortCopy whose bytes past Copied are unmapped).
func (m *Model) bufferedWrite(pos, n, limit int64) {
	if n == 0 {
		// generic_write_checks returns 0 for an empty iov_iter; no EOF
		// zeroing, no iomap_iter.
		return
	}
	m.ensure(pos + n)
	switch m.fs {
	case fsExt2, fsExt4:
		m.bhWrite(pos, n, limit)
	default:
		m.iomapWrite(pos, n, limit)
	}
}

// iomapWrite models xfs_file_buffered_write / gfs2_file_buffered_write and
// iomap_file_buffered_write (buffered-io.c:1053-1078) with iomap_iter
// (iter.c:74-97): ->iomap_begin on the whole remaining range, one
// iomap_write_iter per mapping, ->iomap_end with what was written.
func (m *Model) iomapWrite(pos, n, limit int64) {
	switch m.fs {
	case fsXFS:
		// xfs_file_write_checks -> xfs_file_write_zero_eof
		// (xfs_file.c:358-420): zero [isize, pos) first.
		if pos > m.size {
			m.iomapZeroRange(m.size, pos-m.size)
		}
	case fsGFS2:
		// gfs2_file_buffered_write (gfs2/file.c:1060) ->
		// gfs2_clear_beyond_eof (bmap.c:1318-1329).
		m.gfs2ClearBeyondEOF(pos)
	}
	opEnd := pos + n
	for pos < opEnd {
		mp := m.iomapBeginWrite(pos, opEnd-pos)
		length := min(opEnd-pos, mp.end-pos)
		written, efault := m.iomapWriteIter(pos, length, opEnd, limit, mp)
		m.iomapEnd(pos, length, written, mp)
		pos += written
		if efault || written < length {
			// A later iteration would fault at once (-EFAULT) and end
			// the loop; its ->iomap_begin/->iomap_end pair allocates
			// and releases the same range, leaving no trace.
			break
		}
	}
}

// iomapBeginWrite is ->iomap_begin(IOMAP_WRITE).
func (m *Model) iomapBeginWrite(pos, length int64) iomapping {
	if m.fs == fsGFS2 {
		return m.gfs2BeginWrite(pos, length)
	}
	return m.xfsBeginWrite(pos, length)
}

// xfsBeginWrite models xfs_buffered_write_iomap_begin (xfs_iomap.c:957-1205):
// an existing extent is returned as it is (DELALLOC, UNWRITTEN or MAPPED);
// a hole gets a delalloc reservation reported as DELALLOC|NEW, the request
// capped at 1024 pages (xfs_iomap.c:1107-1108). Speculative post-EOF
// preallocation is not modelled: Blocks() never asserts a hole on xfs.
func (m *Model) xfsBeginWrite(pos, length int64) iomapping {
	b := pos >> m.bbits
	a := m.blocks[b].alloc
	limitEnd := roundUp(pos+length, m.bs)
	if a == aHole {
		limitEnd = roundUp(pos+min(length, 1024*m.ps), m.bs)
	}
	e := m.runEnd(b, limitEnd>>m.bbits, a)
	mp := iomapping{off: b << m.bbits, end: e << m.bbits}
	switch a {
	case aHole:
		for i := b; i < e; i++ {
			m.blocks[i].alloc = aDelalloc
		}
		mp.typ, mp.flags = MapDelalloc, FlagNew
	case aDelalloc:
		mp.typ = MapDelalloc
	case aUnwritten:
		mp.typ = MapUnwritten
	default:
		mp.typ = MapMapped
	}
	return mp
}

// gfs2BeginWrite models gfs2_iomap_begin_write (gfs2/bmap.c:1009-1092) and
// __gfs2_iomap_get (bmap.c:840-960): a stuffed inode whose write stays
// within gfs2_max_stuffed_size is one INLINE mapping [0, bs-232)
// (bmap.c:866-891); a larger write unstuffs first. Allocated runs are
// MAPPED; a hole is allocated at once (__gfs2_iomap_alloc, bmap.c:661-780)
// and reported MAPPED|NEW. gfs2 has no delalloc and no unwritten extents.
// Runs are not split at indirect-block boundaries (gfs2_extent_length,
// bmap.c:427-443), which only moves mapping edges, never folio callouts'
// content. jdata inodes get IOMAP_F_BUFFER_HEAD (bmap.c:1102-1103).
func (m *Model) gfs2BeginWrite(pos, length int64) iomapping {
	var fl MapFlags
	if m.jdata {
		fl |= FlagBufferHead
	}
	if m.stuffed {
		maxStuffed := m.bs - gfs2DinodeSize
		if pos+length <= maxStuffed {
			return iomapping{typ: MapInline, flags: fl, off: 0, end: maxStuffed}
		}
		m.unstuff()
	}
	b := pos >> m.bbits
	a := m.blocks[b].alloc
	e := m.runEnd(b, roundUp(pos+length, m.bs)>>m.bbits, a)
	mp := iomapping{typ: MapMapped, flags: fl | FlagMerged, off: b << m.bbits, end: e << m.bbits}
	if a == aHole {
		for i := b; i < e; i++ {
			m.blocks[i].alloc = aWritten
		}
		mp.flags |= FlagNew
	}
	return mp
}

// runEnd returns the first block in (b, limit) whose allocation differs from
// a, or limit.
func (m *Model) runEnd(b, limit int64, a uint8) int64 {
	e := b + 1
	for e < limit && m.blocks[e].alloc == a {
		e++
	}
	return e
}

// iomapWriteIter models iomap_write_iter (buffered-io.c:945-1051) over one
// mapping: it returns the bytes written and whether the loop ended on a
// user-copy fault.
//
// With large folios the length asked of write_begin, and so the order of a
// folio it creates (fgf_set_order, via iomap_get_folio at 635-646), is
// bounded by the mapping's end (972-973, iomap_length). On xfs the model's
// mapping edges are those of its own allocation, without speculative
// preallocation (see xfsBeginWrite) or the extent splits of physically
// discontiguous blocks; where the kernel's mapping ends elsewhere, the
// folios it creates differ in size, and with them the steps of a short
// copy (which folio the copy fails in, how long the rejected step is, how
// often it is retried), though not the bytes written.
func (m *Model) iomapWriteIter(pos, length, opEnd, limit int64, mp iomapping) (total int64, efault bool) {
	chunk := m.maxFol // mapping_max_folio_size (buffered-io.c:952)
	for {
		bytes := opEnd - pos
	retry:
		bytes = min(chunk-(pos&(chunk-1)), bytes, length)
		// fault_in_iov_iter_readable == bytes: nothing readable.
		if limit <= pos {
			return total, true
		}
		// iomap_write_begin (814-876): clamp to the page without large
		// folio support (829-830), get the folio, clamp to its end.
		if m.fs != fsXFS {
			bytes = min(bytes, m.ps-(pos&(m.ps-1)))
		}
		fs, fz := m.getFolio(pos, bytes)
		bytes = min(bytes, fs+fz-pos)
		if m.nowaitRefuses(pos, bytes, fs, fz, mp) {
			// RWF_NOWAIT: write_begin returned EAGAIN (syncwrite.go).
			m.record(Callout{Kind: CalloutWrite, Pos: pos, Len: bytes, FolioPos: fs, FolioSize: fz,
				Map: mp.typ, Flags: mp.flags, BeginStatus: cases.EAGAIN, MayBeAbsent: m.rs.nowaitMaybe})
			m.iomapWriteFailed(pos, bytes)
			return total, true
		}
		m.iomapWriteBegin(pos, bytes, fs, fz, mp)
		copied := min(bytes, max(limit-pos, 0))
		written := int64(0)
		if m.iomapWriteEnd(pos, bytes, copied, fs, fz, mp) {
			written = copied
		}
		m.record(Callout{Kind: CalloutWrite, Pos: pos, Len: bytes, Copied: copied, Written: written,
			FolioPos: fs, FolioSize: fz, Map: mp.typ, Flags: mp.flags})
		m.storeData(pos, written)
		if written == 0 {
			// 1027-1042: drop the page cache past EOF, halve the
			// chunk, retry with what was copied.
			m.iomapWriteFailed(pos, bytes)
			if chunk > m.ps {
				chunk /= 2
			}
			if copied > 0 {
				bytes = copied
				goto retry
			}
		} else {
			pos += written
			total += written
			length -= written
		}
		if pos >= opEnd || length == 0 {
			return total, false
		}
	}
}

// storeData copies op data into [pos, pos+n) and moves EOF (1016-1020).
func (m *Model) storeData(pos, n int64) {
	if n <= 0 {
		return
	}
	if m.feed != nil {
		m.feed(m.content[pos:pos+n], pos)
	} else {
		cases.FillData(m.content[pos:pos+n], m.opIndex, pos)
	}
	first, end := m.blockRange(pos, pos+n)
	for i := first; i < end; i++ {
		m.blocks[i].lastOp = int32(m.opIndex)
	}
	if pos+n > m.size {
		m.size = pos + n
	}
}

// iomapWriteBegin models the per-block part of iomap_write_begin: inline
// (iomap_write_begin_inline, 805-812: the whole folio is read from the
// dinode and uptodate) and __iomap_write_begin (719-779). Content needs no
// work here (see the package comment); what changes is which blocks become
// uptodate, which decides whether a later short copy is accepted.
//
// IOMAP_F_BUFFER_HEAD (gfs2 jdata) goes to __block_write_begin_int
// (fs/buffer.c:2111-2186) instead; its zero/read decisions are the same
// (iomap_to_bh, buffer.c:2043-2109, marks HOLE/DELALLOC/UNWRITTEN/NEW and
// post-EOF buffers new), so the same per-block rule is applied.
func (m *Model) iomapWriteBegin(pos, length, fs, fz int64, mp iomapping) {
	if mp.typ == MapInline {
		m.setBlockFlags(fs, fs+fz, fUptodate)
		return
	}
	// 738-740: a write over the whole folio needs no per-block work.
	if pos <= fs && pos+length >= fs+fz {
		return
	}
	// 746-747: an uptodate folio needs nothing read.
	if m.folioUptodate(fs, fz) {
		return
	}
	blockStart := roundDown(pos, m.bs)
	blockEnd := roundUp(pos+length, m.bs)
	from, to := pos, pos+length
	for {
		poff, plen := m.adjustReadRange(&blockStart, blockEnd-blockStart, fs, fz)
		if plen == 0 {
			break
		}
		// 755-758: a run the write covers entirely is not read.
		covered := (from <= poff || from >= poff+plen) && (to <= poff || to >= poff+plen)
		if !covered {
			// Either zeroed (iomap_block_needs_zeroing, 394-402:
			// not MAPPED, or NEW, or at/after EOF) or read from disk
			// (iomap_read_folio_sync, 707-717); both leave the run
			// uptodate and equal to the logical content.
			if mp.typ == MapMapped && mp.flags&FlagNew == 0 && blockStart < m.size {
				m.recordRead(poff, plen)
			}
			m.setBlockFlags(poff, poff+plen, fUptodate)
		}
		blockStart += plen
		if blockStart >= blockEnd {
			break
		}
	}
}

// adjustReadRange is iomap_adjust_read_range (buffered-io.c:259-324): skip
// leading uptodate blocks, stop before the first trailing uptodate block,
// and split the run at the block holding i_size-1 so that blocks wholly
// beyond EOF are zeroed in a run of their own. Offsets are file offsets.
func (m *Model) adjustReadRange(pos *int64, length, fs, fz int64) (poff, plen int64) {
	origPos := *pos
	poff = *pos
	plen = min(fs+fz-poff, length)
	origPlen := plen
	first := (poff - fs) >> m.bbits
	last := (poff + plen - 1 - fs) >> m.bbits
	fb := fs >> m.bbits
	if fz > m.bs { // ifs exists only with more than one block per folio
		i := first
		for ; i <= last; i++ {
			if m.blocks[fb+i].flags&fUptodate == 0 {
				break
			}
		}
		if skipped := i - first; skipped > 0 {
			bytesSkipped := skipped<<m.bbits - (*pos & (m.bs - 1))
			*pos += bytesSkipped
			poff += bytesSkipped
			plen -= bytesSkipped
		}
		first = i
		for i++; i <= last; i++ {
			if m.blocks[fb+i].flags&fUptodate != 0 {
				plen -= bytesToTruncate(*pos+plen, m.bbits, last-i+1)
				last = i - 1
				break
			}
		}
	}
	isize := m.size
	if origPos <= isize && origPos+origPlen > isize {
		end := ((isize - 1) & (fz - 1)) >> m.bbits // offset_in_folio(folio, isize-1)
		if first <= end && last > end {
			plen -= bytesToTruncate(*pos+plen, m.bbits, last-end)
		}
	}
	if plen < 0 {
		plen = 0
	}
	return poff, plen
}

// bytesToTruncate is iomap_bytes_to_truncate (buffered-io.c:244-254).
func bytesToTruncate(endPos int64, bbits uint, blocks int64) int64 {
	off := endPos & (1<<bbits - 1)
	if off == 0 {
		return blocks << bbits
	}
	return (blocks-1)<<bbits + off
}

// iomapWriteEnd models iomap_write_end (923-943): inline copies back into
// the dinode and always succeeds (iomap_write_end_inline, 902-917);
// IOMAP_F_BUFFER_HEAD uses block_write_end (fs/buffer.c:2268-), which turns
// a short copy into a non-uptodate folio into 0 and succeeds only if that
// equals copied; otherwise __iomap_write_end (878-900) refuses a short copy
// into a non-uptodate folio, else marks [pos,pos+len) uptodate and
// [pos,pos+copied) dirty, per block.
func (m *Model) iomapWriteEnd(pos, length, copied, fs, fz int64, mp iomapping) bool {
	if mp.typ == MapInline {
		return true
	}
	if copied < length && !m.folioUptodate(fs, fz) {
		if mp.flags&FlagBufferHead != 0 {
			// folio_zero_new_buffers (buffer.c:2005-) zeroes and
			// dirties the NEW buffers of the failed range; gfs2's
			// ->iomap_end then frees those past the written part.
			if mp.flags&FlagNew != 0 {
				m.setBlockFlags(pos, pos+length, fUptodate|fDirty)
			}
			return copied == 0
		}
		return false
	}
	m.setBlockFlags(pos, pos+length, fUptodate)
	m.setBlockFlags(pos, pos+copied, fDirty)
	return true
}

// iomapWriteFailed is iomap_write_failed (693-705): drop the page cache of
// the failed range past EOF.
func (m *Model) iomapWriteFailed(pos, length int64) {
	if pos+length > m.size {
		m.truncatePagecacheRange(max(pos, m.size), pos+length)
	}
}

// iomapEnd is ->iomap_end after a mapping was processed.
//   - xfs_buffered_write_iomap_end (xfs_iomap.c:1221-1253) releases the
//     unused part of a fresh delalloc reservation from
//     iomap_last_written_block (iomap.h:265-271) on, keeping the
//     reservation under dirty page cache (iomap_write_delalloc_release,
//     buffered-io.c:1237-1302).
//   - gfs2_iomap_end (gfs2/bmap.c:1146-1197, 1179-1188) drops the page
//     cache and frees the blocks it just allocated past
//     round_up(pos+written, bs).
func (m *Model) iomapEnd(pos, length, written int64, mp iomapping) {
	if written >= length || mp.flags&FlagNew == 0 {
		return
	}
	switch {
	case m.fs == fsXFS && mp.typ == MapDelalloc:
		start := roundDown(pos, m.bs)
		if written > 0 {
			start = roundUp(pos+written, m.bs)
		}
		end := roundUp(pos+length, m.bs)
		for i := start >> m.bbits; i < end>>m.bbits; i++ {
			if b := &m.blocks[i]; b.alloc == aDelalloc && b.flags&fDirty == 0 {
				b.alloc = aHole
			}
		}
	case m.fs == fsGFS2 && mp.typ == MapMapped:
		hstart := roundUp(pos+written, m.bs)
		if hstart < mp.end {
			m.truncatePagecacheRange(hstart, mp.end)
			m.freeBlocks(hstart>>m.bbits, mp.end>>m.bbits)
		}
	}
}

// freeBlocks turns blocks [first, end) into holes.
func (m *Model) freeBlocks(first, end int64) {
	end = min(end, int64(len(m.blocks)))
	for i := first; i < end; i++ {
		m.blocks[i].alloc = aHole
		m.blocks[i].flags &^= fDirty
		m.blocks[i].lastOp = -1
		m.cowBreak(i)
	}
}
