// Package reference is the executable specification the kernel's buffered
// write path is held to. It tracks what the page cache and the disk hold for
// one file, block by block: allocation state (hole, delalloc, unwritten,
// written), per-block uptodate/dirty bits, page-cache folios, gfs2 stuffing,
// and the per-folio write_begin/write_end callouts, so that it can say which
// on-disk bytes must be zero, which must be data, and which must stay holes.
//
// Line references are to Linux 6.12.117 (Debian linux-source-6.12).
//
// The logical content is kept as one byte buffer that follows POSIX (new
// bytes overlay old ones, gaps and truncated-away bytes read zero, garbage
// stored past EOF through mmap never surfaces). That is sound as a model of
// the disk too: a block that is not uptodate in the cache is never dirty, so
// its disk bytes are what the cache would read, and the kernel rules modelled
// here (zero rather than read beyond EOF, for NEW, DELALLOC and UNWRITTEN
// mappings; writeback zeroing of the EOF block tail) exist to keep it so.
// Where the model and the kernel differ, the kernel is what is being tested.
//
// Using it: Run (or New + Apply per op) replays a case; Content and Size
// are the file as read back; Blocks says per logical block what the image
// must show (hole, zeros, data, or gfs2 inline), with MayBeAllocated where
// the fs may legitimately have mapped more; Callouts lists the expected
// per-folio write_begin/write_end pairs (compare both sides through
// CoalesceCallouts); Reads lists the partial blocks a write took from disk
// rather than zeroed. Apply wraps ErrUnsupported for ops the fs lacks and
// ErrInvalid for ops the kernel would refuse.
//
// Several files and shared extents (clone, dedupe, copy_file_range,
// unshare) are modelled by Set in reflink.go.
//
// Not modelled: IOMAP_F_STALE revalidation, xfs's COW fork beyond what
// copy-on-write needs (its preallocation decides only mapping edges and
// which extra blocks an unshare rewrites), readahead by copy_file_range's
// source reads (the folios read are modelled, not the window), background
// writeback and reclaim (the model only writes back on fsync/sync/msync,
// drop_caches, remount, O_DIRECT and zero-range flushes, and never evicts
// a clean folio on its own), folio allocation falling back to smaller
// orders under memory pressure (write_begin asks for orders above the
// minimum with __GFP_NORETRY, mm/filemap.c:1942-1943, and readahead always,
// readahead_gfp_mask at include/linux/pagemap.h:680-683), ext4 nodelalloc,
// data=journal and inline_data.
package reference

import (
	"fmt"
	"math/bits"

	"github.com/iomapct/iomapct/cases"
)

// Geometry describes the filesystem the file lives on.
type Geometry struct {
	FS        string // a filesystem of personality.go (Personalities)
	BlockSize int64  // 512..65536 as the fs allows
	PageSize  int64  // 4096
	MaxFolio  int64  // largest page-cache folio: xfs large folios; others PageSize (0 = that default)
}

type fsKind uint8

const (
	fsExt2 fsKind = iota
	fsExt4
	fsXFS
	fsGFS2
)

// gfs2DinodeSize is sizeof(struct gfs2_dinode); gfs2_max_stuffed_size()
// (gfs2/incore.h:875-878) is the block size minus it.
const gfs2DinodeSize = 232

// Model is the reference state of one file.
type Model struct {
	g       Geometry
	fs      fsKind
	bs      int64
	bbits   uint
	ps      int64
	pbits   uint
	maxFol  int64
	minOrd  uint // folio min order (xfs bs > PAGE_SIZE)
	maxOrd  uint
	size    int64
	content []byte // logical bytes; content[size:] is always zero
	blocks  []blk
	// fhead[p] is 1 + the first page index of the cached folio holding page
	// p, 0 when page p is not cached; ford[head] is that folio's order.
	fhead []int32
	ford  []uint8
	// fra[head]: the folio carries PG_readahead (readahead.go).
	fra []bool
	ra  raState // the guest's struct file's f_ra

	stuffed bool // gfs2 di_height == 0
	jdata   bool // gfs2 GFS2_DIF_JDATA

	callouts []Callout
	reads    []Read
	skips    []Span
	noCall   bool
	opIndex  int

	// Shared extents (reflink.go): reflink is XFS_DIFLAG2_REFLINK,
	// broken lists the blocks that left a share group, and feed, when
	// set, supplies the bytes a buffered write stores (copy_file_range's
	// splice) instead of the op's own data.
	reflink bool
	broken  []brokenShare
	feed    func(b []byte, pos int64)
	rs      readShiftState // reads, range shifts, sync writes (read.go)
}

