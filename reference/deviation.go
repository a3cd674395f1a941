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
// them as file data, holding PolluteByte; the bytes the model has data for
// are overwritten and cannot show it. after, if non-empty, keeps only the
// ops followed (later in the case) by an op of that kind: the deviation
// needs it to surface.
func Polluted(g Geometry, ops []cases.Op, after cases.Kind) ([]Allowance, error) {
	m, err := New(g)
	if err != nil {
		return nil, err
	}
	var out []Allowance
	for i, op := range ops {
		if op.Kind == cases.PolluteEOF && m.size&(m.ps-1) != 0 && followedBy(ops[i+1:], after) {
			out = append(out, Allowance{Off: m.size, End: roundUp(m.size, m.ps), Value: PolluteByte, Op: i})
		}
		if err := m.Apply(i, op); err != nil {
			return out, err
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
	if g.FS == "gfs2" {
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
