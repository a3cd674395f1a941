// Package logwrites reads and replays a write log in the dm-log-writes
// format (the kernel's Documentation/admin-guide/device-mapper/
// log-writes.rst), which QEMU's blklogwrites block driver writes: every
// write the guest sent to a disk, in the order the disk completed them,
// with its data, and every flush. Replaying a prefix of the log that ends
// at a flush gives one state the disk may hold after a power cut there.
//
// Layout (all fields little-endian): sector 0 holds the super block
// {magic u64, version u64, nr_entries u64, sectorsize u32}; from sector 1
// on, each entry is one sector {sector u64, nr_sectors u64, flags u64,
// data_len u64, zero padding}, followed by its data (nr_sectors sectors of
// the log's sector size) unless it is a discard. QEMU's driver
// (block/blklogwrites.c) writes flush entries with no data, never sets the
// FUA flag (the guest's FUA is emulated by virtio's block layer as a write
// and a flush), logs write-zeroes with zero data, and rewrites the super
// block's nr_entries on every flush: entries after the last flush may be
// present but uncounted, and are not needed for crash points at flushes.
package logwrites

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic and Version identify the format (dm-log-writes.c's WRITE_LOG_MAGIC
// and WRITE_LOG_VERSION).
const (
	Magic   = 0x6a736677736872
	Version = 1
)

// Entry flags (dm-log-writes.c).
const (
	FlagFlush    = 1 << 0
	FlagFUA      = 1 << 1
	FlagDiscard  = 1 << 2
	FlagMark     = 1 << 3
	FlagMetadata = 1 << 4
	knownFlags   = FlagFlush | FlagFUA | FlagDiscard | FlagMark | FlagMetadata
)

// Entry is one logged request.
type Entry struct {
	// Index is the entry's position in the log, from 0.
	Index int
	// Sector and NrSectors are in units of the log's sector size.
	Sector, NrSectors uint64
	Flags             uint64
	// DataOffset is the log-file byte offset of the entry's data (for a
	// mark: of its name).
	DataOffset int64
	// DataLen is the entry's data_len field (marks only; 0 for writes).
	DataLen uint64
}

// Flush reports whether the entry is a flush (alone or with a write).
func (e Entry) Flush() bool { return e.Flags&FlagFlush != 0 }

// Discard reports whether the entry is a discard.
func (e Entry) Discard() bool { return e.Flags&FlagDiscard != 0 }

// IsWrite reports whether the entry carries data for the device.
func (e Entry) IsWrite() bool { return e.NrSectors > 0 && e.Flags&(FlagDiscard|FlagMark) == 0 }

// Log is a parsed write log.
type Log struct {
	SectorSize int64
	Entries    []Entry
	r          io.ReaderAt
}

// FormatError says where a log is not in the dm-log-writes format.
type FormatError struct {
	Offset int64
	What   string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("write log: at byte %d: %s", e.Offset, e.What)
}

// maxSectorSize bounds the sector size as QEMU does (< 16 MiB).
const maxSectorSize = 1 << 24

// Read parses the super block and the nr_entries entries it counts.
// size is the log file's length: an entry that would reach past it is an
// error naming the entry.
func Read(r io.ReaderAt, size int64) (*Log, error) {
	var sb [28]byte
	if _, err := r.ReadAt(sb[:], 0); err != nil {
		return nil, &FormatError{0, fmt.Sprintf("no super block: %v", err)}
	}
	if m := binary.LittleEndian.Uint64(sb[0:]); m != Magic {
		return nil, &FormatError{0, fmt.Sprintf("bad magic %#x (want %#x)", m, uint64(Magic))}
	}
	if v := binary.LittleEndian.Uint64(sb[8:]); v != Version {
		return nil, &FormatError{8, fmt.Sprintf("unsupported version %d", v)}
	}
	n := binary.LittleEndian.Uint64(sb[16:])
	ss := int64(binary.LittleEndian.Uint32(sb[24:]))
	if ss < 32 || ss >= maxSectorSize || ss&(ss-1) != 0 {
		return nil, &FormatError{24, fmt.Sprintf("bad sector size %d", ss)}
	}
	if n > uint64(size/ss) {
		return nil, &FormatError{16, fmt.Sprintf("super block counts %d entries, more than the %d sectors of the log", n, size/ss)}
	}
	l := &Log{SectorSize: ss, r: r}
	off := ss
	var eb [32]byte
	for i := uint64(0); i < n; i++ {
		if off+ss > size {
			return nil, &FormatError{off, fmt.Sprintf("entry %d of %d past the end of the log (%d bytes)", i, n, size)}
		}
		if _, err := r.ReadAt(eb[:], off); err != nil {
			return nil, &FormatError{off, fmt.Sprintf("entry %d: %v", i, err)}
		}
		e := Entry{
			Index:      int(i),
			Sector:     binary.LittleEndian.Uint64(eb[0:]),
			NrSectors:  binary.LittleEndian.Uint64(eb[8:]),
			Flags:      binary.LittleEndian.Uint64(eb[16:]),
			DataLen:    binary.LittleEndian.Uint64(eb[24:]),
			DataOffset: off + ss,
		}
		if e.Flags&^knownFlags != 0 {
			return nil, &FormatError{off + 16, fmt.Sprintf("entry %d: unknown flags %#x", i, e.Flags)}
		}
		off += ss
		var data uint64
		switch {
		case e.Flags&FlagMark != 0:
			data = (e.DataLen + uint64(ss) - 1) / uint64(ss)
		case e.Flags&FlagDiscard == 0:
			data = e.NrSectors
		}
		if data > uint64((size-off)/ss) {
			return nil, &FormatError{off - ss, fmt.Sprintf("entry %d: %d data sectors reach past the end of the log (%d bytes)", i, data, size)}
		}
		off += int64(data) * ss
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// Data returns a write entry's bytes (or a mark's name).
func (l *Log) Data(e Entry) ([]byte, error) {
	n := int64(e.NrSectors) * l.SectorSize
	if e.Flags&FlagMark != 0 {
		n = int64(e.DataLen)
	} else if !e.IsWrite() {
		return nil, nil
	}
	b := make([]byte, n)
	if _, err := l.r.ReadAt(b, e.DataOffset); err != nil {
		return nil, fmt.Errorf("write log: entry %d data: %w", e.Index, err)
	}
	return b, nil
}

// ErrOutside is returned by Apply for a write past the device's end.
var ErrOutside = errors.New("write past the end of the device")

// Apply writes the data of entries [from, to) onto dev in log order.
// Flushes, marks and discards change nothing (a discarded range may read
// as anything afterwards; the filesystems here mount without discard).
func (l *Log) Apply(dev io.WriterAt, devSize int64, from, to int) error {
	for _, e := range l.Entries[from:to] {
		if !e.IsWrite() {
			continue
		}
		off := int64(e.Sector) * l.SectorSize
		b, err := l.Data(e)
		if err != nil {
			return err
		}
		if off < 0 || off+int64(len(b)) > devSize {
			return fmt.Errorf("write log: entry %d writes [%d, %d): %w (%d bytes)", e.Index, off, off+int64(len(b)), ErrOutside, devSize)
		}
		if _, err := dev.WriteAt(b, off); err != nil {
			return fmt.Errorf("write log: apply entry %d: %w", e.Index, err)
		}
	}
	return nil
}

// Flushes returns the indexes of the flush entries, in order.
func (l *Log) Flushes() []int {
	var out []int
	for _, e := range l.Entries {
		if e.Flush() {
			out = append(out, e.Index)
		}
	}
	return out
}

// Writer writes a log in the same format; tests use it to make logs, and it
// documents the layout Read expects.
type Writer struct {
	w          io.WriterAt
	sectorSize int64
	off        int64
	n          uint64
}

// NewWriter starts a log on w with the given sector size.
func NewWriter(w io.WriterAt, sectorSize int64) (*Writer, error) {
	lw := &Writer{w: w, sectorSize: sectorSize, off: sectorSize}
	return lw, lw.super()
}

func (lw *Writer) super() error {
	b := make([]byte, lw.sectorSize)
	binary.LittleEndian.PutUint64(b[0:], Magic)
	binary.LittleEndian.PutUint64(b[8:], Version)
	binary.LittleEndian.PutUint64(b[16:], lw.n)
	binary.LittleEndian.PutUint32(b[24:], uint32(lw.sectorSize))
	_, err := lw.w.WriteAt(b, 0)
	return err
}

func (lw *Writer) entry(sector, nr, flags uint64, data []byte) error {
	b := make([]byte, lw.sectorSize)
	binary.LittleEndian.PutUint64(b[0:], sector)
	binary.LittleEndian.PutUint64(b[8:], nr)
	binary.LittleEndian.PutUint64(b[16:], flags)
	if _, err := lw.w.WriteAt(b, lw.off); err != nil {
		return err
	}
	lw.off += lw.sectorSize
	if len(data) > 0 {
		if _, err := lw.w.WriteAt(data, lw.off); err != nil {
			return err
		}
		lw.off += int64(len(data))
	}
	lw.n++
	return lw.super()
}

// Write logs a write of data (a whole number of sectors) at byte offset off.
func (lw *Writer) Write(off int64, data []byte) error {
	if off%lw.sectorSize != 0 || int64(len(data))%lw.sectorSize != 0 {
		return fmt.Errorf("write log: write [%d, +%d) not aligned to %d", off, len(data), lw.sectorSize)
	}
	return lw.entry(uint64(off/lw.sectorSize), uint64(int64(len(data))/lw.sectorSize), 0, data)
}

// Flush logs a flush.
func (lw *Writer) Flush() error { return lw.entry(0, 0, FlagFlush, nil) }

// ApplyEntries writes the data of the listed entries (indexes, ascending)
// onto dev, as Apply does for a range: a disk with a volatile cache may
// have persisted any subset of the writes since its last flush.
func (l *Log) ApplyEntries(dev io.WriterAt, devSize int64, idx []int) error {
	for _, i := range idx {
		if i < 0 || i >= len(l.Entries) {
			return fmt.Errorf("write log: no entry %d", i)
		}
		if err := l.Apply(dev, devSize, i, i+1); err != nil {
			return err
		}
	}
	return nil
}

// WritesBetween returns the indexes of the write entries in [from, to).
func (l *Log) WritesBetween(from, to int) []int {
	var out []int
	for _, e := range l.Entries[from:to] {
		if e.IsWrite() {
			out = append(out, e.Index)
		}
	}
	return out
}