// blk is the per-block state.
type blk struct {
	alloc  uint8 // aHole.. aWritten
	flags  uint8 // fUptodate, fDirty
	lastOp int32
	// share is the share group of the block's physical block (reflink.go),
	// 0 when the block has storage of its own.
	share int32
}

const (
	aHole uint8 = iota
	aDelalloc
	aUnwritten
	aWritten
)

const (
	fUptodate uint8 = 1 << iota
	fDirty
)

// New validates g and returns an empty file's model (gfs2 files start
// stuffed: gfs2_create_inode makes di_height 0).
func New(g Geometry) (*Model, error) {
	m := &Model{g: g}
	p, err := personalityOf(g.FS)
	if err != nil {
		return nil, err
	}
	m.fs = p.kind
	pow2 := func(v int64) bool { return v > 0 && v&(v-1) == 0 }
	if !pow2(g.PageSize) || g.PageSize < 4096 || g.PageSize > 65536 {
		return nil, fmt.Errorf("geometry: PageSize %d is not a power of two in [4096, 65536]", g.PageSize)
	}
	if !pow2(g.BlockSize) {
		return nil, fmt.Errorf("geometry: BlockSize %d is not a power of two", g.BlockSize)
	}
	minBS, maxBS := p.minBlock, p.maxBlock
	if maxBS == 0 {
		maxBS = g.PageSize
	}
	if g.BlockSize < minBS || g.BlockSize > maxBS {
		return nil, fmt.Errorf("geometry: BlockSize %d outside [%d, %d] for %s", g.BlockSize, minBS, maxBS, g.FS)
	}
	m.bs, m.ps = g.BlockSize, g.PageSize
	m.bbits = uint(bits.TrailingZeros64(uint64(m.bs)))
	m.pbits = uint(bits.TrailingZeros64(uint64(m.ps)))
	mf := g.MaxFolio
	if mf == 0 {
		mf = m.ps
		if p.largeFolios {
			mf = m.ps << 9 // MAX_PAGECACHE_ORDER = HPAGE_PMD_ORDER on x86-64
		}
	}
	if !p.largeFolios && mf != m.ps {
		return nil, fmt.Errorf("geometry: MaxFolio %d must equal PageSize for %s (no large folios in 6.12)", g.MaxFolio, g.FS)
	}
	if !pow2(mf) || mf < m.ps || mf < m.bs || mf > m.ps<<9 {
		return nil, fmt.Errorf("geometry: MaxFolio %d must be a power of two in [max(PageSize, BlockSize), 512*PageSize]", g.MaxFolio)
	}
	m.maxFol = mf
	m.maxOrd = uint(bits.TrailingZeros64(uint64(mf))) - m.pbits
	if m.bs > m.ps {
		m.minOrd = m.bbits - m.pbits
	}
	m.g.MaxFolio = mf
	m.stuffed = p.stuffed
	return m, nil
}

// Run builds a model and applies every op in order.
func Run(g Geometry, ops []cases.Op) (*Model, error) {
	m, err := New(g)
	if err != nil {
		return nil, err
	}
	for i, op := range ops {
		if err := m.Apply(i, op); err != nil {
			return m, fmt.Errorf("op %d (%s): %w", i, op, err)
		}
	}
	return m, nil
}

// Geometry returns the validated geometry (MaxFolio defaulted).
func (m *Model) Geometry() Geometry { return m.g }

// Size is the in-core (and, after a clean unmount, on-disk) i_size.
func (m *Model) Size() int64 { return m.size }

// Content returns a copy of the Size() logical bytes.
func (m *Model) Content() []byte {
	out := make([]byte, m.size)
	copy(out, m.content)
	return out
}

