package reference

import (
	"encoding/binary"
	"testing"

	"github.com/iomapct/iomapct/cases"
)

// decodeOps turns fuzz bytes into a geometry and an op sequence: byte 0
// picks the geometry, then each 7-byte record is kind, offset (16 bits,
// scaled), length (16 bits), and an extra byte for Copied/KeepSize/Segs.
func decodeOps(data []byte) (Geometry, []cases.Op) {
	if len(data) == 0 {
		return geometries[0], nil
	}
	g := geometries[int(data[0])%len(geometries)]
	data = data[1:]
	var ops []cases.Op
	for len(data) >= 7 && len(ops) < 64 {
		k := cases.Kinds[int(data[0])%len(cases.Kinds)]
		off := int64(binary.LittleEndian.Uint16(data[1:3]))
		n := int64(binary.LittleEndian.Uint16(data[3:5])) % 20000
		x := data[5]
		scale := data[6]
		data = data[7:]
		if scale&1 != 0 {
			off = off * 8 % (1 << 18) // reach past the first folio sizes
		}
		op := cases.Op{Kind: k, Off: off, Len: n, KeepSize: x&1 != 0}
		switch k {
		case cases.ShortCopy:
			if op.Len == 0 {
				op.Len = 1
			}
			op.Copied = int64(x) * op.Len / 256
		case cases.Writev:
			if op.Len == 0 {
				op.Len = 1
			}
			a := 1 + op.Len*int64(x)/256
			if a >= op.Len {
				op.Segs = []int64{op.Len}
			} else {
				op.Segs = []int64{a, op.Len - a}
			}
		case cases.DirectWrite:
			op.Off, op.Len = roundDown(op.Off, 512), roundUp(op.Len, 512)
		}
		ops = append(ops, op)
	}
	return g, ops
}

// FuzzModel checks, for any op sequence, that Content() equals the POSIX
// oracle after every op and that the model's invariants hold.
func FuzzModel(f *testing.F) {
	f.Add([]byte{0, 0, 0x10, 0, 0x20, 0, 0, 0})
	f.Add([]byte{3, 0, 0xe8, 0x03, 0x88, 0x13, 0x80, 0, 4, 0x00, 0x10, 0x10, 0x00, 0x40, 0})
	f.Add([]byte{4, 0, 0x00, 0x00, 0x18, 0x03, 0, 0, 7, 0xdc, 0x05, 0, 0, 0, 0, 6, 0xb8, 0x0b, 0x70, 0x17, 1, 0})
	f.Add([]byte{6, 4, 0x00, 0x00, 0x00, 0x10, 0x80, 0, 8, 0x00, 0x20, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		g, ops := decodeOps(data)
		checkAgainstOracle(t, g, ops)
	})
}
