package gfs2

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"

	"github.com/iomapct/iomapct/ondisk"
)

// Inum is an on-disk gfs2_inum.
type Inum struct {
	FormalIno uint64
	Addr      uint64
}

// Superblock holds the gfs2_sb fields the reader uses or reports.
type Superblock struct {
	FSFormat   uint32
	BlockSize  uint32
	BlockShift uint32
	MasterDir  Inum
	RootDir    Inum
	LockProto  string
	LockTable  string
	UUID       [16]byte
}

// DefaultMaxReadSize bounds the buffers ReadFile allocates, so a corrupt
// di_size cannot make the reader allocate without limit.
const DefaultMaxReadSize = 1 << 30

// FS is an open gfs2 image.
type FS struct {
	r  io.ReaderAt
	sb Superblock
	bs uint64

	diptrs    uint64 // pointers in a dinode: (bs-232)/8
	inptrs    uint64 // pointers in an indirect block: (bs-24)/8
	maxHeight int    // sd_max_height

	// blocks is the filesystem size in blocks: the end of the last
	// resource group once the rindex is read, the image size before.
	blocks uint64
	rgrps  []Rgrp

	// MaxReadSize is the largest file ReadFile will return.
	MaxReadSize int64
}

var _ ondisk.Reader = (*FS)(nil)

// sizer is implemented by *bytes.Reader and *io.SectionReader; it lets Open bound block numbers before the rindex is
// read.
type sizer interface{ Size() int64 }

// statter is *os.File.
type statter interface{ Stat() (os.FileInfo, error) }

// imageSize is the size of r when r can tell it.
func imageSize(r io.ReaderAt) (int64, bool) {
	switch v := r.(type) {
	case sizer:
		return v.Size(), true
	case statter:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size(), true
		}
	}
	return 0, false
}

// unknownImageBlocks bounds block numbers when the reader cannot tell its
// size: 2^48 blocks is beyond any gfs2 the kernel accepts.
const unknownImageBlocks = 1 << 48

