package reference

import "math/bits"

// Page-cache folios. A folio is naturally aligned, of order minOrd..maxOrd.

// folioAt returns the cached folio holding byte pos, ok=false if none.
func (m *Model) folioAt(pos int64) (start, size int64, ok bool) {
	p := pos >> m.pbits
	if p >= int64(len(m.fhead)) || m.fhead[p] == 0 {
		return 0, 0, false
	}
	h := int64(m.fhead[p] - 1)
	return h << m.pbits, m.ps << m.ford[h], true
}

// getFolio models iomap_get_folio (buffered-io.c:635-646) and
// __filemap_get_folio's FGP_CREAT path (mm/filemap.c): an existing folio is
// returned as is; otherwise the order comes from fgf_set_order(len) (ilog2 of
// len above PAGE_SHIFT), clamped to the mapping's max order, reduced until
// the index is aligned, and reduced again while the range collides with a
// cached folio (-EEXIST retries with a smaller order). A new folio holds no
// uptodate or dirty block.
func (m *Model) getFolio(pos, length int64) (start, size int64) {
	if s, z, ok := m.folioAt(pos); ok {
		return s, z
	}
	idx := pos >> m.pbits
	idx &^= (1 << m.minOrd) - 1 // mapping_align_index
	order := uint(0)
	if length > 0 {
		if shift := uint(63 - bits.LeadingZeros64(uint64(length))); shift > m.pbits {
			order = shift - m.pbits
		}
	}
	order = min(order, m.maxOrd)
	if order < m.minOrd {
		order = m.minOrd
	}
	if tz := uint(bits.TrailingZeros64(uint64(idx))); idx != 0 && tz < order {
		order = tz
	}
	m.ensure((idx + 1<<order) << m.pbits)
	for order > m.minOrd && !m.pagesFree(idx, 1<<order) {
		order--
	}
	for p := idx; p < idx+1<<order; p++ {
		m.fhead[p] = int32(idx + 1)
	}
	m.ford[idx] = uint8(order)
	m.fra[idx] = false
	start, size = idx<<m.pbits, m.ps<<order
	m.clearBlockFlags(start, start+size, fUptodate|fDirty)
	return start, size
}

func (m *Model) pagesFree(idx, n int64) bool {
	for p := idx; p < idx+n; p++ {
		if m.fhead[p] != 0 {
			return false
		}
	}
	return true
}

// blockRange returns the blocks overlapping [a, b).
func (m *Model) blockRange(a, b int64) (first, end int64) {
	if b <= a {
		return a >> m.bbits, a >> m.bbits
	}
	return a >> m.bbits, (b + m.bs - 1) >> m.bbits
}

func (m *Model) clearBlockFlags(a, b int64, f uint8) {
	first, end := m.blockRange(a, b)
	end = min(end, int64(len(m.blocks)))
	for i := first; i < end; i++ {
		m.blocks[i].flags &^= f
	}
}

func (m *Model) setBlockFlags(a, b int64, f uint8) {
	first, end := m.blockRange(a, b)
	for i := first; i < end; i++ {
		m.blocks[i].flags |= f
		if f&fDirty != 0 {
			m.cowBreak(i)
		}
	}
}

// folioUptodate is folio_test_uptodate: every block of the folio uptodate.
func (m *Model) folioUptodate(start, size int64) bool {
	first, end := m.blockRange(start, start+size)
	for i := first; i < end; i++ {
		if m.blocks[i].flags&fUptodate == 0 {
			return false
		}
	}
	return true
}

func (m *Model) folioDirty(start, size int64) bool {
	first, end := m.blockRange(start, start+size)
	for i := first; i < end; i++ {
		if m.blocks[i].flags&fDirty != 0 {
			return true
		}
	}
	return false
}

// rangeNeedsWriteback is filemap_range_needs_writeback: some folio
// overlapping [a, b) is dirty (folio granularity, not block).
func (m *Model) rangeNeedsWriteback(a, b int64) bool {
	for pos := roundDown(a, m.ps); pos < b && pos < m.cachedEnd(); {
		if s, z, ok := m.folioAt(pos); ok {
			if m.folioDirty(s, z) {
				return true
			}
			pos = s + z
			continue
		}
		pos += m.ps
	}
	return false
}

