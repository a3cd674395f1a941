package reference

// iomapZeroRange models iomap_zero_range (buffered-io.c:1453-1487) and
// iomap_zero_iter (1384-1451): HOLE and UNWRITTEN mappings are skipped, but
// if any folio of the range was dirty at the start, the first such mapping
// flushes the rest of the range, is marked stale and is looked up again;
// other mappings are zeroed folio by folio through write_begin/write_end.
func (m *Model) iomapZeroRange(pos, length int64) {
	if length <= 0 {
		return
	}
	m.ensure(pos + length)
	rangeDirty := m.rangeNeedsWriteback(pos, pos+length)
	end := pos + length
	for pos < end {
		mp := m.iomapBeginZero(pos, end-pos)
		l := min(end-pos, mp.end-pos)
		if mp.typ == MapHole || mp.typ == MapUnwritten {
			if rangeDirty {
				rangeDirty = false
				m.writeback(pos, end) // filemap_write_and_wait_range, then IOMAP_F_STALE
				continue
			}
			m.recordZeroSkip(pos, l)
			pos += l
			continue
		}
		for l > 0 {
			bytes := l
			if m.fs != fsXFS {
				bytes = min(bytes, m.ps-(pos&(m.ps-1)))
			}
			fs, fz := m.getFolio(pos, bytes)
			bytes = min(bytes, fs+fz-pos)
			m.iomapWriteBegin(pos, bytes, fs, fz, mp)
			m.zeroContent(pos, pos+bytes)
			m.iomapWriteEnd(pos, bytes, bytes, fs, fz, mp)
			m.record(Callout{Kind: CalloutZero, Pos: pos, Len: bytes, Copied: bytes, Written: bytes,
				FolioPos: fs, FolioSize: fz, Map: mp.typ, Flags: mp.flags})
			pos += bytes
			l -= bytes
		}
	}
}

// iomapBeginZero is ->iomap_begin(IOMAP_ZERO).
//   - xfs (xfs_iomap.c:1018-1041): a hole is reported as a hole ("we never
//     need to allocate blocks for zeroing a hole"); delalloc is trimmed at
//     the EOF block, and delalloc starting past it is converted to an
//     unwritten extent; unwritten and written extents are returned as is.
//   - gfs2 (__gfs2_iomap_get, bmap.c:866-891): a stuffed inode is INLINE up
//     to i_size and a hole past it; otherwise holes are holes (a hole that
//     starts at or past i_size spans the whole request, bmap.c:947-949)
//     and allocated runs MAPPED.
func (m *Model) iomapBeginZero(pos, length int64) iomapping {
	b := pos >> m.bbits
	limit := roundUp(pos+length, m.bs) >> m.bbits
	if m.fs == fsGFS2 && m.stuffed {
		if pos >= m.size {
			return iomapping{typ: MapHole, off: pos, end: pos + length}
		}
		return iomapping{typ: MapInline, off: 0, end: m.size}
	}
	a := m.blocks[b].alloc
	e := m.runEnd(b, limit, a)
	mp := iomapping{off: b << m.bbits, end: e << m.bbits}
	switch a {
	case aHole:
		mp.typ = MapHole
		if m.fs == fsGFS2 && pos >= m.size {
			// __gfs2_iomap_get sizes a hole with gfs2_hole_size only below
			// i_size (bmap.c:947-949); past it the hole is the whole
			// request, blocks allocated further on (fallocate with
			// KEEP_SIZE) included, so zeroing skips them too
			// (random-gfs2-115 and -117, seed 101, gfs2-1k).
			mp.end = limit << m.bbits
		}
	case aUnwritten:
		mp.typ = MapUnwritten
	case aDelalloc:
		eofB := (m.size + m.bs - 1) >> m.bbits
		if b >= eofB {
			for i := b; i < e; i++ {
				m.blocks[i].alloc = aUnwritten
			}
			mp.typ = MapUnwritten
		} else {
			mp.typ = MapDelalloc
			mp.end = min(e, eofB) << m.bbits
		}
	default:
		mp.typ = MapMapped
		if m.fs == fsGFS2 {
			mp.flags = FlagMerged
		}
	}
	if m.fs == fsGFS2 && m.jdata {
		mp.flags |= FlagBufferHead
	}
	return mp
}

// zeroContent zeroes the logical bytes of [a, b) below EOF and forgets the
// last writer of blocks left without data.
func (m *Model) zeroContent(a, b int64) {
	b = min(b, m.size)
	if a >= b {
		return
	}
	clear(m.content[a:b])
	first, end := m.blockRange(a, b)
	for i := first; i < end; i++ {
		if m.blockAllZero(i) {
			m.blocks[i].lastOp = -1
		}
	}
}

// gfs2ClearBeyondEOF is gfs2_clear_beyond_eof (bmap.c:1318-1329): zero from
// i_size to the end of its page (not block), or to end if nearer.
func (m *Model) gfs2ClearBeyondEOF(end int64) {
	isize := m.size
	l := isize & (m.ps - 1)
	if l == 0 || isize >= end {
		return
	}
	l = min(m.ps-l, end-isize)
	m.iomapZeroRange(isize, l)
}

