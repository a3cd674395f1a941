package reference

import "fmt"

// fallocate is fallocate(2) mode 0 or FALLOC_FL_KEEP_SIZE.
//   - ext2 has no ->fallocate: EOPNOTSUPP.
//   - xfs_alloc_file_space / ext4_alloc_file_blocks: blocks of
//     [round_down(off), round_up(off+len)) that are holes (or delalloc)
//     become unwritten extents, allocated and reading zero.
//   - gfs2 __gfs2_fallocate (gfs2/file.c:1255-): unstuffs first
//     (file.c:1194-1195), then allocates the holes and writes zeros to them
//     (sb_issue_zeroout), so they are ordinary written blocks.
//
// Without KEEP_SIZE, i_size grows to off+len: xfs through
// xfs_vn_setattr_size (EOF zeroing as truncate up), ext4 and gfs2 by
// setting i_size.
func (m *Model) fallocate(off, length int64, keep bool) error {
	if m.fs == fsExt2 {
		return fmt.Errorf("ext2 fallocate: %w", ErrUnsupported)
	}
	if m.fs == fsGFS2 && m.jdata {
		// gfs2_fallocate: EOPNOTSUPP on jdata files (gfs2/file.c:1388-1389).
		return fmt.Errorf("gfs2 jdata fallocate: %w", ErrUnsupported)
	}
	if length <= 0 {
		return fmt.Errorf("fallocate len %d: %w (vfs_fallocate: EINVAL)", length, ErrInvalid)
	}
	m.ensure(off + length)
	if m.fs == fsGFS2 && !keep {
		// __gfs2_fallocate (gfs2/file.c:1271-1275) zeroes the EOF
		// page's tail first, before fallocate_chunk unstuffs.
		m.gfs2ClearBeyondEOF(off + length)
	}
	if m.fs == fsGFS2 && m.stuffed {
		m.unstuff()
	}
	first, end := m.blockRange(roundDown(off, m.bs), roundUp(off+length, m.bs))
	for i := first; i < end; i++ {
		b := &m.blocks[i]
		switch {
		case m.fs == fsGFS2 && b.alloc == aHole:
			b.alloc = aWritten
		case m.fs != fsGFS2 && (b.alloc == aHole || b.alloc == aDelalloc):
			b.alloc = aUnwritten
		}
	}
	if !keep && off+length > m.size {
		if m.fs == fsXFS {
			m.grow(off + length)
		} else {
			m.size = off + length
		}
	}
	return nil
}

// punchHole is fallocate(PUNCH_HOLE|KEEP_SIZE): bytes of the range read zero;
// blocks wholly inside are freed; partial blocks at the edges are zeroed in
// the page cache (dirty) if mapped.
//   - ext2: EOPNOTSUPP.
//   - gfs2 __gfs2_punch_hole (bmap.c:2426-): stuffed -> zero the dinode
//     bytes below i_size; else gfs2_block_zero_range on the partial edges,
//     then punch_hole.
//   - xfs_file_fallocate (xfs_file.c:1077-) flushes and unmaps the range
//     (xfs_flush_unmap_range, xfs_bmap_util.c:807-), then
//     xfs_free_file_space (833-) zeroes the edges (xfs_zero_range) and
//     frees the whole blocks.
//   - ext4_punch_hole (ext4/inode.c:4015-): flush, zero partial blocks,
//     drop the page cache of the range, free the whole blocks.
func (m *Model) punchHole(off, length int64) error {
	if m.fs == fsExt2 {
		return fmt.Errorf("ext2 punch hole: %w", ErrUnsupported)
	}
	if m.fs == fsGFS2 && m.jdata {
		return fmt.Errorf("gfs2 jdata punch hole: %w", ErrUnsupported)
	}
	if length <= 0 {
		return fmt.Errorf("punch len %d: %w (vfs_fallocate: EINVAL)", length, ErrInvalid)
	}
	end := off + length
	if m.fs == fsExt4 {
		// ext4_punch_hole (ext4/inode.c:4036-4046): nothing at or past
		// i_size, and a range running past it stops at the end of the page
		// holding i_size; unwritten blocks preallocated beyond stay.
		if off >= m.size {
			return nil
		}
		if end > m.size {
			end = roundUp(m.size, m.ps)
		}
	}
	m.ensure(end)
	if m.fs == fsGFS2 && m.stuffed {
		m.zeroContent(off, end)
		return nil
	}
	if m.fs == fsXFS {
		m.xfsFreeFileSpace(off, end)
		return nil
	}
	if m.fs != fsGFS2 {
		m.writeback(off, end)
	}
	m.zeroEdges(off, end)
	m.zeroContent(off, end)
	m.truncatePagecacheRange(off, end)
	m.freeBlocks(roundUp(off, m.bs)>>m.bbits, end>>m.bbits)
	return nil
}

