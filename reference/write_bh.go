package reference

// bhWrite models the buffer-head buffered write of ext2 and ext4 in 6.12:
// generic_perform_write (mm/filemap.c:4034-) calling ->write_begin and
// ->write_end once per page (ext2_write_begin -> block_write_begin,
// ext2/inode.c:926-936; ext4_da_write_begin -> ext4_block_write_begin,
// ext4/inode.c:2926-). Differences from the iomap path that the model keeps:
//   - no EOF zeroing before a write past EOF (content past EOF is zero on
//     disk by writeback tail zeroing, and in the cache by truncate);
//   - allocation happens per buffer overlapping the write: ext2 allocates at
//     write_begin (ext2_get_block, create=1), ext4 reserves delalloc
//     (ext4_da_get_block_prep) and allocates at writeback;
//   - block_write_end (fs/buffer.c:2268-) turns a short copy into a
//     non-uptodate folio into 0, and folio_zero_new_buffers
//     (buffer.c:2005-) zeroes and dirties the NEW buffers of the failed
//     part, so those blocks are allocated with zeros if within EOF;
//   - ext2_write_end (ext2/inode.c:939-) calls ext2_write_failed on a short
//     write, which truncates the page cache and the blocks past EOF.
//
// ext4 is modelled with its default delalloc, no inline_data, and ordered
// data; data=journal ext4 is not modelled.
func (m *Model) bhWrite(pos, n, limit int64) {
	chunk := m.ps
	opEnd := pos + n
	for pos < opEnd {
		bytes := opEnd - pos
	retry:
		bytes = min(chunk-(pos&(chunk-1)), bytes)
		if limit <= pos {
			return // fault_in_iov_iter_readable == bytes: -EFAULT
		}
		fs, fz := m.getFolio(pos, m.ps)
		uptodate := m.folioUptodate(fs, fz)
		// __block_write_begin_int (buffer.c:2111-2186): map every buffer
		// the write overlaps; new ones are zeroed outside [from, to),
		// partial old ones are read.
		first, end := m.blockRange(pos, pos+bytes)
		newMask := uint64(0) // bit i: block first+i is NEW (a page holds <= 64 blocks)
		for i := first; i < end; i++ {
			b := &m.blocks[i]
			isNew := false
			switch {
			case b.alloc == aHole && m.fs == fsExt2:
				b.alloc = aWritten
				isNew = true
			case b.alloc == aHole:
				b.alloc = aDelalloc
				isNew = true
			case b.alloc == aUnwritten:
				isNew = true // ext4_da_map_blocks: unwritten is new
			}
			switch {
			case isNew && uptodate:
				// A new buffer in an uptodate folio is dirtied at
				// once (buffer.c:2152-2158).
				b.flags |= fUptodate | fDirty
			case isNew:
				newMask |= 1 << (i - first)
			default:
				bs, be := i<<m.bbits, (i+1)<<m.bbits
				if !uptodate && (bs < pos || be > pos+bytes) && b.flags&fUptodate == 0 {
					// bh_read of a partial, mapped, non-delayed buffer.
					if b.alloc == aWritten {
						m.recordRead(bs, m.bs)
					}
					b.flags |= fUptodate
				}
			}
		}
		copied := min(bytes, max(limit-pos, 0))
		accepted := copied
		if copied < bytes && !uptodate {
			accepted = 0
		}
		// folio_zero_new_buffers(start+copied, start+len): NEW buffers of
		// the failed part become uptodate zeros and dirty.
		if accepted < bytes {
			for i := first; i < end; i++ {
				if newMask&(1<<(i-first)) != 0 && (i+1)<<m.bbits > pos+accepted {
					m.blocks[i].flags |= fUptodate | fDirty
				}
			}
		}
		// __block_commit_write(from, from+copied).
		m.setBlockFlags(pos, pos+accepted, fUptodate|fDirty)
		m.record(Callout{Kind: CalloutAops, Pos: pos, Len: bytes, Copied: copied, Written: accepted,
			FolioPos: fs, FolioSize: fz, Map: MapNone})
		m.storeData(pos, accepted)
		if accepted < bytes && m.fs == fsExt2 && pos+bytes > m.size {
			// ext2_write_failed(mapping, pos+len): truncate_pagecache
			// and ext2_truncate_blocks to i_size.
			m.dropCache(m.size, m.cachedEnd())
			m.freeBlocks((m.size+m.bs-1)>>m.bbits, int64(len(m.blocks)))
		}
		if accepted == 0 {
			if copied > 0 {
				bytes = copied
				goto retry
			}
			continue // the next fault-in fails
		}
		pos += accepted
		if accepted < bytes {
			return // the rest of the buffer faults
		}
	}
}