// readFolio models a read fault or read_folio: the folio becomes uptodate
// (blocks read, holes and post-EOF blocks zeroed; iomap_readpage_iter).
func (m *Model) readFolio(pos int64) (start, size int64) {
	start, size = m.getFolio(pos, m.ps)
	m.setBlockFlags(start, start+size, fUptodate)
	return start, size
}

// writebackAlloc is what writeback turns a dirty block's allocation into.
//   - iomap (xfs, gfs2): ->map_blocks maps DELALLOC/UNWRITTEN/MAPPED and
//     writes; a HOLE is skipped (iomap_writepage_map_blocks,
//     buffered-io.c:1872-1922). gfs2 dirties whole folios after unstuffing
//     (iomap_dirty_folio, 682-691), so dirty holes do occur there.
//   - ext2/ext4: __block_write_full_folio (fs/buffer.c) calls get_block with
//     create=1 for a dirty unmapped or delayed buffer, so it allocates.
func (m *Model) writebackAlloc(a uint8) uint8 {
	if a == aHole && (m.fs == fsXFS || m.fs == fsGFS2) {
		return aHole
	}
	return aWritten
}

// writeback writes every dirty block in the folios overlapping [a, b).
// Blocks at or past EOF are not written (iomap_writepage_handle_eof,
// buffered-io.c:1930-1980; block_write_full_folio's last_block) and lose
// their dirty bit; the EOF block's tail is zeroed on the way, which the model
// gets for free because content past EOF is always zero.
func (m *Model) writeback(a, b int64) {
	if m.stuffed {
		return // the dinode is the data; nothing in the page cache is dirty
	}
	// Widen to the folios at the edges (filemap_write_and_wait_range
	// writes every dirty folio overlapping the range, and iomap writes a
	// folio's dirty blocks together). Only cached blocks can be dirty, so
	// nothing outside a folio needs looking at. Rounding to the largest
	// folio size instead would clean unrelated folios up to 2 MiB away.
	if s, _, ok := m.folioAt(a); ok {
		a = s
	}
	if b > a {
		if s, z, ok := m.folioAt(b - 1); ok {
			b = s + z
		}
	}
	b = min(b, m.cachedEnd())
	first, end := m.blockRange(a, b)
	for i := first; i < end; i++ {
		bl := &m.blocks[i]
		if bl.flags&fDirty == 0 {
			continue
		}
		bl.flags &^= fDirty
		if i<<m.bbits >= m.size {
			continue
		}
		bl.alloc = m.writebackAlloc(bl.alloc)
	}
}

// dropCache removes every folio wholly inside [a, b) and splits the partly
// covered ones into min-order folios first, as truncate_inode_pages_range
// does (mm/truncate.c: truncate_inode_partial_folio splits large folios).
// Dirty data in removed folios is discarded: callers write it back first
// when the kernel does.
func (m *Model) dropCache(a, b int64) {
	b = min(b, m.cachedEnd())
	for pos := roundDown(a, m.ps); pos < b; {
		s, z, ok := m.folioAt(pos)
		if !ok {
			pos += m.ps
			continue
		}
		if s >= a && s+z <= b {
			m.removeFolio(s, z)
		} else if z > m.ps<<m.minOrd {
			m.splitFolio(s, z)
			continue // revisit the pieces
		}
		pos = s + z
	}
}

func (m *Model) removeFolio(s, z int64) {
	for p := s >> m.pbits; p < (s+z)>>m.pbits; p++ {
		m.fhead[p] = 0
	}
	m.fra[s>>m.pbits] = false
	m.clearBlockFlags(s, s+z, fUptodate|fDirty)
}

func (m *Model) splitFolio(s, z int64) {
	piece := m.ps << m.minOrd
	for p := s; p < s+z; p += piece {
		h := p >> m.pbits
		for q := h; q < (p+piece)>>m.pbits; q++ {
			m.fhead[q] = int32(h + 1)
		}
		m.ford[h] = uint8(m.minOrd)
		if p != s {
			m.fra[h] = false // the head keeps its flags
		}
	}
}

// truncatePagecacheRange is truncate_pagecache_range(lstart, lend-1): folios
// wholly inside go away; the partly covered ones are zeroed in the range
// (content past EOF is already zero; within EOF the caller zeroes content).
func (m *Model) truncatePagecacheRange(a, b int64) { m.dropCache(a, b) }