// Stuffed reports the gfs2 stuffed state (di_height == 0); applicable is
// false on other filesystems.
func (m *Model) Stuffed() (stuffed bool, applicable bool) {
	return m.stuffed, m.fs == fsGFS2
}

// JournalData reports whether gfs2 data journaling is on for the file.
func (m *Model) JournalData() bool { return m.jdata }

// Callouts returns the per-folio write_begin/write_end pairs seen so far.
func (m *Model) Callouts() []Callout {
	out := make([]Callout, len(m.callouts))
	copy(out, m.callouts)
	return out
}

// Reads returns the disk reads writes made so far (zeroed ranges are not
// listed).
func (m *Model) Reads() []Read {
	out := make([]Read, len(m.reads))
	copy(out, m.reads)
	return out
}

// ZeroSkips returns the ranges zeroing passed over so far because the
// model maps them as holes or clean unwritten extents (iomap_zero_iter,
// buffered-io.c:1409-1416). Where the filesystem may hold blocks the model
// does not know of (xfs: speculative preallocation, page_mkwrite over
// readahead's large folios), the kernel may zero parts of them instead;
// they read zero either way.
func (m *Model) ZeroSkips() []Span {
	out := make([]Span, len(m.skips))
	copy(out, m.skips)
	return out
}

// RecordCallouts turns callout recording on (the default) or off; long
// random runs and benchmarks switch it off to keep memory flat.
func (m *Model) RecordCallouts(on bool) {
	m.noCall = !on
	if !on {
		m.callouts, m.reads, m.skips = nil, nil, nil
	}
}

// Blocks is the expected on-disk view after the guest unmounts cleanly: one
// entry per logical block in [0, ceil(Size/bs)). Unmount writes back every
// dirty block first, so the verdict applies the fs's writeback rule to dirty
// blocks (see writebackBlock).
func (m *Model) Blocks() []Block {
	n := (m.size + m.bs - 1) >> m.bbits
	out := make([]Block, n)
	for i := int64(0); i < n; i++ {
		b := m.blocks[i]
		out[i] = Block{Index: i, LastOp: int(b.lastOp)}
		if m.stuffed {
			out[i].State = Inline
			continue
		}
		alloc := b.alloc
		if b.flags&fDirty != 0 {
			alloc = m.writebackAlloc(alloc)
		}
		switch alloc {
		case aWritten:
			out[i].State = Data
			switch {
			case m.fs == fsXFS && m.blockAllZero(i):
				// A zero block on xfs may come from a page_mkwrite
				// reservation over a folio larger than the model
				// guessed, or from zeroing that converted delalloc.
				out[i].State = ReadsZero
				out[i].MayBeAllocated = true
			case m.blockAllZero(i):
				// gfs2 fallocate, page_mkwrite over a hole, the NEW
				// buffers of a failed short copy: mapped zeros.
				out[i].State = AllocatedZero
			}
		case aUnwritten:
			out[i].State = AllocatedZero
		default:
			out[i].State = MustBeHole
			out[i].MayBeAllocated = m.fs == fsXFS || alloc == aDelalloc
		}
	}
	return out
}

func (m *Model) blockAllZero(i int64) bool {
	s := i << m.bbits
	e := min(s+m.bs, m.size)
	for _, c := range m.content[s:e] {
		if c != 0 {
			return false
		}
	}
	return true
}

