package reference

import (
	"fmt"
	"math/bits"

	"github.com/iomapct/iomapct/cases"
)

// Reads during a sequence: pread (filemap_read) and loads through a shared
// mapping (read faults). The bytes a read returns are the logical content
// at that point; what the model must also follow is what the read does to
// the page cache, because later writes depend on it: readahead creates
// uptodate folios (and on xfs large ones), a read of a cached folio that is
// not uptodate either copies from its uptodate blocks
// (->is_partially_uptodate) or reads the folio in (->read_folio, which
// skips the uptodate blocks: iomap_adjust_read_range, block_read_full_folio)
// and leaves it uptodate. Line references are to mm/filemap.c,
// mm/readahead.c and mm/memory.c of 6.12.117.

// readShiftSync is the per-file state the read, shift and sync-write ops
// keep beside the Model's.
type readShiftState struct {
	// back holds what each read op must have returned, by op index.
	back map[int]ReadBack
	// ret holds the return value the model predicts for pwritev2 ops.
	ret map[int]int64
	// polluted: polluteeof stored garbage past EOF earlier in the
	// sequence; until the EOF page is written back or dropped it stays
	// visible through a mapping, which the model does not follow, so a
	// mapread's bytes past EOF are not judged after it.
	polluted bool
	// observed is the guest's per-op return values (RunObserved), so that
	// an EAGAIN the kernel may give is taken as what happened.
	observed []int64
	// nowait is set while a RWF_NOWAIT write runs; nowaitStop is the file
	// offset at which it stopped (-1: it did not).
	nowait     bool
	nowaitStop int64
	// nowaitMaybe: the guest saw EAGAIN, which an earlier check may have
	// given before write_begin ran (xfsNowaitWrite).
	nowaitMaybe bool
}

// ReadBack is what read op Op must have returned.
type ReadBack struct {
	Op  int
	Off int64
	// Data are the bytes: for pread exactly what it returns (cut at EOF),
	// for mapread the Len bytes of the mapping (zero past EOF).
	Data []byte
	// Checked is how many leading bytes of Data are judged (all, except a
	// mapread past EOF after polluteeof).
	Checked int64
	// Durable marks the read-back of a sync write: the bytes the guest
	// read from the disk itself right after the write returned
	// (syncwrite.go, durable).
	Durable bool
	// BlockSize and Writers say which op last wrote data into each block
	// of the range when it was read (Writers[i] for the block holding
	// Off + i*BlockSize rounded down; -1: none), so that a difference can
	// name the op whose bytes were expected.
	BlockSize int64
	Writers   []int
}

// WriterAt is the op that last wrote data into the block holding file
// offset off when the read ran, -1 if none or unknown.
func (rb ReadBack) WriterAt(off int64) int {
	if rb.BlockSize == 0 || off < rb.Off {
		return -1
	}
	i := off/rb.BlockSize - rb.Off/rb.BlockSize
	if i >= int64(len(rb.Writers)) {
		return -1
	}
	return rb.Writers[i]
}

// ReadBacks returns the expected result of every read op applied so far.
func (m *Model) ReadBacks() map[int]ReadBack {
	out := make(map[int]ReadBack, len(m.rs.back))
	for k, v := range m.rs.back {
		out[k] = v
	}
	return out
}

// ExpectedReturn is the return value the model predicts for op index (a
// pwritev2: bytes written, or cases.EAGAIN); ok is false for ops whose
// return value the model does not predict this way.
func (m *Model) ExpectedReturn(index int) (ret int64, ok bool) {
	ret, ok = m.rs.ret[index]
	return ret, ok
}

// RunObserved is Run for judging a guest's run: returned holds the guest's
// per-op return values, which settle the answers the kernel may choose
// between (a RWF_NOWAIT write may get EAGAIN before it starts; see
// pwritev2).
func RunObserved(g Geometry, ops []cases.Op, returned []int64) (*Model, error) {
	m, err := New(g)
	if err != nil {
		return nil, err
	}
	m.rs.observed = returned
	for i, op := range ops {
		if err := m.Apply(i, op); err != nil {
			return m, fmt.Errorf("op %d (%s): %w", i, op, err)
		}
	}
	return m, nil
}

