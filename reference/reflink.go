package reference

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/iomapct/iomapct/cases"
)

// Several files per case and the shared-extent ops between them: clone
// (FICLONERANGE), dedupe (FIDEDUPERANGE), copy_file_range and
// FALLOC_FL_UNSHARE_RANGE. Line references are to Linux 6.12.117.
//
// Sharing is kept per block: blocks whose physical block is the same carry
// the same share group (blk.share). A block leaves its group when it gets
// storage of its own: when it is dirtied (xfs_buffered_write_iomap_begin
// finds the shared extent, xfs_iomap.c:1072-1101, reserves a COW fork
// extent, and writeback writes the dirty block there and remaps it at I/O
// completion, xfs_reflink_end_cow), written with O_DIRECT
// (xfs_direct_write_iomap_begin → xfs_reflink_allocate_cow), freed, or
// remapped. A group with one member left is a block no longer shared
// (refcount 1): writes to it go in place again.
//
// The content model needs nothing more: a write to a shared block reads its
// old bytes through the source mapping (iomap_iter_srcmap, buffered-io.c:
// 722, 760-775: the data fork extent, MAPPED, so the bytes are read, never
// zeroed), which holds the block's logical bytes, exactly as for a block
// that is not shared. What sharing adds is on disk: members of a group map
// to one physical block, and a block that left a group maps elsewhere.

// brokenShare records that block blk left share group group.
type brokenShare struct {
	blk   int64
	group int32
}

// cowBreak gives block i storage of its own.
func (m *Model) cowBreak(i int64) {
	if i < int64(len(m.blocks)) && m.blocks[i].share != 0 {
		m.broken = append(m.broken, brokenShare{i, m.blocks[i].share})
		m.blocks[i].share = 0
	}
}

// Set is the reference state of all files of a case. File 0 is the case's
// own file; single-file users keep using Model through Run.
type Set struct {
	g      Geometry
	files  map[int]*Model
	order  []int
	groups int32
	// apart holds, per file, the blocks that left a group; each must not
	// map to the physical block of the group's remaining members.
	apart map[int][]brokenShare
	// returned is the value the guest reports for dedupe and copyrange.
	returned map[int]int64
}

// RunSet builds the models of every file ops name and applies the ops.
func RunSet(g Geometry, ops []cases.Op) (*Set, error) { return RunSetObserved(g, ops, nil) }

// RunSetObserved is RunSet where the guest's return values decide what the
// kernel may legally choose between (RWF_NOWAIT's EAGAIN, see RunObserved).
func RunSetObserved(g Geometry, ops []cases.Op, returned []int64) (*Set, error) {
	s := &Set{files: map[int]*Model{}, apart: map[int][]brokenShare{}, returned: map[int]int64{}}
	for _, i := range cases.FilesOf(ops) {
		m, err := New(g)
		if err != nil {
			return nil, err
		}
		m.rs.observed = returned
		s.g = m.g
		s.files[i] = m
		s.order = append(s.order, i)
	}
	for i, op := range ops {
		if err := s.Apply(i, op); err != nil {
			return s, fmt.Errorf("op %d (%s): %w", i, op, err)
		}
	}
	return s, nil
}

// Files lists the file indexes, ascending.
func (s *Set) Files() []int { return slices.Clone(s.order) }

// File returns file i's model (nil if the case has no such file).
func (s *Set) File(i int) *Model { return s.files[i] }

// Returned is the value the guest must report for op i, where the model
// predicts one (dedupe's status, copyrange's byte count).
func (s *Set) Returned(i int) (int64, bool) {
	v, ok := s.returned[i]
	return v, ok
}

