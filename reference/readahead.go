package reference

import "math/bits"

// Readahead on a page fault: a store through a shared mapping to a page
// that is not cached does not create one page but reads a window of folios
// around it, and with large folios those are order-2 folios; page_mkwrite
// then dirties (and on xfs reserves delalloc for) every block of the
// faulted folio below EOF, so the folio size decides which blocks end up
// allocated. Line references are to mm/filemap.c and mm/readahead.c of
// 6.12.117.
//
// The guest opens one file per case and maps it (cases/execute), so the
// readahead state below is that struct file's f_ra; a remount reopens the
// file and starts a fresh one (file_ra_state_init).

const (
	// raPagesBytes is f_ra.ra_pages (file_ra_state_init,
	// mm/readahead.c:139) in bytes: the bdi's ra_pages, which
	// blk_apply_bdi_limits (block/blk-settings.c:69-71) makes
	// max3(ra_pages, io_opt * 2 / PAGE_SIZE, VM_READAHEAD_PAGES).
	// virtio_blk sets io_opt only from a non-zero opt_io_size
	// (drivers/block/virtio_blk.c:1309-1312), which vmtest's
	// virtio-blk-pci disks do not set, and nothing in the guest writes
	// read_ahead_kb: VM_READAHEAD_PAGES, 128 KiB
	// (include/linux/pagemap.h:1375).
	raPagesBytes = 128 << 10
	// mmapLotsAMiss is MMAP_LOTSAMISS (mm/filemap.c:3092): past this
	// many read-around misses without hits a file gets no more
	// read-around.
	mmapLotsAMiss = 100
)

// raState is struct file_ra_state (start, size, async_size in pages, and
// mmap_miss).
type raState struct {
	start, size, async int64
	mmapMiss           int
	// prev1 is prev_pos + 1 (filemap_read sets prev_pos; read.go), so
	// that the zero value is file_ra_state_init's -1.
	prev1 int64
}

func (m *Model) raPages() int64 { return raPagesBytes >> m.pbits }

// fault write-faults every page of [a, b) in turn, as the guest's stores
// through the mapping do (one fault per page: finish_fault maps one PTE for
// a file write fault), and runs page_mkwrite on the faulted folio.
// filemap_fault (mm/filemap.c:3322-3366): a cached folio gets
// do_async_mmap_readahead and is read if not uptodate; a miss gets
// do_sync_mmap_readahead and then __filemap_get_folio(FGP_CREAT|
// FGP_FOR_MMAP), a minimum-order folio, if readahead did not create one.
func (m *Model) fault(a, b int64) {
	m.ensure(b)
	if m.fs == fsGFS2 && m.stuffed {
		m.unstuff()
	}
	for p := a >> m.pbits; p<<m.pbits < b; p++ {
		pos := p << m.pbits
		if fs, _, ok := m.folioAt(pos); ok {
			m.asyncMmapReadahead(p, fs>>m.pbits)
		} else {
			m.syncMmapReadahead(p)
		}
		fs, fz := m.readFolio(pos)
		m.pageMkwrite(fs, fz)
	}
}

// syncMmapReadahead is do_sync_mmap_readahead (mm/filemap.c:3146-3208)
// for a mapping without VM_HUGEPAGE, VM_RAND_READ or VM_SEQ_READ (the guest
// gives no madvise): count the miss, and unless the file has missed more
// than MMAP_LOTSAMISS times, read around the fault: ra_pages pages from
// ra_pages/2 before it, a quarter of them async, with page_cache_ra_order
// asked for order 0 (which it raises to 2).
func (m *Model) syncMmapReadahead(p int64) {
	if m.ra.mmapMiss < mmapLotsAMiss*10 {
		m.ra.mmapMiss++
	}
	if m.ra.mmapMiss > mmapLotsAMiss {
		return
	}
	n := m.raPages()
	m.ra.start = max(0, p-n/2)
	m.ra.size = n
	m.ra.async = n / 4
	m.raOrder(m.ra.start, 0)
}

// asyncMmapReadahead is do_async_mmap_readahead (mm/filemap.c:3215-3237)
// and page_cache_async_ra (mm/readahead.c:611-674): a fault that finds a
// cached folio counts a hit; if the folio carries PG_readahead, the flag is
// cleared and the next window is read, of the folio's order plus 2. At the
// expected index the window moves on by its size; elsewhere it starts at the
// next uncached page.
func (m *Model) asyncMmapReadahead(p, head int64) {
	if m.ra.mmapMiss > 0 {
		m.ra.mmapMiss--
	}
	if !m.fra[head] {
		return
	}
	m.asyncRa(p, head, m.raPages()) // req_count is ra_pages
}

