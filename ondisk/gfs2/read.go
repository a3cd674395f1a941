package gfs2

import (
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// Inode reads dinode ino and its full block map.
func (f *FS) Inode(ino uint64) (*ondisk.Inode, error) {
	d, err := f.dinode(ino)
	if err != nil {
		return nil, err
	}
	m, err := f.blockMap(d)
	if err != nil {
		return nil, err
	}
	return &ondisk.Inode{
		Ino:         ino,
		Size:        int64(d.size),
		Mode:        d.mode,
		Flags:       uint64(d.flags),
		Inline:      d.stuffed(),
		JournalData: d.flags&FlagJData != 0,
		Extents:     m.Extents,
	}, nil
}

// ReadFile returns the file's di_size bytes as the page cache sees them:
// stuffed data from the dinode, data blocks raw, holes as zeros. Directory
// blocks carry jdata headers; use ReadDir for directories.
func (f *FS) ReadFile(ino uint64) ([]byte, error) {
	return f.ReadFileInto(ino, nil)
}

// ReadFileInto is ReadFile reusing buf's storage when it is large enough,
// which spares a caller reading many files the allocation and zeroing of a
// new buffer each time.
func (f *FS) ReadFileInto(ino uint64, buf []byte) ([]byte, error) {
	d, err := f.dinode(ino)
	if err != nil {
		return nil, err
	}
	return f.readData(d, buf)
}

func (f *FS) readData(d *dinode, buf []byte) ([]byte, error) {
	if int64(d.size) > f.MaxReadSize {
		return nil, fmt.Errorf("gfs2: dinode %d: di_size %d exceeds the read limit %d", d.addr, d.size, f.MaxReadSize)
	}
	fresh := uint64(cap(buf)) < d.size
	if fresh {
		buf = make([]byte, d.size)
	}
	out := buf[:d.size]
	if d.stuffed() {
		copy(out, d.buf[dinodeSize:])
		return out, nil
	}
	m, err := f.blockMap(d)
	if err != nil {
		return nil, err
	}
	// done is how far out holds the file: data copied or holes zeroed.
	done := uint64(0)
	for _, e := range m.Extents {
		start := e.Logical * f.bs
		if start >= d.size {
			break // extents are sorted; the rest lie past EOF
		}
		if !fresh {
			clear(out[done:start])
		}
		end := min((e.Logical+e.Count)*f.bs, d.size)
		if err := f.readAt(out[start:end], f.blockOff(e.Physical), "data blocks"); err != nil {
			return nil, fmt.Errorf("gfs2: dinode %d extent %d+%d: %w", d.addr, e.Physical, e.Count, err)
		}
		done = end
	}
	if !fresh {
		clear(out[done:])
	}
	return out, nil
}

// EOFTail returns the bytes stored after EOF in the block that holds it:
// for a stuffed file the rest of the dinode block, otherwise the rest of
// the EOF data block. It is empty when di_size is block aligned or the EOF
// block is a hole.
func (f *FS) EOFTail(ino uint64) ([]byte, error) {
	d, err := f.dinode(ino)
	if err != nil {
		return nil, err
	}
	if d.stuffed() {
		tail := make([]byte, f.bs-dinodeSize-d.size)
		copy(tail, d.buf[dinodeSize+d.size:])
		return tail, nil
	}
	if d.size%f.bs == 0 {
		return []byte{}, nil
	}
	m, err := f.blockMap(d)
	if err != nil {
		return nil, err
	}
	lb := d.size / f.bs
	for _, e := range m.Extents {
		if lb < e.Logical || lb >= e.Logical+e.Count {
			continue
		}
		b := make([]byte, f.bs-d.size%f.bs)
		off := f.blockOff(e.Physical+lb-e.Logical) + int64(d.size%f.bs)
		if err := f.readAt(b, off, fmt.Sprintf("dinode %d EOF block", d.addr)); err != nil {
			return nil, err
		}
		return b, nil
	}
	return []byte{}, nil
}
