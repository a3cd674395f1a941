package logwrites

import (
	"encoding/binary"
	"hash/crc32"
)

// A Marker tells the host, from inside the write log, how far the guest
// had got: the guest writes one to the raw device, past the filesystem's
// end, with O_DIRECT|O_DSYNC after every op returns. QEMU cannot take
// dm-log-writes marks from the guest, but the marker write is in the log
// in order with every other write, so any entry after it happened after
// the op returned.
type Marker struct {
	// Seq counts markers on the disk from 1.
	Seq uint32
	// File is the case's index in the disk's plan; Op the index of the op
	// that returned, or -1 once the case's file exists durably (the set-up
	// before op 0).
	File uint32
	Op   int32
}

// MarkerSize is how many bytes a marker write is: one page, so an
// O_DIRECT write from a page-aligned buffer needs nothing else aligned.
const MarkerSize = 4096

var markerMagic = [8]byte{'I', 'O', 'M', 'C', 'M', 'A', 'R', 'K'}

// Encode returns the marker's MarkerSize bytes.
func (m Marker) Encode() []byte {
	b := make([]byte, MarkerSize)
	copy(b, markerMagic[:])
	binary.LittleEndian.PutUint32(b[8:], m.Seq)
	binary.LittleEndian.PutUint32(b[12:], m.File)
	binary.LittleEndian.PutUint32(b[16:], uint32(m.Op))
	binary.LittleEndian.PutUint32(b[20:], crc32.ChecksumIEEE(b[:20]))
	return b
}

// DecodeMarker reads a marker written by Encode; ok is false for anything
// else.
func DecodeMarker(b []byte) (m Marker, ok bool) {
	if len(b) < 24 || [8]byte(b[:8]) != markerMagic || binary.LittleEndian.Uint32(b[20:]) != crc32.ChecksumIEEE(b[:20]) {
		return Marker{}, false
	}
	return Marker{
		Seq:  binary.LittleEndian.Uint32(b[8:]),
		File: binary.LittleEndian.Uint32(b[12:]),
		Op:   int32(binary.LittleEndian.Uint32(b[16:])),
	}, true
}