func (m *Model) applyReadShiftSync(op cases.Op) error {
	switch op.Kind {
	case cases.Read:
		return m.pread(op.Off, op.Len)
	case cases.MapRead:
		return m.mapRead(op.Off, op.Len)
	case cases.Collapse:
		return m.collapseRange(op.Off, op.Len)
	case cases.Insert:
		return m.insertRange(op.Off, op.Len)
	case cases.PWritev2:
		return m.pwritev2(op)
	case cases.PWrite, cases.Writev:
		return m.syncPwrite(op)
	}
	return fmt.Errorf("%w: %s is not a read, shift or sync write", ErrInvalid, op.Kind)
}

func (m *Model) recordReadBack(off int64, data []byte, checked int64) {
	if m.rs.back == nil {
		m.rs.back = map[int]ReadBack{}
	}
	rb := ReadBack{Op: m.opIndex, Off: off, Data: data, Checked: checked, BlockSize: m.bs}
	if end := off + int64(len(data)); end > off {
		first, last := m.blockRange(off, end)
		for i := first; i < last; i++ {
			w := -1
			if i < int64(len(m.blocks)) {
				w = int(m.blocks[i].lastOp)
			}
			rb.Writers = append(rb.Writers, w)
		}
	}
	m.rs.back[m.opIndex] = rb
}

// pread is pread(2): it returns the bytes of [off, min(off+n, i_size)) and
// reads through the page cache (filemap_read, 2626-2732).
func (m *Model) pread(off, n int64) error {
	data := []byte{}
	if end := min(off+n, m.size); off < end {
		data = append(data, m.content[off:end]...)
	}
	m.recordReadBack(off, data, int64(len(data)))
	m.filemapRead(off, n)
	return nil
}

// mapRead loads [off, off+n) through a shared mapping. Bytes past EOF in
// the EOF page read zero; a page wholly past EOF raises SIGBUS
// (filemap_fault, mm/filemap.c:3317-3319: "if (unlikely(index >= max_idx)) return
// VM_FAULT_SIGBUS"), which the model refuses as ErrInvalid.
func (m *Model) mapRead(off, n int64) error {
	if off+n > roundUp(m.size, m.ps) {
		return fmt.Errorf("mapread [%d, %d) past the EOF page of a %d-byte file would SIGBUS: %w", off, off+n, m.size, ErrInvalid)
	}
	m.ensure(off + n)
	data := append([]byte(nil), m.content[off:off+n]...)
	checked := n
	if m.rs.polluted {
		checked = max(0, min(n, m.size-off))
	}
	m.recordReadBack(off, data, checked)
	m.readFault(off, off+n)
	return nil
}

// prevPos is f_ra.prev_pos; file_ra_state_init starts it at -1
// (mm/readahead.c:142), which the zero raState stands for.
func (m *Model) prevPos() int64 { return m.ra.prev1 - 1 }

type folioRef struct{ start, size int64 }

// filemapRead is filemap_read (2626-2732) for a read of count bytes at pos:
// batch after batch of folios from filemap_get_pages, copied up to
// min(i_size, pos+count); f_ra.prev_pos ends at the last byte copied.
func (m *Model) filemapRead(pos, count int64) {
	end := pos + count
	lastPos := m.prevPos()
	for pos < end && pos < m.size {
		batch := m.filemapGetPages(pos, end-pos)
		endOff := min(m.size, end)
		for _, f := range batch {
			if endOff < f.start {
				break
			}
			off := pos - f.start
			bytes := min(endOff-pos, f.size-off)
			pos += bytes
			lastPos = pos
		}
	}
	m.ra.prev1 = lastPos + 1
}