// Apply executes op number index.
func (s *Set) Apply(index int, op cases.Op) error {
	if err := op.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if op.Off+op.Len > MaxModelSize || op.SrcOff+op.Len > MaxModelSize {
		return fmt.Errorf("%w: op reaches past the model's limit %d", ErrInvalid, MaxModelSize)
	}
	dst := s.files[op.File]
	if dst == nil || op.CrossFile() && s.files[op.Src] == nil {
		return fmt.Errorf("%w: op names a file the set lacks", ErrInvalid)
	}
	var err error
	switch {
	case op.Global():
		for _, i := range s.order {
			if err = s.files[i].Apply(index, op); err != nil {
				break
			}
		}
	case op.Kind == cases.Clone, op.Kind == cases.Dedupe:
		err = s.remapOp(index, op)
	case op.Kind == cases.CopyRange:
		err = s.copyRange(index, op)
	case op.Kind == cases.Unshare:
		err = s.unshare(index, op)
	default:
		err = dst.Apply(index, op)
	}
	s.collectBroken()
	return err
}

func (s *Set) collectBroken() {
	for _, i := range s.order {
		m := s.files[i]
		s.apart[i] = append(s.apart[i], m.broken...)
		m.broken = m.broken[:0]
	}
}

// members counts the blocks of every file in group g.
func (s *Set) members(g int32) int {
	n := 0
	for _, m := range s.files {
		for _, b := range m.blocks {
			if b.share == g {
				n++
			}
		}
	}
	return n
}

// shared reports whether block b of m is shared with another block
// (refcount above one).
func (s *Set) shared(m *Model, b int64) bool {
	return b < int64(len(m.blocks)) && m.blocks[b].share != 0 && s.members(m.blocks[b].share) > 1
}

// BlockRef names one logical block of one file of the set.
type BlockRef struct {
	File  int
	Block int64
}

// SharedGroups lists the groups of blocks that must map to one physical
// block on disk after unmount: at least two members, each a mapped block
// below its file's EOF.
func (s *Set) SharedGroups() [][]BlockRef {
	by := map[int32][]BlockRef{}
	var keys []int32
	for _, i := range s.order {
		m := s.files[i]
		n := (m.size + m.bs - 1) >> m.bbits
		for b := int64(0); b < n && b < int64(len(m.blocks)); b++ {
			g := m.blocks[b].share
			if g == 0 || m.blocks[b].alloc == aHole {
				continue
			}
			if by[g] == nil {
				keys = append(keys, g)
			}
			by[g] = append(by[g], BlockRef{i, b})
		}
	}
	slices.Sort(keys)
	var out [][]BlockRef
	for _, g := range keys {
		if len(by[g]) > 1 {
			out = append(out, by[g])
		}
	}
	return out
}

// Apart lists pairs of blocks that must not map to the same physical block:
// a block that left a group (copied on write, unshared, remapped) and a
// block still in that group.
func (s *Set) Apart() [][2]BlockRef {
	var out [][2]BlockRef
	for _, i := range s.order {
		m := s.files[i]
		n := (m.size + m.bs - 1) >> m.bbits
		for _, br := range s.apart[i] {
			if br.blk >= n || m.blocks[br.blk].alloc == aHole || m.blocks[br.blk].share == br.group {
				continue
			}
			if other, ok := s.memberOf(br.group); ok {
				out = append(out, [2]BlockRef{{i, br.blk}, other})
			}
		}
	}
	return out
}

// Group returns the share group of block b of file f: blocks of different
// groups, and blocks in no group (0), never share a physical block.
func (s *Set) Group(f int, b int64) int32 {
	m := s.files[f]
	if m == nil || b >= int64(len(m.blocks)) {
		return 0
	}
	return m.blocks[b].share
}

// memberOf returns a mapped member of group g below its file's EOF.
func (s *Set) memberOf(g int32) (BlockRef, bool) {
	for _, i := range s.order {
		m := s.files[i]
		n := (m.size + m.bs - 1) >> m.bbits
		for b := int64(0); b < n && b < int64(len(m.blocks)); b++ {
			if m.blocks[b].share == g && m.blocks[b].alloc != aHole {
				return BlockRef{i, b}, true
			}
		}
	}
	return BlockRef{}, false
}

