package gfs2

import (
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// BlockMap is the full mapping of one dinode: its data extents (sorted by
// logical block, contiguous runs merged, holes left out) and the indirect
// blocks of its metadata tree in the order they were walked.
type BlockMap struct {
	Extents  []ondisk.Extent
	Indirect []uint64
}

// Map walks the metadata tree of inode ino. Every mapped block is reported,
// including blocks past EOF (fallocate with KEEP_SIZE leaves those).
func (f *FS) Map(ino uint64) (*BlockMap, error) {
	d, err := f.dinode(ino)
	if err != nil {
		return nil, err
	}
	return f.blockMap(d)
}

func (f *FS) blockMap(d *dinode) (*BlockMap, error) {
	m := &BlockMap{}
	if d.stuffed() {
		m.Extents = []ondisk.Extent{{Logical: 0, Count: 1, Kind: ondisk.Inline, InlineOffset: d.off + dinodeSize}}
		return m, nil
	}
	w := walker{f: f, d: d, m: m, seen: map[uint64]bool{}}
	ptrs := d.buf[dinodeSize : dinodeSize+f.diptrs*8]
	if err := w.walk(ptrs, d.off+dinodeSize, 1, 0); err != nil {
		return nil, err
	}
	return m, nil
}

// walker descends a metadata tree. The logical block of a data pointer is
// its metapath read in radix inptrs at every level, the top included
// (find_metapath in fs/gfs2/bmap.c).
type walker struct {
	f    *FS
	d    *dinode
	m    *BlockMap
	seen map[uint64]bool // indirect blocks already walked: a tree shares none
}

// walk visits the pointer array ptrs (image offset ptrOff) at tree level
// level (1 = the dinode's own pointers); base is the metapath prefix
// already consumed, as a logical block number scaled to this level.
func (w *walker) walk(ptrs []byte, ptrOff int64, level int, base uint64) error {
	f := w.f
	n := uint64(len(ptrs) / 8)
	for i := uint64(0); i < n; i++ {
		p := be64(ptrs, int(i*8))
		if p == 0 {
			continue // a hole
		}
		ref := ptrOff + int64(i*8)
		logical := base*f.inptrs + i
		if level == 1 {
			logical = i
		}
		// Descriptions are formatted only on error: this loop runs once
		// per block of every file read.
		if p >= f.blocks {
			return corrupt(ref, "dinode %d level %d pointer: block %d outside the filesystem (%d blocks)", w.d.addr, level, p, f.blocks)
		}
		if level == w.d.height {
			w.addData(logical, p)
			continue
		}
		if w.seen[p] || p == w.d.addr {
			return corrupt(ref, "dinode %d level %d pointer: indirect block %d is referenced twice in the tree", w.d.addr, level, p)
		}
		w.seen[p] = true
		what := fmt.Sprintf("dinode %d indirect block (level %d)", w.d.addr, level+1)
		b, err := f.readBlock(p, ref, what)
		if err != nil {
			return err
		}
		if err := checkHeader(b, f.blockOff(p), typeIN, what); err != nil {
			return err
		}
		w.m.Indirect = append(w.m.Indirect, p)
		if err := w.walk(b[metaHeaderSize:metaHeaderSize+f.inptrs*8], f.blockOff(p)+metaHeaderSize, level+1, logical); err != nil {
			return err
		}
	}
	return nil
}

// addData appends one data block, merging it into the previous extent when
// both the logical and the physical runs continue (the walk visits logical
// blocks in increasing order).
func (w *walker) addData(logical, phys uint64) {
	ex := w.m.Extents
	if k := len(ex) - 1; k >= 0 && ex[k].Logical+ex[k].Count == logical && ex[k].Physical+ex[k].Count == phys {
		ex[k].Count++
		return
	}
	w.m.Extents = append(ex, ondisk.Extent{Logical: logical, Physical: phys, Count: 1, Kind: ondisk.Data})
}