// filemapGetPages is filemap_get_pages (2539-2614): the cached folios from
// pos's page on; on a miss synchronous readahead and, if that made nothing,
// one new minimum-order folio read whole (filemap_create_folio,
// 2479-2525); a last folio carrying PG_readahead starts asynchronous
// readahead (filemap_readahead, 2527-2537); a last folio that is not
// uptodate is brought up to date unless the bytes asked of it already are
// (filemap_update_page, 2423-2477).
func (m *Model) filemapGetPages(pos, count int64) []folioRef {
	index := pos >> m.pbits
	lastIndex := (pos + count + m.ps - 1) >> m.pbits
	batch := m.readBatch(index, lastIndex-1)
	if len(batch) == 0 {
		m.syncRa(index, lastIndex-index)
		batch = m.readBatch(index, lastIndex-1)
	}
	if len(batch) == 0 {
		minNr := int64(1) << m.minOrd
		idx := index &^ (minNr - 1)
		m.ensure((idx + minNr) << m.pbits)
		m.addReadFolio(idx, m.minOrd, false)
		return []folioRef{{idx << m.pbits, m.ps << m.minOrd}}
	}
	last := batch[len(batch)-1]
	head := last.start >> m.pbits
	if m.fra[head] {
		m.asyncRa(head, head, lastIndex-head)
	}
	if !m.folioUptodate(last.start, last.size) && !m.rangeUptodate(pos, count, last) {
		// filemap_read_folio -> ->read_folio: every block not uptodate
		// is read or zeroed; uptodate (possibly dirty) blocks are
		// skipped, so the folio's bytes stay the logical content.
		m.setBlockFlags(last.start, last.start+last.size, fUptodate)
	}
	return batch
}

// readBatch is filemap_get_read_batch (2337-2371): consecutive cached
// folios from page index up to page max, ending after the first that is not
// uptodate or carries PG_readahead, at most PAGEVEC_SIZE (31) of them.
func (m *Model) readBatch(index, maxIndex int64) []folioRef {
	var out []folioRef
	for p := index; p <= maxIndex; {
		s, z, ok := m.folioAt(p << m.pbits)
		if !ok {
			break
		}
		out = append(out, folioRef{s, z})
		if len(out) == 31 || !m.folioUptodate(s, z) || m.fra[s>>m.pbits] {
			break
		}
		p = (s + z) >> m.pbits
	}
	return out
}

// rangeUptodate is filemap_range_uptodate (2399-2421) for a folio that is
// not uptodate: false where the block is as large as the folio, else the
// address space's is_partially_uptodate over the part of [pos, pos+count)
// in the folio:
//   - iomap_is_partially_uptodate (fs/iomap/buffered-io.c:603-623; xfs,
//     gfs2): every block the range touches uptodate;
//   - block_is_partially_uptodate (fs/buffer.c:2347-2380; ext2, ext4,
//     gfs2 jdata): the same, but false when the range reaches into both
//     the first and the last block of the folio.
func (m *Model) rangeUptodate(pos, count int64, f folioRef) bool {
	if m.bs >= f.size {
		return false
	}
	var from int64
	if f.start > pos {
		count -= f.start - pos
	} else {
		from = pos - f.start
	}
	count = min(f.size-from, count)
	if count <= 0 {
		return true
	}
	bh := m.fs == fsExt2 || m.fs == fsExt4 || (m.fs == fsGFS2 && m.jdata)
	if bh && from < m.bs && from+count > f.size-m.bs {
		return false
	}
	first, end := m.blockRange(f.start+from, f.start+from+count)
	for i := first; i < end; i++ {
		if m.blocks[i].flags&fUptodate == 0 {
			return false
		}
	}
	return true
}

