package reference

import (
	"github.com/iomapct/iomapct/cases"
)

// PolluteByte is the byte polluteeof stores past EOF (cases/execute's
// PolluteByte; the reference may not import the guest side).
const PolluteByte = 0xEE

// AnyByte as an Allowance's Value: the bytes may hold anything.
const AnyByte = -1

// Allowance is a run of file bytes a recorded kernel deviation may change
// where the model says zero, and what they then hold: Value, or anything
// (AnyByte). It is the model's prediction of the deviation: the kernel's
// image matches the deviation when every byte that differs from the model
// lies in an allowance and holds its value.
type Allowance struct {
	Off, End int64
	Value    int
	// Op is the op whose effect this is.
	Op int
}

// Polluted is the model of what garbage the kernel can keep from the
// polluteeof ops of a case: each stores PolluteByte into [EOF, end of the
// EOF page) of the page cache (fsx's pollute_eofpage, cases/execute), with
// EOF the model's i_size just before it; nothing when EOF is page aligned.
// A kernel that fails to zero those bytes when the size later grows shows
// them as file data, holding PolluteByte. The bytes stay garbage in the
// cache until something replaces them, and only the bytes still garbage at
// the end of the case are allowed:
//   - data written over them (write, writev, append, the copied part of a
//     short copy, an mmap store, a direct write): the model has the data;
//   - writeback (fsync, fdatasync, sync): block_write_full_folio
//     (fs/buffer.c) and ext4_bio_write_folio (fs/ext4/page-io.c:464-465)
//     zero the EOF folio past i_size in memory before writing it;
//   - a truncate down: truncate_pagecache zeroes the partial folio past
//     the new size (truncate_inode_partial_folio, mm/truncate.c);
//   - a punch or zero range: the range is zeroed or dropped in the cache;
//   - drop_caches or a remount: written back (as above), then evicted;
//   - a direct write over the polluted page: kiocb_invalidate_pages writes
//     it back (as above) and evicts it;
//   - a collapse or insert range: both write back the page cache from the
//     page holding off to EOF and drop it (ext4_collapse_range,
//     fs/ext4/extents.c:5371-5377; ext4_insert_range, 5467-5471;
//     xfs_flush_unmap_range, fs/xfs/xfs_bmap_util.c:807-830), so garbage
//     past EOF is zeroed as above and gone.
//
// Garbage a size change already brought inside EOF is written back as file
// data and stays; it is file data from then on, so a collapse removes the
// part inside [off, off+len) and moves the part after it down by len, and
// an insert moves the part at or after off up by len, as it does every
// byte of the file (shift.go).
//
// after, if non-empty, keeps only the polluteeof ops followed (later in
// the case) by an op of that kind: the deviation needs it to surface.
func Polluted(g Geometry, ops []cases.Op, after cases.Kind) ([]Allowance, error) {
	m, err := New(g)
	if err != nil {
		return nil, err
	}
	type pollution struct {
		op   int
		page int64 // the EOF page it was stored in; -1 once shifted away
		// at[i] is the file offset the i-th garbage byte is at now, or -1
		// once it no longer holds PolluteByte.
		at []int64
	}
	var ps []*pollution
	clearRange := func(a, b int64) {
		for _, p := range ps {
			for i, o := range p.at {
				if o >= a && o < b {
					p.at[i] = -1
				}
			}
		}
	}
	// shift moves the garbage at or after from by delta.
	shift := func(from, delta int64) {
		for _, p := range ps {
			p.page = -1
			for i, o := range p.at {
				if o >= from {
					p.at[i] = o + delta
				}
			}
		}
	}
	for i, op := range ops {
		switch op.Kind {
		case cases.PolluteEOF:
			if m.size&(m.ps-1) != 0 && followedBy(ops[i+1:], after) {
				n := roundUp(m.size, m.ps) - m.size
				p := &pollution{op: i, page: roundDown(m.size, m.ps), at: make([]int64, n)}
				for j := range p.at {
					p.at[j] = m.size + int64(j)
				}
				ps = append(ps, p)
			}
		case cases.PWrite, cases.Writev, cases.MmapWrite, cases.DirectWrite:
			clearRange(op.Off, op.Off+op.Len)
		case cases.ShortCopy:
			clearRange(op.Off, op.Off+op.Copied)
		case cases.Append:
			clearRange(m.size, m.size+op.Len)
		case cases.Truncate:
			if op.Off < m.size {
				clearRange(op.Off, MaxModelSize)
			}
		case cases.PunchHole, cases.ZeroRange:
			clearRange(op.Off, op.Off+op.Len)
		case cases.Fsync, cases.Fdatasync, cases.Sync, cases.DropCaches, cases.Remount:
			clearRange(m.size, MaxModelSize)
		case cases.Collapse:
			if op.Len > 0 && op.Off+op.Len < m.size {
				clearRange(m.size, MaxModelSize)
				clearRange(op.Off, op.Off+op.Len)
				shift(op.Off+op.Len, -op.Len)
			}
		case cases.Insert:
			if op.Len > 0 && op.Off < m.size {
				clearRange(m.size, MaxModelSize)
				shift(op.Off, op.Len)
			}
		}
		if op.Kind == cases.DirectWrite {
			for _, p := range ps {
				if p.page >= 0 && op.Off < p.page+m.ps && op.Off+op.Len > p.page {
					clearRange(m.size, MaxModelSize)
				}
			}
		}
		if err := m.Apply(i, op); err != nil {
			return nil, err
		}
	}
	var out []Allowance
	for _, p := range ps {
		// The bytes of one pollution keep their order and stay contiguous
		// but where a collapse removed some: runs of consecutive offsets.
		for j := 0; j < len(p.at); {
			if p.at[j] < 0 {
				j++
				continue
			}
			k := j + 1
			for k < len(p.at) && p.at[k] == p.at[k-1]+1 {
				k++
			}
			out = append(out, Allowance{Off: p.at[j], End: p.at[k-1] + 1, Value: PolluteByte, Op: p.op})
			j = k
		}
	}
	return out, nil
}

func followedBy(ops []cases.Op, kind cases.Kind) bool {
	if kind == "" {
		return true
	}
	for _, o := range ops {
		if o.Kind == kind {
			return true
		}
	}
	return false
}

// ShortCopyTails is the model of the short-copy deviation
// (iomap-short-copy-uptodate): a short copy that __iomap_write_end accepts
// because the folio is uptodate keeps, in [pos+copied, pos+len) of the
// block range write_begin prepared, whatever the folio held, and the
// folio may be recycled memory: those bytes may hold anything, and no
// other. On gfs2 a short copy is a plain write of the copied bytes
// (gfs2_file_buffered_write cuts the iov_iter to the readable part), so it
// has none.
func ShortCopyTails(g Geometry, ops []cases.Op) []Allowance {
	if personalities[g.FS].shortCopyPlain {
		return nil
	}
	var out []Allowance
	for i, op := range ops {
		if op.Kind == cases.ShortCopy && op.Copied < op.Len {
			out = append(out, Allowance{Off: op.Off + op.Copied, End: op.Off + op.Len, Value: AnyByte, Op: i})
		}
	}
	return out
}
