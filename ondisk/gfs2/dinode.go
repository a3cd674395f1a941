package gfs2

import (
	"fmt"
)

// dinode is a decoded gfs2_dinode plus its block.
type dinode struct {
	addr    uint64
	off     int64 // image offset of the dinode block
	buf     []byte
	mode    uint32
	size    uint64
	flags   uint32
	height  int
	depth   int
	entries uint32
}

func (d *dinode) stuffed() bool { return d.height == 0 }

// dinode reads and checks the dinode at block addr, with the checks of the
// kernel's gfs2_dinode_in.
func (f *FS) dinode(addr uint64) (*dinode, error) {
	if addr >= f.blocks || addr <= uint64(sbAddr)/f.bs {
		return nil, fmt.Errorf("gfs2: inode %d outside the filesystem (%d blocks)", addr, f.blocks)
	}
	off := f.blockOff(addr)
	b := make([]byte, f.bs)
	if err := f.readAt(b, off, fmt.Sprintf("dinode %d", addr)); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("dinode %d", addr)
	if err := checkHeader(b, off, typeDI, what); err != nil {
		return nil, err
	}
	d := &dinode{
		addr:    addr,
		off:     off,
		buf:     b,
		mode:    be32(b, diMode),
		size:    be64(b, diSize),
		flags:   be32(b, diFlags),
		height:  int(be16(b, diHeight)),
		depth:   int(be16(b, diDepth)),
		entries: be32(b, diEntries),
	}
	if a := be64(b, diNumAddr); a != addr {
		return nil, corrupt(off+diNumAddr, "%s: di_num.no_addr is %d", what, a)
	}
	if d.height > f.maxHeight {
		return nil, corrupt(off+diHeight, "%s: di_height %d exceeds the maximum %d", what, d.height, f.maxHeight)
	}
	if d.depth > maxDirDepth {
		return nil, corrupt(off+diDepth, "%s: di_depth %d exceeds %d", what, d.depth, maxDirDepth)
	}
	if d.size > 1<<63-1 {
		return nil, corrupt(off+diSize, "%s: di_size %d does not fit a file offset", what, d.size)
	}
	if d.stuffed() && d.size > f.bs-dinodeSize {
		return nil, corrupt(off+diSize, "%s: stuffed but di_size %d exceeds %d", what, d.size, f.bs-dinodeSize)
	}
	if d.flags&FlagExHash != 0 {
		if d.mode&modeFmt != modeDir {
			return nil, corrupt(off+diFlags, "%s: exhash flag on a non-directory (mode %#o)", what, d.mode)
		}
		// sd_hash_ptrs = bs/16: the hash table fills half a block at least.
		if 1<<d.depth < f.bs/16 {
			return nil, corrupt(off+diDepth, "%s: exhash di_depth %d below %d", what, d.depth, ilog2(f.bs/16))
		}
		if d.size != 8<<d.depth {
			return nil, corrupt(off+diSize, "%s: exhash di_size %d, want %d for depth %d", what, d.size, 8<<d.depth, d.depth)
		}
	} else if d.mode&modeFmt == modeDir && !d.stuffed() {
		return nil, corrupt(off+diHeight, "%s: linear directory is not stuffed (height %d)", what, d.height)
	}
	return d, nil
}

func ilog2(n uint64) int {
	l := -1
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}
