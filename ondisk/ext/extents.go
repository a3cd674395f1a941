package ext

import (
	"encoding/binary"
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// Extent tree constants (fs/ext4/ext4_extents.h).
const (
	extMagic       = 0xF30A
	extHeaderLen   = 12
	extEntryLen    = 12
	extMaxDepth    = 5
	extInitMaxLen  = 32768 // ee_len above this marks an unwritten extent
	extRootEntries = (inBlockLen - extHeaderLen) / extEntryLen
	// maxTreeNodes bounds the nodes one walk may visit, whatever a corrupt
	// image claims (a legitimate file this large is far beyond our cases).
	maxTreeNodes = 1 << 20
	// lblkLimit: logical block numbers are 32 bits.
	lblkLimit = 1 << 32
)

// extWalk is the state of one extent tree walk.
type extWalk struct {
	fs      *FS
	info    *InodeInfo
	seed    uint32
	visited map[uint64]bool
	// next is the first logical block the next leaf extent may start at,
	// enforcing sorted, non-overlapping extents across the whole tree.
	next uint64
}

// mapExtents walks the extent tree rooted in i_block.
func (fs *FS) mapExtents(info *InodeInfo, root []byte) error {
	w := &extWalk{fs: fs, info: info, visited: map[uint64]bool{}}
	if fs.sb.metadataCsum() {
		w.seed = fs.inodeSeed(info.Ino, info.Generation)
	}
	rootOff := info.Offset + inBlock
	depth, err := w.header(root, rootOff, extRootEntries, -1)
	if err != nil {
		return err
	}
	info.ExtentDepth = depth
	return w.node(root, rootOff, depth, 0, lblkLimit)
}

// header validates an extent header and returns the node's depth. want is
// the depth the parent implies (-1 for the root).
func (w *extWalk) header(node []byte, off int64, capacity, want int) (int, error) {
	le := binary.LittleEndian
	what := func(format string, args ...any) error {
		return w.fs.corrupt(off, fmt.Sprintf("inode %d extent node: ", w.info.Ino)+fmt.Sprintf(format, args...))
	}
	if m := le.Uint16(node[0:]); m != extMagic {
		return 0, what("magic is %#04x, want %#04x", m, extMagic)
	}
	entries, max, depth := int(le.Uint16(node[2:])), int(le.Uint16(node[4:])), int(le.Uint16(node[6:]))
	if max == 0 || max > capacity {
		return 0, what("eh_max %d is not in [1, %d]", max, capacity)
	}
	if entries > max {
		return 0, what("eh_entries %d exceeds eh_max %d", entries, max)
	}
	if depth > extMaxDepth {
		return 0, what("depth %d exceeds the maximum %d", depth, extMaxDepth)
	}
	if want >= 0 && depth != want {
		return 0, what("depth %d, but its parent index implies %d", depth, want)
	}
	return depth, nil
}

// node walks one validated node whose entries must lie in [lo, hi).
func (w *extWalk) node(node []byte, off int64, depth int, lo, hi uint64) error {
	le := binary.LittleEndian
	sb := &w.fs.sb
	entries := int(le.Uint16(node[2:]))
	for i := range entries {
		e := node[extHeaderLen+i*extEntryLen : extHeaderLen+(i+1)*extEntryLen]
		eoff := off + int64(extHeaderLen+i*extEntryLen)
		bad := func(format string, args ...any) error {
			return w.fs.corrupt(eoff, fmt.Sprintf("inode %d extent entry %d (depth %d): ", w.info.Ino, i, depth)+fmt.Sprintf(format, args...))
		}
		lblk := uint64(le.Uint32(e[0:]))
		if depth == 0 {
			rawLen := uint64(le.Uint16(e[4:]))
			pblk := uint64(le.Uint16(e[6:]))<<32 | uint64(le.Uint32(e[8:]))
			kind, n := ondisk.Data, rawLen
			if rawLen > extInitMaxLen {
				kind, n = ondisk.Unwritten, rawLen-extInitMaxLen
			}
			if n == 0 {
				return bad("extent has length 0")
			}
			if lblk < w.next || lblk < lo || lblk+n > hi {
				return bad("logical blocks [%d, %d) overlap the previous extent (ends at %d) or leave the parent's range [%d, %d)", lblk, lblk+n, w.next, lo, hi)
			}
			if pblk < uint64(sb.firstDataBlock) || pblk+n > sb.blocksCount {
				return bad("physical blocks [%d, %d) are outside [%d, %d)", pblk, pblk+n, sb.firstDataBlock, sb.blocksCount)
			}
			w.next = lblk + n
			w.info.Extents = append(w.info.Extents, ondisk.Extent{Logical: lblk, Physical: pblk, Count: n, Kind: kind})
			continue
		}
		leaf := uint64(le.Uint16(e[8:]))<<32 | uint64(le.Uint32(e[4:]))
		end := hi
		if i+1 < entries {
			end = uint64(le.Uint32(node[extHeaderLen+(i+1)*extEntryLen:]))
		}
		if lblk < lo || lblk >= end || end > hi {
			return bad("index covers [%d, %d), not increasing inside the parent's range [%d, %d)", lblk, end, lo, hi)
		}
		if leaf < uint64(sb.firstDataBlock) || leaf >= sb.blocksCount {
			return bad("child node block %d is outside [%d, %d)", leaf, sb.firstDataBlock, sb.blocksCount)
		}
		if w.visited[leaf] {
			return bad("child node block %d is referenced twice", leaf)
		}
		if len(w.visited) >= maxTreeNodes {
			return bad("more than %d tree nodes", maxTreeNodes)
		}
		w.visited[leaf] = true
		w.info.MetaBlocks = append(w.info.MetaBlocks, leaf)
		child, err := w.fs.RawBlock(leaf)
		if err != nil {
			return err
		}
		coff := int64(leaf) * int64(sb.blockSize)
		capacity := (int(sb.blockSize) - extHeaderLen) / extEntryLen
		if _, err := w.header(child, coff, capacity, depth-1); err != nil {
			return err
		}
		if err := w.verifyTail(child, coff); err != nil {
			return err
		}
		if err := w.node(child, coff, depth-1, lblk, end); err != nil {
			return err
		}
	}
	return nil
}

// verifyTail checks the ext4_extent_tail checksum that follows eh_max
// entries in every non-root node when metadata_csum is on.
func (w *extWalk) verifyTail(node []byte, off int64) error {
	if !w.fs.sb.metadataCsum() || w.fs.opts.IgnoreChecksums {
		return nil
	}
	max := int(binary.LittleEndian.Uint16(node[4:]))
	tail := extHeaderLen + max*extEntryLen
	stored := binary.LittleEndian.Uint32(node[tail:])
	if got := crc32cRaw(w.seed, node[:tail]); got != stored {
		return w.fs.corrupt(off+int64(tail), fmt.Sprintf("inode %d extent node checksum is %#08x, computed %#08x", w.info.Ino, stored, got))
	}
	return nil
}
