package ext

import (
	"encoding/binary"
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// ext2/ext3-style block map: i_block[0..11] point at data, [12] at a single,
// [13] at a double and [14] at a triple indirect block (ext2_block_to_path).
const (
	nDirect   = 12
	indSingle = 12
	indDouble = 13
	indTriple = 14
)

// mapWalk accumulates the data blocks of an indirect-mapped file, merging
// physically contiguous runs into one extent.
type mapWalk struct {
	fs      *FS
	info    *InodeInfo
	ptrs    uint64 // pointers per indirect block
	visited map[uint64]bool
}

// mapIndirect walks the direct and indirect pointers in i_block.
func (fs *FS) mapIndirect(info *InodeInfo, iblock []byte) error {
	w := &mapWalk{fs: fs, info: info, ptrs: uint64(fs.sb.blockSize / 4), visited: map[uint64]bool{}}
	le := binary.LittleEndian
	rootOff := info.Offset + inBlock
	for i := range nDirect {
		if err := w.data(uint64(i), uint64(le.Uint32(iblock[4*i:])), rootOff+int64(4*i)); err != nil {
			return err
		}
	}
	// start is the first logical block each indirect tree maps.
	start := uint64(nDirect)
	span := w.ptrs
	for level, slot := range []int{indSingle, indDouble, indTriple} {
		ptr := uint64(le.Uint32(iblock[4*slot:]))
		if err := w.indirect(ptr, level+1, start, rootOff+int64(4*slot)); err != nil {
			return err
		}
		start += span
		span *= w.ptrs
	}
	return nil
}

// checkPtr verifies that a non-zero block pointer stored at image offset
// at lies inside the filesystem.
func (w *mapWalk) checkPtr(ptr uint64, at int64, what string) error {
	sb := &w.fs.sb
	if ptr < uint64(sb.firstDataBlock) || ptr >= sb.blocksCount {
		return w.fs.corrupt(at, fmt.Sprintf("inode %d %s pointer %d is outside [%d, %d)", w.info.Ino, what, ptr, sb.firstDataBlock, sb.blocksCount))
	}
	return nil
}

// data records logical block lblk at physical ptr (0 = hole).
func (w *mapWalk) data(lblk, ptr uint64, at int64) error {
	if ptr == 0 {
		return nil
	}
	if err := w.checkPtr(ptr, at, "data block"); err != nil {
		return err
	}
	ex := w.info.Extents
	if n := len(ex); n > 0 {
		last := &ex[n-1]
		if last.Logical+last.Count == lblk && last.Physical+last.Count == ptr {
			last.Count++
			return nil
		}
	}
	w.info.Extents = append(ex, ondisk.Extent{Logical: lblk, Physical: ptr, Count: 1, Kind: ondisk.Data})
	return nil
}

// indirect walks the indirect block ptr of the given level (1 = single)
// whose first pointer maps logical block start.
func (w *mapWalk) indirect(ptr uint64, level int, start uint64, at int64) error {
	if ptr == 0 {
		return nil
	}
	if err := w.checkPtr(ptr, at, fmt.Sprintf("level-%d indirect block", level)); err != nil {
		return err
	}
	if w.visited[ptr] {
		return w.fs.corrupt(at, fmt.Sprintf("inode %d indirect block %d is referenced twice", w.info.Ino, ptr))
	}
	if len(w.visited) >= maxTreeNodes {
		return w.fs.corrupt(at, fmt.Sprintf("inode %d has more than %d indirect blocks", w.info.Ino, maxTreeNodes))
	}
	w.visited[ptr] = true
	w.info.MetaBlocks = append(w.info.MetaBlocks, ptr)
	blk, err := w.fs.RawBlock(ptr)
	if err != nil {
		return err
	}
	base := int64(ptr) * int64(w.fs.sb.blockSize)
	// Each pointer of this block covers span logical blocks.
	span := uint64(1)
	for range level - 1 {
		span *= w.ptrs
	}
	le := binary.LittleEndian
	for i := range w.ptrs {
		p := uint64(le.Uint32(blk[4*i:]))
		lblk := start + i*span
		pat := base + int64(4*i)
		if level == 1 {
			err = w.data(lblk, p, pat)
		} else {
			err = w.indirect(p, level-1, lblk, pat)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