// remapOp is FICLONERANGE (vfs_clone_file_range, fs/remap_range.c:
// 376-412) or FIDEDUPERANGE with one destination (vfs_dedupe_file_range,
// remap_range.c:492-569) into xfs_file_remap_range (xfs_file.c:1169-1240).
// Filesystems without ->remap_file_range refuse both (EOPNOTSUPP; FICLONE
// across them EXDEV before that).
func (s *Set) remapOp(index int, op cases.Op) error {
	src, dst := s.files[op.Src], s.files[op.File]
	if dst.fs != fsXFS {
		return fmt.Errorf("%s %s: %w", dst.g.FS, op.Kind, ErrUnsupported)
	}
	dst.opIndex, src.opIndex = index, index
	dedup := op.Kind == cases.Dedupe
	if dedup {
		// vfs_dedupe_file_range: the source range must lie within its EOF
		// (remap_range.c:526-527).
		if op.SrcOff+op.Len > src.size {
			return fmt.Errorf("dedupe source [%d, %d) past EOF %d: %w", op.SrcOff, op.SrcOff+op.Len, src.size, ErrInvalid)
		}
		if op.Len == 0 {
			s.returned[index] = 0 // vfs_dedupe_file_range_one: len 0 is success
			return nil
		}
	}
	_, differs, err := s.remap(op.Src, op.SrcOff, op.File, op.Off, op.Len, dedup, false)
	if err != nil {
		return err
	}
	if dedup {
		s.returned[index] = 0
		if differs {
			s.returned[index] = 1 // FILE_DEDUPE_RANGE_DIFFERS
		}
	}
	return nil
}