// Open reads and checks the superblock, the master and root directory
// dinodes, the rindex and every resource group header. Format violations
// are *ondisk.CorruptError naming the image offset.
func Open(r io.ReaderAt) (*FS, error) {
	f := &FS{r: r, MaxReadSize: DefaultMaxReadSize}
	if err := f.readSuper(); err != nil {
		return nil, err
	}
	if err := f.checkSystemDir(f.sb.MasterDir, "master directory"); err != nil {
		return nil, err
	}
	if err := f.checkSystemDir(f.sb.RootDir, "root directory"); err != nil {
		return nil, err
	}
	if err := f.readRindex(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *FS) readSuper() error {
	b := make([]byte, sbSize)
	if err := f.readAt(b, sbAddr, "superblock"); err != nil {
		return err
	}
	if err := checkHeader(b, sbAddr, typeSB, "superblock"); err != nil {
		return err
	}
	sb := Superblock{
		FSFormat:   be32(b, 24),
		BlockSize:  be32(b, 36),
		BlockShift: be32(b, 40),
		MasterDir:  Inum{be64(b, 48), be64(b, 56)},
		RootDir:    Inum{be64(b, 80), be64(b, 88)},
		LockProto:  cString(b[96:160]),
		LockTable:  cString(b[160:224]),
	}
	copy(sb.UUID[:], b[256:272])
	if sb.FSFormat < fsFormatMin || sb.FSFormat > fsFormatMax {
		return corrupt(sbAddr+24, "superblock: sb_fs_format %d not in [%d,%d]", sb.FSFormat, fsFormatMin, fsFormatMax)
	}
	if m := be32(b, 28); m != formatMulti {
		return corrupt(sbAddr+28, "superblock: sb_multihost_format %d, want %d", m, formatMulti)
	}
	// The kernel accepts 512..PAGE_SIZE; 64k is the largest page size.
	if sb.BlockSize < 512 || sb.BlockSize > 65536 || sb.BlockSize&(sb.BlockSize-1) != 0 {
		return corrupt(sbAddr+36, "superblock: sb_bsize %d is not a power of two in [512,65536]", sb.BlockSize)
	}
	if want := uint32(bits.TrailingZeros32(sb.BlockSize)); sb.BlockShift != want {
		return corrupt(sbAddr+40, "superblock: sb_bsize_shift %d, want %d", sb.BlockShift, want)
	}
	f.sb = sb
	f.bs = uint64(sb.BlockSize)
	f.diptrs = (f.bs - dinodeSize) / 8
	f.inptrs = (f.bs - metaHeaderSize) / 8
	f.maxHeight = maxHeight(f.bs, f.diptrs, f.inptrs)

	f.blocks = unknownImageBlocks
	if size, ok := imageSize(f.r); ok {
		f.blocks = uint64(size) / f.bs
	}
	sbBlock := uint64(sbAddr) / f.bs
	for _, d := range []struct {
		in  Inum
		off int64
	}{{sb.MasterDir, sbAddr + 56}, {sb.RootDir, sbAddr + 88}} {
		if d.in.Addr <= sbBlock || d.in.Addr >= f.blocks {
			return corrupt(d.off, "superblock: directory address %d outside (%d,%d)", d.in.Addr, sbBlock, f.blocks)
		}
	}
	return nil
}

// maxHeight mirrors gfs2_read_sb's sd_heightsize loop: the height at which
// the byte capacity of the tree stops fitting in 64 bits.
func maxHeight(bs, diptrs, inptrs uint64) int {
	size := bs * diptrs // sd_heightsize[1]
	x := 2
	for ; x <= maxMetaHeight; x++ {
		hi, lo := bits.Mul64(size, inptrs)
		if hi != 0 {
			break
		}
		size = lo
	}
	return min(x, maxMetaHeight)
}

// checkSystemDir reads the master or root directory dinode at Open time so
// a bad pointer in the superblock is reported as such.
func (f *FS) checkSystemDir(in Inum, what string) error {
	d, err := f.dinode(in.Addr)
	if err != nil {
		return fmt.Errorf("gfs2: %s: %w", what, err)
	}
	if d.mode&modeFmt != modeDir {
		return corrupt(d.off+diMode, "%s dinode %d: mode %#o is not a directory", what, in.Addr, d.mode)
	}
	return nil
}

// readAt reads len(b) bytes at off; a short read is corruption of the
// structure being read (the image ends inside it).
func (f *FS) readAt(b []byte, off int64, what string) error {
	n, err := f.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt(off, "%s: image ends after %d of %d bytes", what, n, len(b))
	}
	return fmt.Errorf("gfs2: reading %s at byte %d: %w", what, off, err)
}

// blockOff is the byte offset of block n; callers have checked n < f.blocks.
func (f *FS) blockOff(n uint64) int64 { return int64(n * f.bs) }

// checkBlock rejects a block pointer outside the filesystem. ref is the
// image offset of the pointer itself.
func (f *FS) checkBlock(n uint64, ref int64, what string) error {
	if n == 0 || n >= f.blocks {
		return corrupt(ref, "%s: block %d outside the filesystem (%d blocks)", what, n, f.blocks)
	}
	return nil
}

// readBlock reads block n after checking it lies inside the filesystem.
func (f *FS) readBlock(n uint64, ref int64, what string) ([]byte, error) {
	if err := f.checkBlock(n, ref, what); err != nil {
		return nil, err
	}
	b := make([]byte, f.bs)
	if err := f.readAt(b, f.blockOff(n), what); err != nil {
		return nil, err
	}
	return b, nil
}

// FSType reports "gfs2".
func (f *FS) FSType() string { return fsName }

// BlockSize is sb_bsize.
func (f *FS) BlockSize() int { return int(f.bs) }

// Superblock returns the decoded superblock.
func (f *FS) Superblock() Superblock { return f.sb }

// Blocks is the filesystem size in blocks (the end of the last resource
// group).
func (f *FS) Blocks() uint64 { return f.blocks }

// MaxHeight is the tallest metadata tree this block size allows
// (sd_max_height).
func (f *FS) MaxHeight() int { return f.maxHeight }

// RawBlock returns block n as stored in the image.
func (f *FS) RawBlock(n uint64) ([]byte, error) {
	if n >= f.blocks {
		return nil, fmt.Errorf("gfs2: block %d outside the filesystem (%d blocks)", n, f.blocks)
	}
	b := make([]byte, f.bs)
	if err := f.readAt(b, f.blockOff(n), fmt.Sprintf("block %d", n)); err != nil {
		return nil, err
	}
	return b, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
