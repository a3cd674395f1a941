package reference

import "fmt"

// Range shifts: fallocate(FALLOC_FL_COLLAPSE_RANGE) removes [off, off+len)
// and moves everything after it down; FALLOC_FL_INSERT_RANGE opens a hole
// of len bytes at off and moves everything from off up. Both move extents,
// not bytes, so the page cache over the moved range must be written back
// and dropped first, or cached folios would keep the bytes of the offsets
// they used to be at.
//   - ext2 has no ->fallocate (EOPNOTSUPP); gfs2_fallocate accepts only
//     PUNCH_HOLE and KEEP_SIZE (gfs2/file.c:1385-1386): EOPNOTSUPP.
//   - offset and length must be multiples of the block size (xfs:
//     xfs_is_falloc_aligned, xfs_file.c:43-55, the allocation unit being
//     the block; ext4: the cluster, ext4/extents.c:5353-5354 and
//     5453-5454): EINVAL otherwise.
//   - collapse must end before EOF (xfs_file.c:933-934,
//     ext4/extents.c:5359-5360), insert must start before it
//     (xfs_file.c:964-965, ext4/extents.c:5456-5457): EINVAL otherwise.

func (m *Model) shiftChecks(what string, off, length int64) error {
	switch {
	case m.fs == fsExt2 || m.fs == fsGFS2:
		return fmt.Errorf("%s %s: %w", m.g.FS, what, ErrUnsupported)
	case length <= 0:
		return fmt.Errorf("%s len %d: %w (vfs_fallocate: EINVAL)", what, length, ErrInvalid)
	case off&(m.bs-1) != 0 || length&(m.bs-1) != 0:
		return fmt.Errorf("%s [%d, +%d) not aligned to the %d-byte block: %w", what, off, length, m.bs, ErrInvalid)
	}
	return nil
}

// collapseRange is fallocate(FALLOC_FL_COLLAPSE_RANGE).
//   - xfs_falloc_collapse_range (xfs_file.c:918-941): xfs_collapse_file_space
//     (xfs_bmap_util.c:976-1029) frees the range as punch does
//     (xfs_free_file_space), then xfs_prepare_shift (910-961) writes back
//     and drops the page cache from one block before off, rounded down to
//     the page, to EOF (xfs_flush_unmap_range, 807-830), and the extents
//     past the range move down; xfs_falloc_setsize then truncates to
//     i_size - len (xfs_setattr_size: the new EOF block's tail is zeroed).
//   - ext4_collapse_range (ext4/extents.c:5334-5423): writes back
//     [round_down(off, PAGE_SIZE), off] and [off+len, EOF], drops the page
//     cache from round_down(off, PAGE_SIZE) (so dirty folios inside the
//     collapsed range are discarded, not written), removes the blocks of
//     the range, shifts the extents after it and sets i_size - len
//     directly, without zeroing.
func (m *Model) collapseRange(off, length int64) error {
	if err := m.shiftChecks("collapse range", off, length); err != nil {
		return err
	}
	end := off + length
	if end >= m.size {
		return fmt.Errorf("collapse range [%d, %d) reaches EOF %d: %w", off, end, m.size, ErrInvalid)
	}
	oldSize := m.size
	switch m.fs {
	case fsXFS:
		m.xfsFreeFileSpace(off, end)
		m.xfsPrepareShift(off)
	default: // ext4
		start := roundDown(off, m.ps)
		m.writeback(start, off+1)
		m.writeback(end, m.cachedEnd())
		m.dropCache(start, m.cachedEnd())
		m.freeBlocks(off>>m.bbits, end>>m.bbits)
	}
	// The extents after the range move down by length; the cache over
	// them is gone, so only allocation and last writer move.
	nb := int64(len(m.blocks))
	shift := length >> m.bbits
	for i := off >> m.bbits; i < nb; i++ {
		if i+shift < nb {
			m.blocks[i] = m.movedBlock(m.blocks[i+shift])
		} else {
			m.blocks[i] = blk{lastOp: -1}
		}
	}
	copy(m.content[off:], m.content[end:oldSize])
	clear(m.content[oldSize-length : oldSize])
	if m.fs == fsXFS {
		m.truncate(oldSize - length)
	} else {
		m.size = oldSize - length
	}
	return nil
}

// insertRange is fallocate(FALLOC_FL_INSERT_RANGE).
//   - xfs_falloc_insert_range (xfs_file.c:944-978): i_size grows by len
//     first (xfs_falloc_setsize: the old EOF block's tail is zeroed as for
//     truncate up), then xfs_insert_file_space (xfs_bmap_util.c:1044-1110)
//     writes back and drops the cache from one block before off to EOF
//     (xfs_prepare_shift) and moves the extents from off up by len.
//   - ext4_insert_range (ext4/extents.c:5433-5549): writes back and drops
//     the page cache from round_down(off, PAGE_SIZE) on, grows i_size by
//     len without zeroing, and moves the extents from off up.
func (m *Model) insertRange(off, length int64) error {
	if err := m.shiftChecks("insert range", off, length); err != nil {
		return err
	}
	if off >= m.size {
		return fmt.Errorf("insert range at %d at or past EOF %d: %w", off, m.size, ErrInvalid)
	}
	oldSize := m.size
	if oldSize+length > MaxModelSize {
		return fmt.Errorf("insert range makes the file %d bytes, past the model's limit %d: %w", oldSize+length, MaxModelSize, ErrInvalid)
	}
	m.ensure(oldSize + length)
	switch m.fs {
	case fsXFS:
		m.grow(oldSize + length)
		m.xfsPrepareShift(off)
	default: // ext4
		start := roundDown(off, m.ps)
		m.writeback(start, m.cachedEnd())
		m.dropCache(start, m.cachedEnd())
		m.size = oldSize + length
	}
	m.ensure(m.cachedEnd() + length)
	nb := int64(len(m.blocks))
	shift := length >> m.bbits
	first := off >> m.bbits
	for i := nb - 1; i >= first; i-- {
		if i-shift >= first {
			m.blocks[i] = m.movedBlock(m.blocks[i-shift])
		} else {
			m.blocks[i] = blk{lastOp: -1}
		}
	}
	copy(m.content[off+length:], m.content[off:oldSize])
	clear(m.content[off : off+length])
	return nil
}

// xfsPrepareShift is xfs_prepare_shift (xfs_bmap_util.c:910-961): from one
// allocation unit (block) before off, rounded down to the page
// (xfs_flush_unmap_range: max(unit, PAGE_SIZE)), to EOF, dirty folios are
// written back and the page cache dropped.
func (m *Model) xfsPrepareShift(off int64) {
	o := roundDown(off, m.bs)
	if o != 0 {
		o -= m.bs
	}
	start := roundDown(o, max(m.bs, m.ps))
	m.writeback(start, m.cachedEnd())
	m.dropCache(start, m.cachedEnd())
}

// movedBlock is a block's state after its extent moved: the page cache
// over it was dropped, and a delalloc reservation with no dirty data is not
// an extent that moves (ext4_es_remove_extent drops it; on xfs the model
// keeps no such reservation it would have to move).
func (m *Model) movedBlock(b blk) blk {
	b.flags = 0
	if b.alloc == aDelalloc {
		b.alloc = aHole
		b.lastOp = -1
	}
	return b
}
