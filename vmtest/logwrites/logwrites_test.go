package logwrites

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memFile is an in-memory io.ReaderAt/io.WriterAt.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := int(off) + len(p); end > len(m.b) {
		m.b = append(m.b, make([]byte, end-len(m.b))...)
	}
	return copy(m.b[off:], p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.b).ReadAt(p, off)
}

func sectors(v byte, n int) []byte { return bytes.Repeat([]byte{v}, 512*n) }

// A log made by Writer reads back entry by entry, applies in order (a later
// write over an earlier one wins), and yields a crash point per flush that
// follows a write, with the last marker before it.
func TestWriteReadApplyCrashPoints(t *testing.T) {
	f := &memFile{}
	w, err := NewWriter(f, 512)
	require.NoError(t, err)
	const markerOff = 64 * 512
	require.NoError(t, w.Write(0, sectors(1, 2)))                                   // 0
	require.NoError(t, w.Flush())                                                   // 1: point, no marker
	require.NoError(t, w.Flush())                                                   // 2: nothing new
	require.NoError(t, w.Write(512, sectors(2, 1)))                                 // 3
	require.NoError(t, w.Write(markerOff, Marker{Seq: 1, File: 0, Op: 3}.Encode())) // 4
	require.NoError(t, w.Flush())                                                   // 5: point, marker 1
	require.NoError(t, w.Write(1024, sectors(3, 1)))                                // 6: unflushed

	l, err := Read(f, int64(len(f.b)))
	require.NoError(t, err)
	require.Len(t, l.Entries, 7)
	assert.Equal(t, []int{1, 2, 5}, l.Flushes())
	assert.Equal(t, uint64(1), l.Entries[3].Sector)

	pts, err := l.CrashPoints(markerOff)
	require.NoError(t, err)
	m1 := Marker{Seq: 1, File: 0, Op: 3}
	assert.Equal(t, []CrashPoint{
		// Marker 1 was written before flush 5 completed: the op it names
		// may have returned while only entry 0 was durable.
		{Entry: 1, Writes: 1, Returned: m1},
		{Entry: 5, Applied: m1, Returned: m1, Writes: 3},
		{Entry: 7, Applied: m1, Returned: m1, Writes: 4},
	}, pts)

	dev := &memFile{b: make([]byte, markerOff+MarkerSize)}
	require.NoError(t, l.Apply(dev, int64(len(dev.b)), 0, pts[0].Entry))
	assert.Equal(t, sectors(1, 2), dev.b[:1024])
	require.NoError(t, l.Apply(dev, int64(len(dev.b)), pts[0].Entry, pts[1].Entry))
	assert.Equal(t, append(sectors(1, 1), sectors(2, 1)...), dev.b[:1024])
	assert.Equal(t, byte(0), dev.b[1024])
	require.NoError(t, l.Apply(dev, int64(len(dev.b)), pts[1].Entry, pts[2].Entry))
	assert.Equal(t, sectors(3, 1), dev.b[1024:1536])

	small := &memFile{b: make([]byte, 1024)}
	assert.True(t, errors.Is(l.Apply(small, 1024, 0, 7), ErrOutside))
}

func TestMarkerRoundTripAndRejects(t *testing.T) {
	m := Marker{Seq: 7, File: 3, Op: -1}
	got, ok := DecodeMarker(m.Encode())
	require.True(t, ok)
	assert.Equal(t, m, got)
	b := m.Encode()
	b[12] ^= 1
	_, ok = DecodeMarker(b)
	assert.False(t, ok, "a corrupted marker must not decode")
	_, ok = DecodeMarker(sectors(0, 8))
	assert.False(t, ok)
}

// A write over the marker area that is not a marker, and a skipped marker,
// are errors naming the entry.
func TestCrashPointsRejectForeignWritesAndLostMarkers(t *testing.T) {
	f := &memFile{}
	w, _ := NewWriter(f, 512)
	require.NoError(t, w.Write(8*512, sectors(9, 8)))
	l, err := Read(f, int64(len(f.b)))
	require.NoError(t, err)
	_, err = l.CrashPoints(8 * 512)
	assert.ErrorContains(t, err, "entry 0 writes [4096, 8192), over the marker area")

	f = &memFile{}
	w, _ = NewWriter(f, 512)
	require.NoError(t, w.Write(8*512, Marker{Seq: 2}.Encode()))
	l, err = Read(f, int64(len(f.b)))
	require.NoError(t, err)
	_, err = l.CrashPoints(8 * 512)
	assert.ErrorContains(t, err, "marker 2 after marker 0")
}