// unstuff models gfs2_unstuff_dinode (bmap.c:155-) / __gfs2_unstuff_inode
// (90-148): a data block is allocated only if i_size > 0, the stuffed bytes
// are copied into folio 0 and the rest zeroed (gfs2_unstuffer_folio,
// 54-88); the folio is uptodate and dirtied whole (folio_mark_dirty ->
// iomap_dirty_folio) or, for jdata, block 0 is added to the transaction.
func (m *Model) unstuff() {
	m.stuffed = false
	if m.size == 0 {
		return
	}
	m.ensure(m.ps)
	m.blocks[0].alloc = aWritten
	fs, fz := m.getFolio(0, m.ps)
	m.setBlockFlags(fs, fs+fz, fUptodate)
	if m.jdata {
		m.blocks[0].flags |= fDirty
	} else {
		m.setBlockFlags(fs, fs+fz, fDirty)
	}
}

// truncate is ftruncate(2).
func (m *Model) truncate(newSize int64) {
	m.ensure(newSize)
	old := m.size
	switch {
	case newSize > old:
		m.grow(newSize)
	case newSize < old || m.fs == fsXFS || m.fs == fsExt4:
		m.shrink(newSize)
	}
}

// grow raises i_size to newSize.
//   - xfs_setattr_size (xfs_iops.c:866-873): xfs_zero_range(oldsize,
//     newsize-oldsize), in effect the old EOF block's tail.
//   - gfs2 do_grow (bmap.c:2086-2110): unstuff if the new size no longer
//     fits, else gfs2_clear_beyond_eof (page granularity).
//   - ext2_setsize: no zeroing on the way up (the EOF block's tail is
//     already zero in cache and on disk); ext4_setattr zeroes it.
func (m *Model) grow(newSize int64) {
	switch m.fs {
	case fsXFS:
		m.iomapZeroRange(m.size, newSize-m.size)
	case fsGFS2:
		if m.stuffed && newSize > m.bs-gfs2DinodeSize {
			m.unstuff()
		} else {
			m.gfs2ClearBeyondEOF(newSize)
		}
	case fsExt4:
		// ext4_setattr (ext4/inode.c:5598-5603) tail-zeroes the old EOF
		// block on truncate up.
		if m.size&(m.bs-1) != 0 {
			m.bhTruncatePage(m.size)
		}
	}
	m.size = newSize
}

// bhTruncatePage is block_truncate_page (fs/buffer.c:2674-) /
// ext4_block_truncate_page (ext4/inode.c:3809-): the block holding pos is
// read if needed and its bytes from pos on zeroed and dirtied, only when it
// is mapped (a hole is left alone).
func (m *Model) bhTruncatePage(pos int64) {
	b := pos >> m.bbits
	if m.blocks[b].alloc == aHole {
		return
	}
	fs, fz := m.getFolio(pos, m.ps)
	if !m.folioUptodate(fs, fz) {
		m.blocks[b].flags |= fUptodate // read
	}
	m.blocks[b].flags |= fDirty
}

// shrink lowers i_size to newSize. xfs (xfs_iops.c:866-873, then
// xfs_itruncate_extents) and ext4 (ext4_setattr calls ext4_truncate "even if
// i_size didn't change", ext4/inode.c:5652-5656) also run it for an unchanged
// size, which frees preallocated blocks past EOF.
//   - xfs_setattr_size: xfs_truncate_page (iomap_truncate_page,
//     buffered-io.c:1489-1501) zeroes [newsize, block end) while i_size is
//     still old, truncate_setsize drops the cache past newsize, and
//     xfs_itruncate_extents frees blocks from round_up(newsize, bs).
//   - gfs2 trunc_start (bmap.c:1379-1425): stuffed -> clear the dinode tail;
//     else gfs2_block_zero_range(newsize, bs - off); trunc_end
//     (2002-2035) re-stuffs when newsize == 0.
//   - ext2_setsize (ext2/inode.c:1274-) / ext4_truncate: block_truncate_page
//     (buffer.c:2674-) zeroes the tail of a mapped EOF block, then blocks
//     past EOF are freed.
func (m *Model) shrink(newSize int64) {
	if m.fs == fsGFS2 && m.stuffed {
		m.zeroContent(newSize, m.size)
		m.size = newSize
		return
	}
	if off := newSize & (m.bs - 1); off != 0 {
		switch m.fs {
		case fsXFS, fsGFS2:
			m.iomapZeroRange(newSize, m.bs-off)
		default:
			m.bhTruncatePage(newSize)
		}
	}
	m.zeroContent(newSize, m.size)
	m.size = newSize
	m.dropCache(newSize, m.cachedEnd())
	m.freeBlocks((newSize+m.bs-1)>>m.bbits, int64(len(m.blocks)))
	if m.fs == fsGFS2 && newSize == 0 {
		m.stuffed = true
	}
}
