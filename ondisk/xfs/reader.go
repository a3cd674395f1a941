package xfs

import (
	"fmt"
	"slices"

	"github.com/iomapct/iomapct/ondisk"
)

var _ ondisk.Reader = (*FS)(nil)

// loadFile reads inode ino and its full, validated block map.
func (fs *FS) loadFile(ino uint64) (*Dinode, []ondisk.Extent, BmapInfo, error) {
	d, err := fs.Dinode(ino)
	if err != nil {
		return nil, nil, BmapInfo{}, err
	}
	if d.Flags&diflagRealtime != 0 {
		return nil, nil, BmapInfo{}, fmt.Errorf("xfs: inode %d is a realtime file: its data fork maps realtime-device extents, which this reader does not support", ino)
	}
	ext, info, err := fs.blockMap(d)
	if err != nil {
		return nil, nil, BmapInfo{}, err
	}
	return d, ext, info, nil
}

// Inode implements ondisk.Reader. Extents lists the data fork as stored,
// including blocks past EOF (speculative preallocation, fallocate
// KEEP_SIZE) and blocks shared by reflink; Physical is a linear block
// number (agno*agblocks + agbno), not an XFS fsblock number.
func (fs *FS) Inode(ino uint64) (*ondisk.Inode, error) {
	d, ext, _, err := fs.loadFile(ino)
	if err != nil {
		return nil, err
	}
	return &ondisk.Inode{
		Ino:     ino,
		Size:    d.Size,
		Mode:    uint32(d.Mode),
		Flags:   uint64(d.Flags),
		Inline:  d.Format == FmtLocal,
		Extents: ext,
	}, nil
}

// Bmap returns how inode ino's data fork is organised (format, btree
// height and blocks) after validating it.
func (fs *FS) Bmap(ino uint64) (BmapInfo, error) {
	_, _, info, err := fs.loadFile(ino)
	return info, err
}

// ReadFile implements ondisk.Reader: Size bytes, holes and unwritten
// extents as zeros, LOCAL (directory/symlink) data from the inode.
func (fs *FS) ReadFile(ino uint64) ([]byte, error) {
	return fs.AppendFile(nil, ino)
}

// AppendFile appends what ReadFile returns to dst. Reusing dst across
// calls spares allocating (and page-faulting in) a new buffer per file,
// which dominates reading a whole image.
func (fs *FS) AppendFile(dst []byte, ino uint64) ([]byte, error) {
	d, ext, _, err := fs.loadFile(ino)
	if err != nil {
		return dst, err
	}
	if d.Size > fs.maxFileSize {
		return dst, fmt.Errorf("xfs: inode %d: size %d exceeds the reader's limit of %d bytes", ino, d.Size, fs.maxFileSize)
	}
	if d.Format == FmtLocal {
		return append(dst, d.dataFork[:d.Size]...), nil
	}
	n := len(dst)
	dst = slices.Grow(dst, int(d.Size))[:n+int(d.Size)]
	out := dst[n:]
	bs := int64(fs.sb.BlockSize)
	// Work in blocks first: Logical*bs of a corrupt record may overflow.
	sizeBlocks := uint64((d.Size + bs - 1) / bs)
	var done int64 // out[:done] is filled
	for _, e := range ext {
		if e.Logical >= sizeBlocks {
			break // sorted: everything after is past EOF
		}
		if e.Kind != ondisk.Data {
			continue // unwritten: zeroed with the holes
		}
		start := int64(e.Logical) * bs
		end := min(int64(min(e.Logical+e.Count, sizeBlocks))*bs, d.Size)
		clear(out[done:start])
		what := fmt.Sprintf("inode %d data at file offset %d", ino, start)
		if err := fs.readAt(out[start:end], int64(e.Physical)*bs, what); err != nil {
			return dst[:n], err
		}
		done = end
	}
	clear(out[done:])
	return dst, nil
}

// EOFTail implements ondisk.Reader: the stored bytes from Size to the end
// of the block holding EOF, if that block is written data.
func (fs *FS) EOFTail(ino uint64) ([]byte, error) {
	d, ext, _, err := fs.loadFile(ino)
	if err != nil {
		return nil, err
	}
	if d.Format == FmtLocal {
		return append([]byte(nil), d.dataFork[d.Size:]...), nil
	}
	bs := int64(fs.sb.BlockSize)
	if d.Size%bs == 0 {
		return []byte{}, nil
	}
	lblk := uint64(d.Size / bs)
	for _, e := range ext {
		if lblk < e.Logical || lblk >= e.Logical+e.Count {
			continue
		}
		if e.Kind != ondisk.Data {
			break
		}
		tail := make([]byte, bs-d.Size%bs)
		off := int64(e.Physical+lblk-e.Logical)*bs + d.Size%bs
		if err := fs.readAt(tail, off, fmt.Sprintf("inode %d EOF block", ino)); err != nil {
			return nil, err
		}
		return tail, nil
	}
	return []byte{}, nil
}

// RawBlock implements ondisk.Reader; n is a linear block number.
func (fs *FS) RawBlock(n uint64) ([]byte, error) {
	if n >= fs.sb.DBlocks {
		return nil, fmt.Errorf("xfs: block %d beyond dblocks %d", n, fs.sb.DBlocks)
	}
	buf := make([]byte, fs.sb.BlockSize)
	if err := fs.readAt(buf, int64(n)*int64(fs.sb.BlockSize), fmt.Sprintf("block %d", n)); err != nil {
		return nil, err
	}
	return buf, nil
}