// remap is xfs_file_remap_range after the VFS entry checks: it returns
// the bytes remapped (0 when the request shrank to nothing, which
// copy_file_range answers with splice), whether dedupe found the ranges
// different, and ErrInvalid where the kernel returns EINVAL (or EBADE
// for an unaligned dedupe without CAN_SHORTEN).
func (s *Set) remap(si int, pin int64, di int, pout, length int64, dedup, canShorten bool) (int64, bool, error) {
	src, dst := s.files[si], s.files[di]
	bs := dst.bs
	// __generic_remap_file_range_prep (remap_range.c:300-310): a clone
	// of length 0 runs to the source's EOF.
	if length == 0 {
		if dedup || pin == src.size {
			return 0, false, nil
		}
		if pin > src.size {
			return 0, false, fmt.Errorf("remap from %d past EOF %d: %w", pin, src.size, ErrInvalid)
		}
		length = src.size - pin
	}
	// generic_remap_checks (remap_range.c:31-100).
	if pin&(bs-1) != 0 || pout&(bs-1) != 0 {
		return 0, false, fmt.Errorf("remap offsets %d, %d not block aligned: %w", pin, pout, ErrInvalid)
	}
	if dedup && (pin >= src.size || pin+length > src.size || pout >= dst.size || pout+length > dst.size) {
		return 0, false, fmt.Errorf("dedupe range past EOF: %w", ErrInvalid)
	}
	if pin >= src.size {
		return 0, false, fmt.Errorf("remap from %d at or past the source's EOF %d: %w", pin, src.size, ErrInvalid)
	}
	count := min(length, src.size-pin)
	var bcount int64
	if pin+count == src.size && (!dedup || pout+count == dst.size) {
		bcount = roundUp(src.size, bs) - pin
	} else {
		count = roundDown(count, bs)
		bcount = count
	}
	if si == di && pout+bcount > pin && pout < pin+bcount {
		return 0, false, fmt.Errorf("remap within one file overlaps: %w", ErrInvalid)
	}
	if count != length && !canShorten {
		return 0, false, fmt.Errorf("remap of %d bytes would be cut to %d: %w", length, count, ErrInvalid)
	}
	if count == 0 {
		return 0, false, nil
	}
	// 324-331: write back both ranges.
	src.writeback(pin, pin+count)
	dst.writeback(pout, pout+count)
	if dedup {
		// vfs_dedupe_file_range_compare (192-266): page by page through
		// read_mapping_folio, stopping at the first difference.
		if !s.dedupeCompare(src, pin, dst, pout, count) {
			return 0, true, nil
		}
	}
	// generic_remap_check_len (133-157): a partial EOF block is linked
	// only at or past the destination's EOF.
	if count&(bs-1) != 0 && pout+count < dst.size {
		if !canShorten {
			if dedup {
				return 0, false, fmt.Errorf("dedupe of a partial EOF block inside the destination: %w (EBADE)", ErrInvalid)
			}
			return 0, false, fmt.Errorf("clone of a partial EOF block inside the destination: %w", ErrInvalid)
		}
		count = roundDown(count, bs)
		if count == 0 {
			return 0, false, nil
		}
	}
	// xfs_reflink_remap_blocks (xfs_reflink.c:1383-1407): every source
	// extent is remapped; a delalloc one left after the flush is
	// EFSCORRUPTED, which the model does not claim to predict.
	first, nb := pin>>src.bbits, roundUp(count, bs)>>src.bbits
	src.ensure(pin + nb*bs)
	for b := first; b < first+nb; b++ {
		if src.blocks[b].alloc == aDelalloc {
			return 0, false, fmt.Errorf("clone source block %d is delalloc after the flush (the kernel says EFSCORRUPTED): %w", b, ErrInvalid)
		}
	}
	dst.ensure(pout + nb*bs)
	// xfs_reflink_remap_prep (xfs_reflink.c:1485-1563): zero the
	// destination from EOF to pos_out (xfs_reflink_zero_posteof, 1442-1453),
	// set the reflink flags, then write back and drop the destination's
	// page cache over the range (xfs_flush_unmap_range,
	// xfs_bmap_util.c:807-830, rounded to the page).
	if pout > dst.size {
		dst.iomapZeroRange(dst.size, pout-dst.size)
	}
	src.reflink, dst.reflink = true, true
	fstart, flen := pout, count
	if pout > dst.size {
		fstart, flen = dst.size, count+pout-dst.size
	}
	a, b := roundDown(fstart, dst.ps), roundUp(fstart+flen, dst.ps)
	dst.writeback(a, b)
	dst.dropCache(a, b)
	// xfs_reflink_remap_extent (xfs_reflink.c:1161-1350): only a written
	// source extent is mapped into the destination and shared (1326-1329,
	// xfs_bmap_is_written_extent); for a hole or an unwritten source
	// extent the destination's blocks are unmapped (1298-1320) and stay
	// holes, except that an unwritten destination under an unwritten
	// source is left alone (1246-1249), and a block that already shares
	// the source's physical block is skipped (1238-1244).
	for k := int64(0); k < nb; k++ {
		di := (pout >> dst.bbits) + k
		sb, db := &src.blocks[first+k], &dst.blocks[di]
		switch {
		case sb.share != 0 && db.share == sb.share:
			continue
		case sb.alloc == aUnwritten && db.alloc == aUnwritten:
			db.flags = 0
			continue
		}
		dst.cowBreak(di)
		db.flags, db.lastOp = 0, sb.lastOp
		if sb.alloc != aWritten {
			db.alloc, db.lastOp = aHole, -1
			continue
		}
		db.alloc = aWritten
		if sb.share == 0 {
			s.groups++
			sb.share = s.groups
		}
		db.share = sb.share
	}
	// The bytes: the source's, up to count (past the source's EOF the
	// block holds zeros, and content past EOF is always zero).
	buf := make([]byte, count)
	copy(buf, src.content[pin:pin+count])
	copy(dst.content[pout:pout+count], buf)
	// xfs_reflink_update_dest (xfs_reflink.c:1088-1129): i_size grows to
	// pos_out + len.
	if pout+count > dst.size {
		dst.size = pout + count
	}
	return count, false, nil
}