func TestReadErrors(t *testing.T) {
	f := &memFile{}
	w, _ := NewWriter(f, 512)
	require.NoError(t, w.Write(0, sectors(1, 4)))
	full := append([]byte(nil), f.b...)

	_, err := Read(bytes.NewReader(full[:1024]), 1024)
	assert.ErrorContains(t, err, "entry 0: 4 data sectors reach past the end")

	bad := append([]byte(nil), full...)
	bad[0] ^= 1
	_, err = Read(bytes.NewReader(bad), int64(len(bad)))
	assert.ErrorContains(t, err, "bad magic")

	bad = append([]byte(nil), full...)
	bad[512+16] = 0x80
	_, err = Read(bytes.NewReader(bad), int64(len(bad)))
	assert.ErrorContains(t, err, "unknown flags 0x80")
}

// Entries past the super block's count (QEMU rewrites it only on flushes)
// are not read.
func TestReadStopsAtCountedEntries(t *testing.T) {
	f := &memFile{}
	w, _ := NewWriter(f, 512)
	require.NoError(t, w.Write(0, sectors(1, 1)))
	require.NoError(t, w.Flush())
	n := append([]byte(nil), f.b[:512]...)
	require.NoError(t, w.Write(0, sectors(2, 1)))
	copy(f.b, n) // the super block as of the flush
	l, err := Read(f, int64(len(f.b)))
	require.NoError(t, err)
	assert.Len(t, l.Entries, 2)
}

func FuzzRead(f *testing.F) {
	m := &memFile{}
	w, _ := NewWriter(m, 512)
	w.Write(0, sectors(1, 2))
	w.Flush()
	w.Write(4096, Marker{Seq: 1}.Encode())
	f.Add(m.b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FormatError", err)
			}
			return
		}
		// Whatever parsed must be readable and replayable without a panic.
		for _, e := range l.Entries {
			if _, err := l.Data(e); err != nil {
				t.Fatalf("entry %d parsed but its data does not read: %v", e.Index, err)
			}
		}
		l.CrashPoints(4096)
		dev := &memFile{b: make([]byte, 1<<16)}
		l.Apply(dev, int64(len(dev.b)), 0, len(l.Entries))
	})
}

// The log file on disk reads like the in-memory one.
func TestReadFromFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	fh, err := os.Create(p)
	require.NoError(t, err)
	w, _ := NewWriter(fh, 4096)
	require.NoError(t, w.Write(8192, bytes.Repeat([]byte{5}, 4096)))
	require.NoError(t, w.Flush())
	st, _ := fh.Stat()
	l, err := Read(fh, st.Size())
	require.NoError(t, err)
	assert.Equal(t, int64(4096), l.SectorSize)
	assert.Equal(t, uint64(2), l.Entries[0].Sector)
	fh.Close()
}

func TestApplyEntriesAndWritesBetween(t *testing.T) {
	f := &memFile{}
	w, _ := NewWriter(f, 512)
	require.NoError(t, w.Write(0, sectors(1, 1)))
	require.NoError(t, w.Flush())
	require.NoError(t, w.Write(512, sectors(2, 1)))
	require.NoError(t, w.Write(1024, sectors(3, 1)))
	require.NoError(t, w.Flush())
	l, err := Read(f, int64(len(f.b)))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, l.WritesBetween(1, 4))
	dev := &memFile{b: make([]byte, 2048)}
	require.NoError(t, l.ApplyEntries(dev, 2048, []int{3}))
	assert.Equal(t, byte(0), dev.b[512], "entry 2 left out")
	assert.Equal(t, byte(3), dev.b[1024])
	assert.Error(t, l.ApplyEntries(dev, 2048, []int{9}))
}
