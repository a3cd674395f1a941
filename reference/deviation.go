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
//     it back (as above) and evicts it.
//
// Garbage a size change already brought inside EOF is written back as file
// data and stays.
//
// after, if non-empty, keeps only the polluteeof ops followed (later in
// the case) by an op of that kind: the deviation needs it to surface.
func Polluted(g Geometry, ops []cases.Op, after cases.Kind) ([]Allowance, error) {
	m, err := New(g)
	if err != nil {
		return nil, err
	}
	type pollution struct {
		op        int
		off, page int64
		live      []bool // live[i]: byte off+i still holds PolluteByte
	}
	var ps []*pollution
	clearRange := func(a, b int64) {
		for _, p := range ps {
			for i := range p.live {
				if o := p.off + int64(i); o >= a && o < b {
					p.live[i] = false
				}
			}
		}
	}
	for i, op := range ops {
		switch op.Kind {
		case cases.PolluteEOF:
			if m.size&(m.ps-1) != 0 && followedBy(ops[i+1:], after) {
				n := roundUp(m.size, m.ps) - m.size
				p := &pollution{op: i, off: m.size, page: roundDown(m.size, m.ps), live: make([]bool, n)}
				for j := range p.live {
					p.live[j] = true
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
		}
		if op.Kind == cases.DirectWrite {
			for _, p := range ps {
				if op.Off < p.page+m.ps && op.Off+op.Len > p.page {
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
		for j := 0; j < len(p.live); {
			if !p.live[j] {
				j++
				continue
			}
			k := j
			for k < len(p.live) && p.live[k] {
				k++
			}
			out = append(out, Allowance{Off: p.off + int64(j), End: p.off + int64(k), Value: PolluteByte, Op: p.op})
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