// dedupeCompare reads both ranges page by page into the page cache
// (read_mapping_folio: a min-order folio, read and uptodate) and compares
// them; it stops after the first page pair that differs.
func (s *Set) dedupeCompare(src *Model, pin int64, dst *Model, pout, n int64) bool {
	for n > 0 {
		c := min(src.ps-(pin&(src.ps-1)), dst.ps-(pout&(dst.ps-1)), n)
		for _, r := range []struct {
			m   *Model
			pos int64
		}{{src, pin}, {dst, pout}} {
			if fs, fz, ok := r.m.folioAt(r.pos); !ok || !r.m.folioUptodate(fs, fz) {
				r.m.readFolio(r.pos)
			}
		}
		if !bytes.Equal(src.content[pin:pin+c], dst.content[pout:pout+c]) {
			return false
		}
		pin, pout, n = pin+c, pout+c, n-c
	}
	return true
}

// copyRange is copy_file_range(2) as the guest calls it: repeated while it
// copies something. vfs_copy_file_range (fs/read_write.c:1578-1671):
// generic_copy_file_checks cuts the length at the source's EOF and refuses
// overlap within one file (1550-1567); with no ->copy_file_range (none of
// the four has one) xfs tries ->remap_file_range with
// REMAP_FILE_CAN_SHORTEN (1623-1628) and every other case, or a remap
// that returned 0 or an error, goes to do_splice_direct (1658).
func (s *Set) copyRange(index int, op cases.Op) error {
	src, dst := s.files[op.Src], s.files[op.File]
	src.opIndex, dst.opIndex = index, index
	pin, pout, left := op.SrcOff, op.Off, op.Len
	var total int64
	for left > 0 {
		count := int64(0)
		if pin < src.size {
			count = min(left, src.size-pin)
		}
		if op.Src == op.File && pout+count > pin && pout < pin+count {
			return fmt.Errorf("copy_file_range within one file overlaps: %w", ErrInvalid)
		}
		if count == 0 {
			break
		}
		var n int64
		if dst.fs == fsXFS {
			r, _, err := s.remap(op.Src, pin, op.File, pout, count, false, true)
			if err == nil && r > 0 {
				n = r
			}
		}
		if n == 0 {
			n = s.splice(src, pin, dst, pout, count)
		}
		pin, pout, left, total = pin+n, pout+n, left-n, total+n
	}
	s.returned[index] = total
	return nil
}

// splice is do_splice_direct (fs/splice.c:1033-1131 and
// filemap_splice_read, mm/filemap.c:2906-): at most a pipe's worth per
// round, 16 buffers of one page each (PIPE_DEF_BUFFERS; with
// filemap_splice_read the first holds the rest of the source's first
// page), read from the source's page cache
// and written through the destination's ->write_iter as one buffered
// write (iter_file_splice_write).
func (s *Set) splice(src *Model, pin int64, dst *Model, pout, n int64) int64 {
	const pipePages = 16
	var done int64
	for done < n {
		chunk := min(n-done, pipePages*src.ps-(pin&(src.ps-1)))
		if src.fs == fsGFS2 {
			// gfs2's ->splice_read is copy_splice_read (gfs2/file.c:1596,
			// fs/splice.c:323-337): it reads into 16 fresh pages from
			// the offset on, whatever the offset's place in its page.
			chunk = min(n-done, pipePages*src.ps)
		}
		// The source folios read become cached and uptodate. The
		// readahead window around them (filemap_get_pages,
		// page_cache_sync_ra on the guest's own descriptor) is not
		// modelled: it only adds clean uptodate folios, which matter
		// for a later short copy into them.
		for p := roundDown(pin, src.ps); p < pin+chunk; p += src.ps {
			if fs, fz, ok := src.folioAt(p); !ok || !src.folioUptodate(fs, fz) {
				src.readFolio(p)
			}
		}
		data := make([]byte, chunk)
		copy(data, src.content[pin:pin+chunk])
		base := pout
		dst.feed = func(b []byte, pos int64) { copy(b, data[pos-base:]) }
		dst.bufferedWrite(pout, chunk, pout+chunk)
		dst.feed = nil
		pin, pout, done = pin+chunk, pout+chunk, done+chunk
	}
	return done
}

