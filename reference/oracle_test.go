package reference

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/iomapct/iomapct/cases"
	"github.com/stretchr/testify/require"
)

// oracle is the plain POSIX byte-buffer view of the file, written
// independently of the model: writes overlay bytes, gaps read zero,
// truncate cuts or zero-extends, punch/zero clear bytes below EOF.
type oracle struct{ buf []byte }

func (o *oracle) setSize(n int64) {
	if n <= int64(len(o.buf)) {
		o.buf = o.buf[:n]
		return
	}
	o.buf = append(o.buf, make([]byte, n-int64(len(o.buf)))...)
}

func (o *oracle) write(index int, off, n int64) {
	if n == 0 {
		return
	}
	if off+n > int64(len(o.buf)) {
		o.setSize(off + n)
	}
	copy(o.buf[off:], cases.Data(index, off, int(n)))
}

func (o *oracle) zero(off, n int64) {
	for i := off; i < off+n && i < int64(len(o.buf)); i++ {
		o.buf[i] = 0
	}
}

// apply mirrors one op; skip reports ops the model refused (unsupported or
// invalid), which the oracle must then ignore too.
func (o *oracle) apply(index int, op cases.Op) {
	size := int64(len(o.buf))
	switch op.Kind {
	case cases.PWrite, cases.Writev, cases.DirectWrite:
		o.write(index, op.Off, op.Len)
	case cases.Append:
		o.write(index, size, op.Len)
	case cases.ShortCopy:
		o.write(index, op.Off, op.Copied)
	case cases.MmapWrite:
		o.write(index, op.Off, op.Len)
	case cases.Truncate:
		o.setSize(op.Off)
	case cases.Fallocate:
		if !op.KeepSize && op.Off+op.Len > size {
			o.setSize(op.Off + op.Len)
		}
	case cases.PunchHole:
		o.zero(op.Off, op.Len)
	case cases.ZeroRange:
		o.zero(op.Off, op.Len)
		if !op.KeepSize && op.Off+op.Len > size {
			o.setSize(op.Off + op.Len)
		}
	case cases.Collapse:
		o.buf = append(o.buf[:op.Off], o.buf[op.Off+op.Len:]...)
	case cases.Insert:
		tail := append([]byte(nil), o.buf[op.Off:]...)
		o.buf = append(append(o.buf[:op.Off], make([]byte, op.Len)...), tail...)
	case cases.PWritev2:
		at := op.Off
		if op.HasRWF("append") {
			at = size
		}
		o.write(index, at, op.Len)
	}
}

// read is what a read op returns from the oracle: pread stops at EOF,
// mapread reads zero past it.
func (o *oracle) read(op cases.Op) []byte {
	size := int64(len(o.buf))
	out := []byte{}
	if op.Off < size {
		out = append(out, o.buf[op.Off:min(op.Off+op.Len, size)]...)
	}
	if op.Kind == cases.MapRead {
		out = append(out, make([]byte, op.Len-int64(len(out)))...)
	}
	return out
}

var geometries = []Geometry{
	{FS: "xfs", BlockSize: 1024, PageSize: 4096, MaxFolio: 64 << 10},
	{FS: "xfs", BlockSize: 4096, PageSize: 4096, MaxFolio: 2 << 20},
	{FS: "xfs", BlockSize: 16384, PageSize: 4096, MaxFolio: 64 << 10},
	{FS: "gfs2", BlockSize: 512, PageSize: 4096},
	{FS: "gfs2", BlockSize: 1024, PageSize: 4096},
	{FS: "gfs2", BlockSize: 4096, PageSize: 4096},
	{FS: "ext2", BlockSize: 1024, PageSize: 4096},
	{FS: "ext4", BlockSize: 1024, PageSize: 4096},
	{FS: "ext4", BlockSize: 4096, PageSize: 4096},
}

// randomOp draws one op inside a file window of span bytes, biased to
// block and page edges where the rules live.
func randomOp(r *rand.Rand, span int64, bs int64) cases.Op {
	pos := func() int64 {
		switch r.Intn(3) {
		case 0:
			return r.Int63n(span)
		case 1:
			return roundDown(r.Int63n(span), bs) + int64(r.Intn(3)) - 1
		default:
			return roundDown(r.Int63n(span), 4096) + int64(r.Intn(3)) - 1
		}
	}
	length := func() int64 {
		switch r.Intn(4) {
		case 0:
			return int64(r.Intn(16)) + 1
		case 1:
			return bs*int64(r.Intn(4)+1) + int64(r.Intn(3)) - 1
		case 2:
			return int64(r.Intn(3*4096)) + 1
		default:
			return int64(r.Intn(300)) + 1
		}
	}
	fix := func(v int64) int64 { return max(v, 0) }
	kinds := cases.Kinds
	op := cases.Op{Kind: kinds[r.Intn(len(kinds))]}
	switch op.Kind {
	case cases.PWrite, cases.ShortCopy, cases.Fallocate, cases.PunchHole, cases.ZeroRange:
		op.Off, op.Len = fix(pos()), max(length(), 1)
		op.KeepSize = r.Intn(2) == 0
		if op.Kind == cases.ShortCopy {
			op.Copied = r.Int63n(op.Len)
		}
	case cases.Writev:
		op.Off = fix(pos())
		for n := r.Intn(3) + 1; n > 0; n-- {
			s := max(length(), 1)
			op.Segs = append(op.Segs, s)
			op.Len += s
		}
	case cases.Append:
		op.Len = length()
	case cases.DirectWrite:
		op.Off = roundDown(fix(pos()), 512)
		op.Len = roundUp(max(length(), 1), 512)
	case cases.MmapWrite:
		op.Off, op.Len = fix(pos()), length()
	case cases.Truncate:
		op.Off = fix(pos())
	case cases.Read, cases.MapRead:
		op.Off, op.Len = fix(pos()), min(max(length(), 1), cases.MaxReadLen)
	case cases.Collapse, cases.Insert:
		// Block-aligned most of the time: unaligned ones are EINVAL.
		op.Off, op.Len = roundDown(fix(pos()), bs), bs*int64(1+r.Intn(4))
		if r.Intn(8) == 0 {
			op.Off++
		}
	case cases.PWritev2:
		op.Off, op.Len = fix(pos()), max(length(), 1)
		op.RWF = []string{"dsync", "sync", "nowait", "append", "dsync,append", "sync,nowait"}[r.Intn(6)]
		if op.HasRWF("append") {
			op.Off = 0
		}
	}
	if op.Kind == cases.PWrite && r.Intn(4) == 0 {
		op.Sync = cases.SyncModes[r.Intn(2)]
	}
	return op
}