// syncRa is page_cache_sync_ra (mm/readahead.c:537-608) with ra_pages
// non-zero and no FMODE_RANDOM: at the start of the file, for a read larger
// than the window, or right after the previous read's page, a fresh window
// of get_init_ra_size pages; otherwise the run of cached pages before index
// (page_cache_prev_miss) decides between reading just the request and a
// window sized by that history.
func (m *Model) syncRa(index, reqCount int64) {
	maxPages := m.raPages() // ractl_max_pages: reads here are <= 64 KiB < ra_pages
	prevIndex := uint64(m.prevPos()) >> m.pbits
	if index == 0 || reqCount > maxPages || uint64(index)-prevIndex <= 1 {
		m.ra.start = index
		m.ra.size = initRaSize(reqCount, maxPages)
		if m.ra.size > reqCount {
			m.ra.async = m.ra.size - reqCount
		} else {
			m.ra.async = m.ra.size >> 1
		}
		m.raOrder(m.ra.start, 0)
		return
	}
	miss := m.prevMiss(index-1, maxPages)
	contig := index - miss - 1
	if miss < 0 { // ULONG_MAX: cached back to page 0
		contig = index
	}
	if contig <= reqCount {
		m.doPageCacheRa(index, reqCount, 0)
		return
	}
	if miss < 0 {
		contig *= 2
	}
	m.ra.start = index
	m.ra.size = min(contig+reqCount, maxPages)
	m.ra.async = 1
	m.raOrder(index, 0)
}

// initRaSize is get_init_ra_size (mm/readahead.c:361-373).
func initRaSize(size, maxPages int64) int64 {
	n := int64(1) << bits.Len64(uint64(size-1)) // roundup_pow_of_two
	switch {
	case n <= maxPages/32:
		return n * 4
	case n <= maxPages/4:
		return n * 2
	}
	return maxPages
}

// prevMiss is page_cache_prev_miss (mm/filemap.c:1789-1803): scanning down
// from index, the first page not cached; after maxScan cached pages the
// last one looked at; -1 (ULONG_MAX) when the scan ran below page 0.
func (m *Model) prevMiss(index, maxScan int64) int64 {
	for n := maxScan; n > 0; n-- {
		if index < 0 {
			return -1
		}
		if index >= int64(len(m.fhead)) || m.fhead[index] == 0 {
			return index
		}
		if n == 1 {
			return index
		}
		index--
	}
	return index
}

// asyncRa is page_cache_async_ra (mm/readahead.c:611-674) for the folio
// whose head page is head, asked from page index for reqCount pages: the
// flag is cleared; at the expected index the window moves on, elsewhere it
// starts at the next uncached page; folios of the marked folio's order + 2.
func (m *Model) asyncRa(index, head, reqCount int64) {
	m.fra[head] = false // never under writeback here: syncs wait for it
	order := uint(m.ford[head])
	maxPages := m.raPages()
	expected := roundDown(m.ra.start+m.ra.size-m.ra.async, 1<<order)
	if index == expected {
		m.ra.start += m.ra.size
		m.ra.size = max(m.ra.size, nextRaSize(m.ra.size, maxPages))
		m.ra.async = m.ra.size
	} else {
		start := m.nextMiss(index+1, maxPages)
		if start == 0 || start-index > maxPages {
			return
		}
		m.ra.start = start
		m.ra.size = nextRaSize(start-index+reqCount, maxPages)
		m.ra.async = m.ra.size
	}
	m.raOrder(m.ra.start, order)
}

// readFault loads every page of [a, b) in turn through a read-only use of
// the shared mapping. do_read_fault (mm/memory.c:5310-5340) first tries
// do_fault_around, which maps a cached folio that is uptodate and carries
// no PG_readahead (next_uptodate_folio, mm/filemap.c:3495-3530) without
// calling ->fault; otherwise filemap_fault runs as for a write fault
// (readahead.go, fault), without page_mkwrite. The pages fault-around maps
// next to the faulting one are of that same kind, so touching them later
// changes nothing either; that fault-around lowers mmap_miss by the pages
// it maps is approximated by one per page.
func (m *Model) readFault(a, b int64) {
	m.ensure(b)
	for p := a >> m.pbits; p<<m.pbits < b; p++ {
		pos := p << m.pbits
		if s, z, ok := m.folioAt(pos); ok {
			if m.folioUptodate(s, z) && !m.fra[s>>m.pbits] {
				if m.ra.mmapMiss > 0 {
					m.ra.mmapMiss--
				}
				continue
			}
			m.asyncMmapReadahead(p, s>>m.pbits)
		} else {
			m.syncMmapReadahead(p)
		}
		m.readFolio(pos)
	}
}
