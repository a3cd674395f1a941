package reference

import (
	"fmt"

	"github.com/iomapct/iomapct/cases"
)

// mmapWrite stores len bytes at off through a shared mapping, then msyncs.
// A store at or past EOF's page would SIGBUS; the model refuses a store past
// EOF. Each touched folio is faulted in (read whole, uptodate) and
// ->page_mkwrite dirties every block of it below EOF
// (folio_mkwrite_check_truncate):
//   - iomap_page_mkwrite (buffered-io.c:1503-1549) for xfs reserves
//     delalloc for holes and sets the range dirty;
//   - gfs2_page_mkwrite (gfs2/file.c:416-) unstuffs (file.c:510-511) and
//     allocates the folio's blocks below EOF;
//   - ext4 block_page_mkwrite reserves delalloc; ext2 (filemap_page_mkwrite)
//     allocates nothing until writeback, where get_block(create=1) maps
//     every dirty buffer below EOF.
//
// So every block of a touched folio below EOF ends up allocated.
func (m *Model) mmapWrite(off, length int64) error {
	if length == 0 {
		return nil
	}
	if off+length > m.size {
		// The guest, like fsx's domapwrite, extends the file with
		// ftruncate before mapping it (a store past EOF would SIGBUS).
		m.truncate(off + length)
	}
	m.fault(off, off+length)
	cases.FillData(m.content[off:off+length], m.opIndex, off)
	first, end := m.blockRange(off, off+length)
	for i := first; i < end; i++ {
		m.blocks[i].lastOp = int32(m.opIndex)
	}
	m.writeback(off, off+length) // msync(MS_SYNC) -> vfs_fsync_range
	return nil
}

func (m *Model) pageMkwrite(fs, fz int64) {
	length := fz
	if fs+fz > m.size {
		length = m.size - fs
	}
	if length <= 0 {
		return
	}
	first, end := m.blockRange(fs, fs+length)
	for i := first; i < end; i++ {
		b := &m.blocks[i]
		if b.alloc == aHole {
			switch m.fs {
			case fsGFS2:
				b.alloc = aWritten // gfs2_allocate_page_backing
			case fsXFS, fsExt4:
				b.alloc = aDelalloc
			}
		}
		b.flags |= fUptodate | fDirty
		m.cowBreak(i)
	}
}

// polluteEOF is fsx's pollute_eofpage: stores garbage past EOF in the EOF
// page through mmap. The garbage must never surface, so the model keeps the
// bytes past EOF zero; the store still faults the page and runs
// page_mkwrite, which dirties (and on gfs2 allocates, and unstuffs) the
// blocks below EOF. Nothing happens when EOF is page aligned.
func (m *Model) polluteEOF() {
	if m.size&(m.ps-1) == 0 {
		return
	}
	m.fault(m.size, m.size+1)
}

// directWrite is pwrite(2) through O_DIRECT, off and len aligned to the
// logical sector size (512).
//   - xfs, ext2, ext4 (iomap_dio_rw): kiocb_invalidate_pages writes back and
//     invalidates the page cache over the range; xfs zeroes the old EOF
//     block first (xfs_file_write_checks); every block the range overlaps is
//     mapped and written (sub-block edges of new blocks are zeroed by
//     iomap_dio_zero); the cache is invalidated again after the write.
//   - gfs2_file_direct_write (gfs2/file.c:874-): an extending write returns
//     0 at once (file.c:909-910) and a hole gives -ENOTBLK (bmap.c:1118);
//     gfs2_file_write_iter (file.c:1103-) then writes the rest buffered,
//     writes it back and invalidates it. The model sends the whole op
//     buffered when it extends EOF, hits a stuffed inode, or hits a hole
//     (a direct prefix before the first hole is modelled as direct).
func (m *Model) directWrite(off, length int64) error {
	if m.fs == fsGFS2 && m.jdata {
		// gfs2_open_common refuses O_DIRECT on jdata files (gfs2/file.c:636-637).
		return fmt.Errorf("gfs2 jdata O_DIRECT open: %w", ErrUnsupported)
	}
	if off&511 != 0 || length&511 != 0 {
		return fmt.Errorf("O_DIRECT write at %d len %d not 512-aligned: %w", off, length, ErrInvalid)
	}
	if length == 0 {
		return nil
	}
	end := off + length
	m.ensure(end)
	if m.fs == fsGFS2 {
		if m.stuffed || end > m.size {
			m.bufferedFallback(off, end)
			return nil
		}
		first, last := m.blockRange(off, end)
		for i := first; i < last; i++ {
			if m.blocks[i].alloc == aHole {
				split := max(i<<m.bbits, off)
				m.directRange(off, split)
				m.bufferedFallback(split, end)
				return nil
			}
		}
		m.directRange(off, end)
		return nil
	}
	if m.fs == fsXFS && off > m.size {
		m.iomapZeroRange(m.size, off-m.size)
	}
	m.directRange(off, end)
	return nil
}

func (m *Model) bufferedFallback(off, end int64) {
	m.bufferedWrite(off, end-off, end)
	m.writeback(off, end)
	m.invalidateOverlapping(off, end)
}

func (m *Model) directRange(off, end int64) {
	if off >= end {
		return
	}
	m.writeback(off, end)
	m.invalidateOverlapping(off, end)
	cases.FillData(m.content[off:end], m.opIndex, off)
	first, last := m.blockRange(off, end)
	for i := first; i < last; i++ {
		m.blocks[i].alloc = aWritten
		m.blocks[i].lastOp = int32(m.opIndex)
		m.cowBreak(i) // xfs_direct_write_iomap_begin: a shared block is written to a COW fork block
	}
	if end > m.size {
		m.size = end
	}
	m.invalidateOverlapping(off, end)
}

// invalidateOverlapping is invalidate_inode_pages2_range over the pages of
// [a, b): whole folios go, even those only partly inside.
func (m *Model) invalidateOverlapping(a, b int64) {
	for pos := roundDown(a, m.ps); pos < b; {
		if fs, fz, ok := m.folioAt(pos); ok {
			m.removeFolio(fs, fz)
			pos = fs + fz
			continue
		}
		pos += m.ps
	}
}

// setJournalData is chattr +j: gfs2_set_flags (gfs2/file.c:243-256) writes
// back and drops the whole page cache, then switches the inode to the jdata
// address space operations; writes then carry IOMAP_F_BUFFER_HEAD.
func (m *Model) setJournalData() error {
	if m.fs != fsGFS2 {
		return fmt.Errorf("%s chattr +j: %w (modelled for gfs2 only)", m.g.FS, ErrUnsupported)
	}
	if m.jdata {
		return nil
	}
	m.writeback(0, m.cachedEnd())
	m.dropCache(0, m.cachedEnd())
	m.jdata = true
	return nil
}