func checkAgainstOracle(t testing.TB, g Geometry, ops []cases.Op) {
	m, err := New(g)
	require.NoError(t, err)
	m.RecordCallouts(false)
	var o oracle
	for i, op := range ops {
		err := m.Apply(i, op)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s op %d %s: unexpected error %v", g.FS, i, op, err)
			}
			continue
		}
		if op.Kind == cases.Read || op.Kind == cases.MapRead {
			rb, ok := m.ReadBacks()[i]
			require.True(t, ok, "%s op %d %s: no read-back", g.FS, i, op)
			if want := o.read(op); !bytes.Equal(want, rb.Data) {
				t.Fatalf("%s bs=%d op %d %s: read-back differs from the POSIX oracle at byte %d\nops:\n%s", g.FS, g.BlockSize, i, op, firstDiff(want, rb.Data), opsText(ops[:i+1]))
			}
		}
		if ret, ok := m.ExpectedReturn(i); ok && ret != op.Len {
			// A RWF_NOWAIT write the model stops: EAGAIN, or the
			// bytes before the folio that would have been read.
			if ret > 0 {
				o.write(i, op.Off, ret)
			}
		} else {
			o.apply(i, op)
		}
		if int64(len(o.buf)) != m.Size() {
			t.Fatalf("%s bs=%d after op %d %s: size %d, oracle %d\nops:\n%s", g.FS, g.BlockSize, i, op, m.Size(), len(o.buf), opsText(ops[:i+1]))
		}
		if got := m.Content(); !bytes.Equal(o.buf, got) {
			t.Fatalf("%s bs=%d after op %d %s: content differs from the POSIX oracle at byte %d\nops:\n%s", g.FS, g.BlockSize, i, op, firstDiff(o.buf, m.Content()), opsText(ops[:i+1]))
		}
		checkInvariants(t, m, fmt.Sprintf("%s bs=%d after op %d %s", g.FS, g.BlockSize, i, op))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func opsText(ops []cases.Op) string {
	s := ""
	for i, op := range ops {
		s += fmt.Sprintf("  %d: %s\n", i, op)
	}
	return s
}

// checkInvariants checks the model's own bookkeeping: content past EOF is
// zero, stuffed files fit in the dinode, Data blocks hold what Content says
// and dirty blocks are uptodate.
func checkInvariants(t testing.TB, m *Model, where string) {
	if i := firstNonZero(m.content[m.size:]); i >= 0 {
		t.Fatalf("%s: model content byte %d past EOF %d is %#x", where, m.size+int64(i), m.size, m.content[m.size+int64(i)])
	}
	if st, ok := m.Stuffed(); ok && st && m.size > m.bs-gfs2DinodeSize {
		t.Fatalf("%s: stuffed with size %d > %d", where, m.size, m.bs-gfs2DinodeSize)
	}
	for i, b := range m.blocks {
		if b.flags&fDirty != 0 && b.flags&fUptodate == 0 {
			t.Fatalf("%s: block %d dirty but not uptodate", where, i)
		}
	}
	for _, b := range m.Blocks() {
		zero := m.blockAllZero(b.Index)
		switch b.State {
		case MustBeHole, ReadsZero, AllocatedZero:
			if !zero {
				t.Fatalf("%s: %s but content is not zero", where, b)
			}
		case Data:
			if zero {
				t.Fatalf("%s: %s but content is all zero (should be AllocatedZero)", where, b)
			}
		}
		if !zero && b.LastOp < 0 {
			t.Fatalf("%s: %s holds data but names no writer", where, b)
		}
	}
}

// TestPropertyContentMatchesPOSIXOracle runs random sequences on every
// geometry and compares Content() with the oracle after each op.
func TestPropertyContentMatchesPOSIXOracle(t *testing.T) {
	for _, g := range geometries {
		t.Run(fmt.Sprintf("%s-%d", g.FS, g.BlockSize), func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(g.BlockSize) + int64(len(g.FS))))
			for seq := 0; seq < 150; seq++ {
				ops := make([]cases.Op, 1+r.Intn(30))
				span := int64(1+r.Intn(4)) * 8192
				for i := range ops {
					ops[i] = randomOp(r, span, g.BlockSize)
				}
				checkAgainstOracle(t, g, ops)
			}
		})
	}
}

var zeros = make([]byte, 64<<10)

// firstNonZero returns the index of the first non-zero byte of b, or -1.
func firstNonZero(b []byte) int {
	for base := 0; base < len(b); base += len(zeros) {
		c := b[base:min(base+len(zeros), len(b))]
		if bytes.Equal(c, zeros[:len(c)]) {
			continue
		}
		for i, v := range c {
			if v != 0 {
				return base + i
			}
		}
	}
	return -1
}