// nextRaSize is get_next_ra_size (mm/readahead.c:379-389).
func nextRaSize(cur, maxPages int64) int64 {
	switch {
	case cur < maxPages/16:
		return 4 * cur
	case cur <= maxPages/2:
		return 2 * cur
	}
	return maxPages
}

// nextMiss is page_cache_next_miss (mm/filemap.c:1740-1755).
func (m *Model) nextMiss(index, maxScan int64) int64 {
	for n := int64(0); n < maxScan; n++ {
		i := index + n
		if i >= int64(len(m.fhead)) || m.fhead[i] == 0 {
			return i
		}
		if i == 0 {
			return 0
		}
	}
	return index + maxScan
}

// raOrder is page_cache_ra_order (mm/readahead.c:452-519) for the window
// m.ra starting at page index: folios of newOrder+2 (capped by the
// mapping's max order and ilog2 of the window), smaller where the index is
// unaligned or the folio would pass EOF or the window's end; the folio
// holding start+size-async gets PG_readahead. At the first page already
// cached filemap_add_folio fails with -EEXIST, the loop stops, and
// do_page_cache_ra reads ra->size more pages from there in minimum-order
// folios. A mapping without large folios (one-page folios) goes there at
// once. Every folio read is uptodate and clean.
func (m *Model) raOrder(index int64, newOrder uint) {
	if m.size == 0 {
		return
	}
	minNr := int64(1) << m.minOrd
	if m.maxOrd == 0 || m.ra.size < max(4, minNr) {
		m.doPageCacheRa(index, m.ra.size, m.ra.async)
		return
	}
	limit := min((m.size-1)>>m.pbits, index+m.ra.size-1)
	mark := index + m.ra.size - m.ra.async
	if newOrder < m.maxOrd {
		newOrder += 2
	}
	newOrder = min(newOrder, m.maxOrd, uint(bits.Len64(uint64(m.ra.size))-1))
	newOrder = max(newOrder, m.minOrd)
	index &^= minNr - 1 // mapping_align_index
	m.ensure((limit + 1) << m.pbits)
	stopped := false
	for index <= limit {
		order := newOrder
		if index&(1<<order-1) != 0 {
			order = uint(bits.TrailingZeros64(uint64(index)))
		}
		for order > m.minOrd && index+1<<order-1 > limit {
			order--
		}
		if !m.pagesFree(index, 1<<order) {
			stopped = true // -EEXIST
			break
		}
		m.addReadFolio(index, order, index == roundDown(mark, 1<<order))
		index += 1 << order
	}
	if stopped {
		m.doPageCacheRa(index, m.ra.size, m.ra.async)
	}
}

// doPageCacheRa is do_page_cache_ra (mm/readahead.c:302-321) and
// page_cache_ra_unbounded (205-296): up to nr pages from index, cut at the
// EOF page, in minimum-order folios, skipping cached pages; the folio at
// index+nr-lookahead gets PG_readahead.
func (m *Model) doPageCacheRa(index0, nr, lookahead int64) {
	if m.size == 0 {
		return
	}
	end := (m.size - 1) >> m.pbits
	if index0 > end {
		return
	}
	if nr > end-index0 {
		nr = end - index0 + 1
	}
	minNr := int64(1) << m.minOrd
	index := index0 &^ (minNr - 1)
	mark := int64(-1) // unsigned in the kernel: no mark when lookahead > nr
	if v := index0 + nr - lookahead; v >= 0 {
		mark = roundUp(v, minNr) - index
	}
	nr += index0 - index
	m.ensure((index + nr) << m.pbits)
	for i := int64(0); i < nr; i += minNr {
		if m.fhead[index+i] != 0 {
			continue
		}
		m.addReadFolio(index+i, m.minOrd, i == mark)
	}
}

// addReadFolio inserts an uptodate, clean folio of the given order at page
// index (the range is known to be free).
func (m *Model) addReadFolio(index int64, order uint, readahead bool) {
	for p := index; p < index+1<<order; p++ {
		m.fhead[p] = int32(index + 1)
	}
	m.ford[index] = uint8(order)
	m.fra[index] = readahead
	s, z := index<<m.pbits, m.ps<<order
	m.clearBlockFlags(s, s+z, fDirty)
	m.setBlockFlags(s, s+z, fUptodate)
}
