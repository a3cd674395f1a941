package xfs

import (
	"errors"
	"fmt"
	"io"
)

// Options tune Open.
type Options struct {
	// MaxFileSize bounds what ReadFile will allocate (default 1 GiB): a
	// corrupt size must not exhaust memory.
	MaxFileSize int64
}

const defaultMaxFileSize = 1 << 30

// FS is an open XFS v5 image.
type FS struct {
	r  io.ReaderAt
	sb *Superblock
	// skipCRC lets the fuzz target reach the parsers behind the checksums.
	skipCRC     bool
	maxFileSize int64
	// unmap releases the mapping of an image opened with OpenImage.
	unmap func() error
}

// Open reads and validates the superblock of the image in r.
func Open(r io.ReaderAt) (*FS, error) { return OpenOptions(r, Options{}) }

// OpenOptions is Open with explicit limits.
func OpenOptions(r io.ReaderAt, o Options) (*FS, error) { return open(r, o, false) }

func open(r io.ReaderAt, o Options, skipCRC bool) (*FS, error) {
	buf := make([]byte, 32768) // the largest sector; short images are caught below
	n, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("xfs: reading superblock: %w", err)
	}
	buf = buf[:n]
	sb, err := parseSuperblock(buf, skipCRC)
	if err != nil {
		return nil, err
	}
	fs := &FS{r: r, sb: sb, skipCRC: skipCRC, maxFileSize: o.MaxFileSize}
	if fs.maxFileSize <= 0 {
		fs.maxFileSize = defaultMaxFileSize
	}
	// The image must actually hold every block the superblock claims.
	last := int64(sb.DBlocks)*int64(sb.BlockSize) - 1
	if _, err := r.ReadAt(make([]byte, 1), last); err != nil {
		return nil, corrupt(8, "superblock: dblocks %d (%d bytes) but the image ends earlier: %v",
			sb.DBlocks, last+1, err)
	}
	if _, err := fs.inodeOffset(sb.RootIno); err != nil {
		return nil, corrupt(56, "superblock: root inode %d invalid: %v", sb.RootIno, err)
	}
	return fs, nil
}

// Superblock returns the parsed primary superblock.
func (fs *FS) Superblock() Superblock { return *fs.sb }

// FSType implements ondisk.Reader.
func (fs *FS) FSType() string { return fsType }

// BlockSize implements ondisk.Reader.
func (fs *FS) BlockSize() int { return int(fs.sb.BlockSize) }