// Apply executes op number index.
func (m *Model) Apply(index int, op cases.Op) error {
	if err := op.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	m.opIndex = index
	end := op.Off + op.Len
	if op.Kind == cases.Append {
		end = m.size + op.Len
	}
	if end > MaxModelSize || op.Off > MaxModelSize {
		return fmt.Errorf("%w: op reaches byte %d, past the model's limit %d", ErrInvalid, end, MaxModelSize)
	}
	switch op.Kind {
	case cases.Read, cases.MapRead, cases.Collapse, cases.Insert, cases.PWritev2:
		return m.applyReadShiftSync(op)
	case cases.PWrite, cases.Writev:
		if op.Sync != "" {
			return m.applyReadShiftSync(op)
		}
		// The iovec split does not matter: iomap_write_iter and
		// generic_perform_write chunk by iov_iter_count, not by segment.
		m.bufferedWrite(op.Off, op.Len, op.Off+op.Len)
	case cases.Append:
		m.bufferedWrite(m.size, op.Len, m.size+op.Len)
	case cases.ShortCopy:
		if m.fs == fsGFS2 {
			// gfs2_file_buffered_write (gfs2/file.c:1038-1046) faults
			// the user buffer in first and cuts the iov_iter to the
			// readable part (window_size -= fault_in_iov_iter_readable),
			// so iomap sees a plain write of the Copied bytes and no
			// short copy; with nothing readable it returns -EFAULT
			// before the glock, the EOF zeroing and iomap.
			if op.Copied > 0 {
				m.bufferedWrite(op.Off, op.Copied, op.Off+op.Copied)
			}
			break
		}
		m.bufferedWrite(op.Off, op.Len, op.Off+op.Copied)
	case cases.DirectWrite:
		return m.directWrite(op.Off, op.Len)
	case cases.MmapWrite:
		return m.mmapWrite(op.Off, op.Len)
	case cases.PolluteEOF:
		m.polluteEOF()
		m.rs.polluted = true
	case cases.Truncate:
		m.truncate(op.Off)
	case cases.Fallocate:
		if err := m.fallocate(op.Off, op.Len, op.KeepSize); err != nil || op.Sync == "" {
			return err
		}
		m.syncFallocate(op)
	case cases.PunchHole:
		return m.punchHole(op.Off, op.Len)
	case cases.ZeroRange:
		return m.zeroRange(op.Off, op.Len, op.KeepSize)
	case cases.Fsync, cases.Fdatasync, cases.Sync:
		m.writeback(0, m.cachedEnd())
	case cases.DropCaches, cases.Remount:
		m.writeback(0, m.cachedEnd())
		m.dropCache(0, m.cachedEnd())
		if op.Kind == cases.Remount {
			// The guest reopens the file: a fresh f_ra
			// (file_ra_state_init, mm/readahead.c).
			m.ra = raState{}
		}
	case cases.JournalData:
		return m.setJournalData()
	case cases.SetUID:
		m.setUID()
	case cases.Clone, cases.Dedupe, cases.CopyRange, cases.Unshare:
		return fmt.Errorf("%w: %s acts on the files of a case: use RunSet", ErrInvalid, op.Kind)
	default:
		return fmt.Errorf("%w: unknown op kind %q", ErrInvalid, op.Kind)
	}
	return nil
}

// ensure grows the dense arrays to cover byte offset end (exclusive).
func (m *Model) ensure(end int64) {
	// Round to whole folios of the largest size so folio bookkeeping never
	// indexes past the arrays.
	end = (end + m.maxFol - 1) &^ (m.maxFol - 1)
	if int64(len(m.content)) < end {
		if int64(cap(m.content)) >= end {
			m.content = m.content[:end]
		} else {
			n := make([]byte, end, max(end, 2*int64(cap(m.content))))
			copy(n, m.content)
			m.content = n
		}
	}
	nb := (end + m.bs - 1) >> m.bbits
	for int64(len(m.blocks)) < nb {
		m.blocks = append(m.blocks, blk{lastOp: -1})
	}
	np := end >> m.pbits
	for int64(len(m.fhead)) < np {
		m.fhead = append(m.fhead, 0)
		m.ford = append(m.ford, 0)
		m.fra = append(m.fra, false)
	}
}

// cachedEnd is a byte offset past every tracked block.
func (m *Model) cachedEnd() int64 { return int64(len(m.blocks)) << m.bbits }

func (m *Model) recordRead(pos, n int64) {
	if m.noCall {
		return
	}
	m.reads = append(m.reads, Read{Op: m.opIndex, Pos: pos, Len: n})
}

func (m *Model) recordZeroSkip(pos, n int64) {
	if m.noCall || n <= 0 {
		return
	}
	m.skips = append(m.skips, Span{Op: m.opIndex, Pos: pos, Len: n})
}

func (m *Model) record(c Callout) {
	if m.noCall {
		return
	}
	c.Op = m.opIndex
	m.callouts = append(m.callouts, c)
}

func roundDown(v, a int64) int64 { return v &^ (a - 1) }
func roundUp(v, a int64) int64   { return (v + a - 1) &^ (a - 1) }