// unshare is fallocate(FALLOC_FL_UNSHARE_RANGE): xfs_falloc_unshare_range
// (xfs_file.c:1019-1041) runs xfs_reflink_unshare (xfs_reflink.c:
// 1701-1739), which does nothing unless the inode carries the reflink flag
// and otherwise unshares through iomap_file_unshare and writes the range
// back; then xfs_alloc_file_space and the size change as fallocate.
func (s *Set) unshare(index int, op cases.Op) error {
	m := s.files[op.File]
	if m.fs != fsXFS {
		return fmt.Errorf("%s unshare range: %w", m.g.FS, ErrUnsupported)
	}
	if op.Len <= 0 {
		return fmt.Errorf("unshare len %d: %w (vfs_fallocate: EINVAL)", op.Len, ErrInvalid)
	}
	m.opIndex = index
	m.ensure(op.Off + op.Len)
	if m.reflink {
		s.fileUnshare(m, op.Off, op.Len)
		m.writeback(op.Off, op.Off+op.Len)
		// xfs_reflink_try_clear_inode_flag: no shared extent left.
		still := false
		for b := range m.blocks {
			if s.shared(m, int64(b)) {
				still = true
				break
			}
		}
		m.reflink = still
	}
	return m.fallocate(op.Off, op.Len, op.KeepSize)
}

// fileUnshare is iomap_file_unshare (buffered-io.c:1349-1368) with
// xfs_buffered_write_iomap_begin(IOMAP_UNSHARE): holes are skipped
// (xfs_iomap.c:1026-1031), unshared extents come back without
// IOMAP_F_SHARED, shared ones with it and the data fork extent as srcmap
// (1072-1101, 1193-1207); iomap_unshare_iter (1305-1347) works only where
// both hold (iomap_want_unshare_iter: IOMAP_F_SHARED and a MAPPED srcmap,
// so shared unwritten extents are left alone). Each folio of the range is
// begun (reading every block not uptodate, IOMAP_UNSHARE skipping the
// whole-folio shortcut, 738-740 and 755) and ended with all its bytes
// copied, which dirties them; writeback then gives them their own blocks.
func (s *Set) fileUnshare(m *Model, off, length int64) {
	if off >= m.size {
		return
	}
	end := min(off+length, m.size)
	for b := off >> m.bbits; b<<m.bbits < end; {
		if !(m.blocks[b].alloc == aWritten && s.shared(m, b)) {
			b++
			continue
		}
		e := b + 1
		for e<<m.bbits < end && m.blocks[e].alloc == aWritten && s.shared(m, e) {
			e++
		}
		m.unshareIter(max(off, b<<m.bbits), min(end, e<<m.bbits))
		b = e
	}
}

// unshareIter is iomap_unshare_iter over one shared mapping [pos, end).
func (m *Model) unshareIter(pos, end int64) {
	mp := iomapping{typ: MapDelalloc, off: pos, end: end}
	for pos < end {
		bytes := end - pos
		if m.fs != fsXFS {
			bytes = min(bytes, m.ps-(pos&(m.ps-1)))
		}
		fs, fz := m.getFolio(pos, bytes)
		bytes = min(bytes, fs+fz-pos)
		if !m.folioUptodate(fs, fz) {
			blockStart, blockEnd := roundDown(pos, m.bs), roundUp(pos+bytes, m.bs)
			for blockStart < blockEnd {
				poff, plen := m.adjustReadRange(&blockStart, blockEnd-blockStart, fs, fz)
				if plen == 0 {
					break
				}
				m.recordRead(poff, plen)
				m.setBlockFlags(poff, poff+plen, fUptodate)
				blockStart += plen
			}
		}
		m.setBlockFlags(pos, pos+bytes, fUptodate|fDirty)
		m.record(Callout{Kind: CalloutUnshare, Pos: pos, Len: bytes, Copied: bytes, Written: bytes,
			FolioPos: fs, FolioSize: fz, Map: mp.typ})
		pos += bytes
	}
}