// xfsFreeFileSpace is xfs_free_file_space (xfs_bmap_util.c:833-907), which
// punch and zero range run: xfs_flush_unmap_range writes back and drops
// the page cache of the range (807-830), the whole blocks are unmapped,
// then xfs_zero_range zeroes [off, end) cut at EOF ("we must take care not
// to zero beyond EOF", 883-891), which skips the holes just made, so in
// effect the partial edge blocks below EOF; when that zeroing reached an
// EOF in the middle of a page, the EOF page is written back (899-904).
func (m *Model) xfsFreeFileSpace(off, end int64) {
	a, b := roundDown(off, m.ps), roundUp(end, m.ps)
	m.writeback(a, b)
	m.dropCache(a, b)
	m.freeBlocks(roundUp(off, m.bs)>>m.bbits, end>>m.bbits)
	if off < m.size {
		zend := min(end, m.size)
		m.iomapZeroRange(off, zend-off)
		if zend >= m.size && m.size&(m.ps-1) != 0 {
			m.writeback(roundDown(m.size, m.ps), m.cachedEnd())
		}
	}
	m.zeroContent(off, end)
}

// zeroEdges zeroes, in the page cache, the partial blocks at the edges of
// [off, end) that are mapped.
func (m *Model) zeroEdges(off, end int64) {
	zero := func(a, b int64) {
		if a >= b {
			return
		}
		switch m.fs {
		case fsXFS, fsGFS2:
			m.iomapZeroRange(a, b-a)
		default: // ext4_zero_partial_blocks: mapped buffers only
			i := a >> m.bbits
			if m.blocks[i].alloc == aWritten || m.blocks[i].alloc == aDelalloc {
				fs, fz := m.getFolio(a, m.ps)
				if !m.folioUptodate(fs, fz) {
					m.blocks[i].flags |= fUptodate
				}
				m.blocks[i].flags |= fDirty
				m.cowBreak(i)
			}
		}
	}
	headEnd := min(roundUp(off, m.bs), end)
	if off&(m.bs-1) != 0 {
		zero(off, headEnd)
	}
	if end&(m.bs-1) != 0 && roundDown(end, m.bs) >= headEnd {
		zero(roundDown(end, m.bs), end)
	}
}

// zeroRange is fallocate(ZERO_RANGE) (optionally KEEP_SIZE).
//   - ext2: EOPNOTSUPP; gfs2_fallocate (gfs2/file.c:1377-) accepts only
//     PUNCH_HOLE and KEEP_SIZE: EOPNOTSUPP.
//   - xfs_file_fallocate: xfs_free_file_space over the range (as punch),
//     then xfs_alloc_file_space over [round_down(off), round_up(end)):
//     every block of it is mapped, the freed ones as unwritten.
//   - ext4_zero_range (ext4/extents.c:4629-): allocates unwritten over the
//     block-rounded range, converts whole written blocks to unwritten,
//     zeroes the partial edges. Same end state.
func (m *Model) zeroRange(off, length int64, keep bool) error {
	if m.fs == fsExt2 || m.fs == fsGFS2 {
		return fmt.Errorf("%s zero range: %w", m.g.FS, ErrUnsupported)
	}
	if length <= 0 {
		return fmt.Errorf("zero range len %d: %w (vfs_fallocate: EINVAL)", length, ErrInvalid)
	}
	end := off + length
	m.ensure(end)
	if m.fs == fsXFS {
		m.xfsFreeFileSpace(off, end)
	} else {
		m.writeback(off, end)
		m.dropCache(roundDown(off, m.ps), roundUp(end, m.ps))
		m.zeroEdges(off, end)
		m.zeroContent(off, end)
		m.truncatePagecacheRange(off, end)
		m.freeBlocks(roundUp(off, m.bs)>>m.bbits, end>>m.bbits)
	}
	first, last := m.blockRange(roundDown(off, m.bs), roundUp(end, m.bs))
	for i := first; i < last; i++ {
		if b := &m.blocks[i]; b.alloc == aHole || b.alloc == aDelalloc && b.flags&fDirty == 0 {
			b.alloc = aUnwritten
			m.cowBreak(i)
		}
	}
	if !keep && end > m.size {
		if m.fs == fsXFS {
			m.grow(end)
		} else {
			m.size = end
		}
	}
	return nil
}
