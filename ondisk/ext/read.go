package ext

import (
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// defaultMaxRead caps ReadFile when Options.MaxReadSize is zero: a corrupt
// size field must not make the reader allocate terabytes.
const defaultMaxRead = 1 << 30

func (fs *FS) maxRead() int64 {
	if fs.opts.MaxReadSize > 0 {
		return fs.opts.MaxReadSize
	}
	return defaultMaxRead
}

// ReadFile returns the file's Size bytes: holes and unwritten extents read
// as zeros, inline data (and fast symlink targets) come from the inode.
func (fs *FS) ReadFile(ino uint64) ([]byte, error) {
	info, err := fs.Stat(ino)
	if err != nil {
		return nil, err
	}
	return fs.readData(info)
}

func (fs *FS) readData(info *InodeInfo) ([]byte, error) {
	if info.Size > fs.maxRead() {
		return nil, fmt.Errorf("%s: inode %d: size %d exceeds the read limit %d", fs.fsName(), info.Ino, info.Size, fs.maxRead())
	}
	buf := make([]byte, info.Size)
	if info.Inline {
		copy(buf, info.inline)
		return buf, nil
	}
	bs := uint64(fs.sb.blockSize)
	size := uint64(info.Size)
	for _, e := range info.Extents {
		if e.Kind != ondisk.Data {
			continue
		}
		start := e.Logical * bs
		if start >= size {
			break // extents are sorted; the rest is past EOF
		}
		n := min(e.Count*bs, size-start)
		if err := fs.readAtf(buf[start:start+n], int64(e.Physical*bs), "inode %d data blocks %d+%d", info.Ino, e.Physical, e.Count); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// EOFTail returns the on-disk bytes of the block holding EOF from Size to
// the end of that block, or for an inline file from Size to the end of the
// inline area. Empty when Size is block aligned or the EOF block is a hole
// or unwritten.
func (fs *FS) EOFTail(ino uint64) ([]byte, error) {
	info, err := fs.Stat(ino)
	if err != nil {
		return nil, err
	}
	if info.Inline {
		if info.Size >= int64(len(info.inline)) {
			return []byte{}, nil
		}
		return append([]byte{}, info.inline[info.Size:]...), nil
	}
	bs := uint64(fs.sb.blockSize)
	size := uint64(info.Size)
	if size%bs == 0 {
		return []byte{}, nil
	}
	lblk := size / bs
	for _, e := range info.Extents {
		if lblk < e.Logical || lblk >= e.Logical+e.Count {
			continue
		}
		if e.Kind != ondisk.Data {
			return []byte{}, nil
		}
		blk, err := fs.RawBlock(e.Physical + lblk - e.Logical)
		if err != nil {
			return nil, err
		}
		return blk[size%bs:], nil
	}
	return []byte{}, nil
}
