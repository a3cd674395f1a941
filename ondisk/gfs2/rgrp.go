package gfs2

import (
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// Rgrp is one resource group as the rindex describes it.
type Rgrp struct {
	Addr     uint64 // ri_addr: the rgrp header block
	Length   uint32 // ri_length: header plus bitmap blocks
	Data0    uint64 // ri_data0: first block the bitmap covers
	Data     uint32 // ri_data: blocks the bitmap covers
	BitBytes uint32 // ri_bitbytes: bitmap bytes, 4 blocks a byte
	Flags    uint32 // rg_flags from the header
	Free     uint32 // rg_free from the header
	Dinodes  uint32 // rg_dinodes from the header
}

// State is a block's 2-bit allocation state in its resource group bitmap.
type State uint8

const (
	Free     State = 0 // GFS2_BLKST_FREE
	Used     State = 1 // GFS2_BLKST_USED: data or metadata
	Unlinked State = 2 // GFS2_BLKST_UNLINKED: a dinode awaiting deallocation
	Dinode   State = 3 // GFS2_BLKST_DINODE
)

func (s State) String() string {
	return [...]string{"free", "used", "unlinked", "dinode"}[s&3]
}

// Rgrps returns the resource groups in block order.
func (f *FS) Rgrps() []Rgrp { return append([]Rgrp(nil), f.rgrps...) }

// readRindex reads the rindex system file from the master directory and
// every rgrp header, and sets the filesystem size to the end of the last
// resource group.
func (f *FS) readRindex() error {
	ino, err := f.LookupMaster("rindex")
	if errors.Is(err, ErrNotFound) {
		return corrupt(f.blockOff(f.sb.MasterDir.Addr), "master directory %d has no rindex", f.sb.MasterDir.Addr)
	}
	if err != nil {
		return fmt.Errorf("gfs2: finding rindex: %w", err)
	}
	d, err := f.dinode(ino)
	if err != nil {
		return fmt.Errorf("gfs2: rindex: %w", err)
	}
	if d.mode&modeFmt != modeReg {
		return corrupt(d.off+diMode, "rindex dinode %d: mode %#o is not a regular file", ino, d.mode)
	}
	if d.size == 0 || d.size%rindexSize != 0 {
		return corrupt(d.off+diSize, "rindex dinode %d: di_size %d is not a positive multiple of %d", ino, d.size, rindexSize)
	}
	if !d.stuffed() {
		// The rindex is never sparse; requiring every block mapped also
		// bounds what a corrupt di_size makes Open allocate.
		m, err := f.blockMap(d)
		if err != nil {
			return fmt.Errorf("gfs2: rindex: %w", err)
		}
		next := uint64(0)
		for _, e := range m.Extents {
			if e.Logical != next {
				break
			}
			next += e.Count
		}
		if next*f.bs < d.size {
			return corrupt(d.off+diSize, "rindex dinode %d: di_size %d but only %d blocks mapped from the start", ino, d.size, next)
		}
	}
	raw, err := f.readData(d, nil)
	if err != nil {
		return fmt.Errorf("gfs2: rindex: %w", err)
	}
	imageBlocks := f.blocks
	n := len(raw) / rindexSize
	rgrps := make([]Rgrp, n)
	for i := range rgrps {
		b := raw[i*rindexSize:]
		rg := Rgrp{
			Addr:     be64(b, 0),
			Length:   be32(b, 8),
			Data0:    be64(b, 16),
			Data:     be32(b, 24),
			BitBytes: be32(b, 28),
		}
		// The rindex is file data: name the entry, the offset is of the
		// dinode that holds it.
		what := fmt.Sprintf("rindex entry %d", i)
		switch {
		case rg.Length == 0:
			return corrupt(d.off, "%s: ri_length 0", what)
		case rg.Addr >= imageBlocks:
			return corrupt(d.off, "%s: ri_addr %d past the image end (%d blocks)", what, rg.Addr, imageBlocks)
		case rg.Data0 != rg.Addr+uint64(rg.Length):
			return corrupt(d.off, "%s: ri_data0 %d does not follow the %d header blocks at %d", what, rg.Data0, rg.Length, rg.Addr)
		case uint64(rg.BitBytes)*4 != uint64(rg.Data):
			// compute_bitstructs: (bi_start + bi_bytes) * GFS2_NBBY == rd_data
			return corrupt(d.off, "%s: ri_bitbytes %d does not cover ri_data %d", what, rg.BitBytes, rg.Data)
		case uint64(rg.BitBytes) > f.bitmapCapacity(rg.Length):
			return corrupt(d.off, "%s: ri_bitbytes %d exceed the %d bitmap blocks", what, rg.BitBytes, rg.Length)
		case rg.Data0+uint64(rg.Data) > imageBlocks:
			return corrupt(d.off, "%s: data %d+%d past the image end (%d blocks)", what, rg.Data0, rg.Data, imageBlocks)
		case i > 0 && rg.Addr < rgrps[i-1].Data0+uint64(rgrps[i-1].Data):
			return corrupt(d.off, "%s: header %d overlaps the previous resource group", what, rg.Addr)
		case rg.Addr <= sbAddr/f.bs:
			return corrupt(d.off, "%s: header %d before the superblock's end", what, rg.Addr)
		}
		rgrps[i] = rg
	}
	last := rgrps[n-1]
	f.blocks = last.Data0 + uint64(last.Data)
	f.rgrps = rgrps
	for i := range f.rgrps {
		if err := f.readRgrpHeader(&f.rgrps[i]); err != nil {
			return err
		}
	}
	return nil
}

// bitmapCapacity is how many bitmap bytes length header blocks hold: the
// rest of the rgrp header block, then bs-24 per gfs2_meta_header block.
func (f *FS) bitmapCapacity(length uint32) uint64 {
	return f.bs - rgrpSize + uint64(length-1)*(f.bs-metaHeaderSize)
}

// readRgrpHeader checks a gfs2_rgrp against the rindex. Older mkfs left
// rg_data0/rg_data/rg_bitbytes zero, so only non-zero copies must agree.
func (f *FS) readRgrpHeader(rg *Rgrp) error {
	what := fmt.Sprintf("rgrp header %d", rg.Addr)
	b, err := f.readBlock(rg.Addr, f.blockOff(rg.Addr), what)
	if err != nil {
		return err
	}
	off := f.blockOff(rg.Addr)
	if err := checkHeader(b, off, typeRG, what); err != nil {
		return err
	}
	rg.Flags, rg.Free, rg.Dinodes = be32(b, 24), be32(b, 28), be32(b, 32)
	if d0 := be64(b, 48); d0 != 0 && d0 != rg.Data0 {
		return corrupt(off+48, "%s: rg_data0 %d, rindex says %d", what, d0, rg.Data0)
	}
	if n := be32(b, 56); n != 0 && n != rg.Data {
		return corrupt(off+56, "%s: rg_data %d, rindex says %d", what, n, rg.Data)
	}
	if n := be32(b, 60); n != 0 && n != rg.BitBytes {
		return corrupt(off+60, "%s: rg_bitbytes %d, rindex says %d", what, n, rg.BitBytes)
	}
	// rg_crc is gfs2_disk_hash of the gfs2_rgrp with the field zeroed
	// (gfs2_rgrp_out); images from before it existed leave it 0.
	if want := be32(b, 64); want != 0 {
		hdr := append([]byte(nil), b[:rgrpSize]...)
		clear(hdr[64:68])
		if got := crc32.ChecksumIEEE(hdr); got != want {
			return corrupt(off+64, "%s: rg_crc %#x, computed %#x", what, want, got)
		}
	}
	if rg.Free > rg.Data {
		return corrupt(off+28, "%s: rg_free %d exceeds rg_data %d", what, rg.Free, rg.Data)
	}
	return nil
}

// BlockState returns block n's allocation state from its resource group
// bitmap. Blocks outside every rgrp's data (the superblock area, rgrp
// headers and bitmaps) have no state and give an error.
func (f *FS) BlockState(n uint64) (State, error) {
	i := sort.Search(len(f.rgrps), func(i int) bool { return f.rgrps[i].Data0+uint64(f.rgrps[i].Data) > n })
	if i == len(f.rgrps) || n < f.rgrps[i].Data0 {
		return 0, fmt.Errorf("gfs2: block %d is not in any resource group's data", n)
	}
	blk, off, shift := f.bitmapPos(f.rgrps[i], n)
	rg := f.rgrps[i]
	b := make([]byte, 1)
	if blk != rg.Addr {
		hdr := make([]byte, metaHeaderSize)
		what := fmt.Sprintf("rgrp %d bitmap block %d", rg.Addr, blk)
		if err := f.readAt(hdr, f.blockOff(blk), what); err != nil {
			return 0, err
		}
		if err := checkHeader(hdr, f.blockOff(blk), typeRB, what); err != nil {
			return 0, err
		}
	}
	if err := f.readAt(b, f.blockOff(blk)+int64(off), fmt.Sprintf("rgrp %d bitmap", rg.Addr)); err != nil {
		return 0, err
	}
	return State(b[0]>>shift) & 3, nil
}

// bitmapPos locates block n's two bits in rg's bitmap: the block holding
// them, the byte offset in that block and the bit shift. The first bitmap
// bytes follow the gfs2_rgrp in the header block, the rest follow a meta
// header in each further block (compute_bitstructs).
func (f *FS) bitmapPos(rg Rgrp, n uint64) (blk, off uint64, shift uint) {
	rel := n - rg.Data0
	byteIdx := rel / 4
	shift = uint(rel%4) * 2
	if first := f.bs - rgrpSize; byteIdx < first {
		return rg.Addr, rgrpSize + byteIdx, shift
	}
	k := byteIdx - (f.bs - rgrpSize)
	return rg.Addr + 1 + k/(f.bs-metaHeaderSize), metaHeaderSize + k%(f.bs-metaHeaderSize), shift
}

// Bitmap returns the allocation state of every data block of rg, index i
// being block rg.Data0+i, reading the bitmap from the header block and the
// GFS2_METATYPE_RB blocks after it.
func (f *FS) Bitmap(rg Rgrp) ([]State, error) {
	if rg.Length == 0 || uint64(rg.BitBytes) > f.bitmapCapacity(rg.Length) || uint64(rg.BitBytes)*4 != uint64(rg.Data) {
		return nil, fmt.Errorf("gfs2: rgrp %d: inconsistent bitmap geometry", rg.Addr)
	}
	states := make([]State, 0, rg.Data)
	left := uint64(rg.BitBytes)
	for i := uint64(0); i < uint64(rg.Length) && left > 0; i++ {
		blk := rg.Addr + i
		what := fmt.Sprintf("rgrp %d bitmap block %d", rg.Addr, blk)
		b, err := f.readBlock(blk, f.blockOff(rg.Addr), what)
		if err != nil {
			return nil, err
		}
		start := uint64(metaHeaderSize)
		want := uint32(typeRB)
		if i == 0 {
			start, want = rgrpSize, typeRG
		}
		if err := checkHeader(b, f.blockOff(blk), want, what); err != nil {
			return nil, err
		}
		n := min(left, f.bs-start)
		for _, c := range b[start : start+n] {
			states = append(states, State(c&3), State(c>>2&3), State(c>>4&3), State(c>>6))
		}
		left -= n
	}
	return states, nil
}
