package xfs

import (
	"bytes"
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// Block map constants (xfs_format.h, xfs_bmap_btree.h).
const (
	bmbtRecSize    = 16 // struct xfs_bmbt_rec: two big-endian 64-bit words
	bmbtKeyPtrSize = 8  // a key (startoff) or a pointer (fsblock)
	bmdrHdrSize    = 4  // struct xfs_bmdr_block: bb_level, bb_numrecs
	bmapCRCMagic   = 0x424d4133
	lblockCRCLen   = 72 // long-format v5 btree block header
	lblockCRCOff   = 64
	nullFSBlock    = ^uint64(0)

	startoffBits   = 54
	startblockBits = 52
	blockcountBits = 21

	// maxBmbtLevels bounds the tree height whatever the image claims; the
	// kernel's computed maximum for 2^48 extents on 1 KiB blocks is below it.
	maxBmbtLevels = 16
)

// BmapInfo describes how a data fork maps its blocks.
type BmapInfo struct {
	Format uint8
	// Height is the number of btree levels including the root in the
	// inode (0 for EXTENTS/LOCAL/DEV, 2 for a root with leaf children).
	Height int
	// BtreeBlocks lists the bmbt blocks below the root (linear block numbers).
	BtreeBlocks []uint64
}

// bmapRec is one decoded bmbt record.
type bmapRec struct {
	startoff   uint64
	startblock uint64 // fsblock: agno << agblklog | agbno
	count      uint64
	unwritten  bool
}

func decodeRec(b []byte) bmapRec {
	hi, lo := be.Uint64(b[0:]), be.Uint64(b[8:])
	return bmapRec{
		unwritten:  hi>>63 != 0,
		startoff:   (hi >> 9) & (1<<startoffBits - 1),
		startblock: (hi&(1<<9-1))<<43 | lo>>blockcountBits,
		count:      lo & (1<<blockcountBits - 1),
	}
}

// FSBToBlock converts an XFS fsblock number (agno << agblklog | agbno) to
// the linear block number used by ondisk.Extent and RawBlock.
func (fs *FS) FSBToBlock(fsb uint64) (uint64, error) {
	return fs.fsbToLinear(fsb, 1)
}

// fsbToLinear converts fsb and checks that count blocks from it stay inside
// one AG and inside the data subvolume.
func (fs *FS) fsbToLinear(fsb, count uint64) (uint64, error) {
	sb := fs.sb
	agno := fsb >> sb.AGBlkLog
	agbno := fsb & (1<<sb.AGBlkLog - 1)
	if agno >= uint64(sb.AGCount) {
		return 0, fmt.Errorf("fsblock %#x: AG %d beyond agcount %d", fsb, agno, sb.AGCount)
	}
	if agbno+count > uint64(sb.AGBlocks) {
		return 0, fmt.Errorf("fsblock %#x: AG block %d + %d beyond agblocks %d", fsb, agbno, count, sb.AGBlocks)
	}
	lin := agno*uint64(sb.AGBlocks) + agbno
	if lin+count > sb.DBlocks {
		return 0, fmt.Errorf("fsblock %#x: block %d + %d beyond dblocks %d", fsb, lin, count, sb.DBlocks)
	}
	return lin, nil
}

// bmapWalker collects a data fork's records in logical order, checking
// each against the previous one.
type bmapWalker struct {
	fs      *FS
	d       *Dinode
	what    string
	extents []ondisk.Extent
	nextOff uint64 // lowest startoff the next record may have
	info    BmapInfo
	visited map[uint64]bool
	// lastAt[level] is the fsblock of the block last read at that level
	// and lastRight[level] its right sibling, to check the sibling chains.
	lastAt, lastRight []uint64
}

// addRec validates one record found at image offset off and appends it.
func (w *bmapWalker) addRec(r bmapRec, off int64) error {
	if uint64(len(w.extents)) >= w.d.NExtents {
		return corrupt(off, "%s: more bmbt records than di_nextents %d", w.what, w.d.NExtents)
	}
	if r.count == 0 {
		return corrupt(off, "%s: bmbt record with zero blockcount", w.what)
	}
	if r.startoff < w.nextOff {
		return corrupt(off, "%s: bmbt record at file block %d overlaps or precedes the previous one (ends at %d)",
			w.what, r.startoff, w.nextOff)
	}
	if r.startoff+r.count > 1<<startoffBits {
		return corrupt(off, "%s: bmbt record %d+%d beyond the 54-bit file offset space", w.what, r.startoff, r.count)
	}
	lin, err := w.fs.fsbToLinear(r.startblock, r.count)
	if err != nil {
		return corrupt(off, "%s: bmbt record for file block %d: %v", w.what, r.startoff, err)
	}
	kind := ondisk.Data
	if r.unwritten {
		kind = ondisk.Unwritten
	}
	w.extents = append(w.extents, ondisk.Extent{Logical: r.startoff, Physical: lin, Count: r.count, Kind: kind})
	w.nextOff = r.startoff + r.count
	return nil
}

// blockMap returns the data fork's extents (Data and Unwritten, in logical
// order, including any past EOF) after validating the whole fork.
func (fs *FS) blockMap(d *Dinode) ([]ondisk.Extent, BmapInfo, error) {
	w := &bmapWalker{fs: fs, d: d, what: fmt.Sprintf("inode %d data fork", d.Ino), info: BmapInfo{Format: d.Format}}
	forkOff := d.DataForkOffset()
	switch d.Format {
	case FmtDev:
		return nil, w.info, nil
	case FmtLocal:
		if d.NExtents != 0 {
			return nil, w.info, corrupt(d.Offset+76, "%s: LOCAL fork with %d extents", w.what, d.NExtents)
		}
		return []ondisk.Extent{{Logical: 0, Count: 1, Kind: ondisk.Inline, InlineOffset: forkOff}}, w.info, nil
	case FmtExtents:
		w.extents = make([]ondisk.Extent, 0, d.NExtents)
		for i := 0; i < int(d.NExtents); i++ {
			o := i * bmbtRecSize
			if err := w.addRec(decodeRec(d.dataFork[o:]), forkOff+int64(o)); err != nil {
				return nil, w.info, err
			}
		}
	case FmtBtree:
		if err := w.walkRoot(); err != nil {
			return nil, w.info, err
		}
		if uint64(len(w.extents)) != d.NExtents {
			return nil, w.info, corrupt(d.Offset+76, "%s: bmbt holds %d records but di_nextents says %d",
				w.what, len(w.extents), d.NExtents)
		}
	default:
		return nil, w.info, corrupt(d.Offset+5, "%s: unknown format %d", w.what, d.Format)
	}
	return w.extents, w.info, nil
}

// walkRoot reads the bmdr root in the inode and descends into every child.
func (w *bmapWalker) walkRoot() error {
	fork := w.d.dataFork
	forkOff := w.d.DataForkOffset()
	level := int(be.Uint16(fork[0:]))
	numrecs := int(be.Uint16(fork[2:]))
	maxrecs := (len(fork) - bmdrHdrSize) / (2 * bmbtKeyPtrSize)
	if level < 1 || level >= maxBmbtLevels {
		return corrupt(forkOff, "%s: bmbt root level %d outside 1..%d", w.what, level, maxBmbtLevels-1)
	}
	if numrecs < 1 || numrecs > maxrecs {
		return corrupt(forkOff+2, "%s: bmbt root has %d pointers, fork holds 1..%d", w.what, numrecs, maxrecs)
	}
	w.info.Height = level + 1
	w.visited = make(map[uint64]bool)
	w.lastAt = make([]uint64, level)
	w.lastRight = make([]uint64, level)
	for i := range w.lastAt {
		w.lastAt[i], w.lastRight[i] = nullFSBlock, nullFSBlock
	}
	w.extents = make([]ondisk.Extent, 0, min(w.d.NExtents, 1<<16))
	keys := fork[bmdrHdrSize:]
	ptrs := fork[bmdrHdrSize+maxrecs*bmbtKeyPtrSize:]
	ptrOff := forkOff + int64(bmdrHdrSize+maxrecs*bmbtKeyPtrSize)
	if err := w.walkChildren(keys, ptrs, numrecs, level, forkOff+bmdrHdrSize, ptrOff); err != nil {
		return err
	}
	// The last block of every level ends its sibling chain.
	for lvl, right := range w.lastRight {
		if right != nullFSBlock {
			return corrupt(forkOff, "%s: last bmbt block at level %d (fsblock %#x) has bb_rightsib %#x, want none",
				w.what, lvl, w.lastAt[lvl], right)
		}
	}
	return nil
}

// walkChildren descends into the numrecs children of a node at level.
func (w *bmapWalker) walkChildren(keys, ptrs []byte, numrecs, level int, keyOff, ptrOff int64) error {
	var prevKey uint64
	for i := 0; i < numrecs; i++ {
		key := be.Uint64(keys[i*bmbtKeyPtrSize:])
		ptr := be.Uint64(ptrs[i*bmbtKeyPtrSize:])
		if i > 0 && key <= prevKey {
			return corrupt(keyOff+int64(i*bmbtKeyPtrSize), "%s: bmbt keys not ascending (%d after %d)", w.what, key, prevKey)
		}
		prevKey = key
		if key < w.nextOff {
			return corrupt(keyOff+int64(i*bmbtKeyPtrSize), "%s: bmbt key %d below records already seen (up to %d)", w.what, key, w.nextOff)
		}
		// Records of child i start at or after its key.
		w.nextOff = key
		if err := w.walkBlock(ptr, level-1, ptrOff+int64(i*bmbtKeyPtrSize)); err != nil {
			return err
		}
		if i+1 < numrecs {
			if next := be.Uint64(keys[(i+1)*bmbtKeyPtrSize:]); w.nextOff > next {
				return corrupt(keyOff+int64((i+1)*bmbtKeyPtrSize), "%s: child %d maps up to file block %d, past the next key %d",
					w.what, i, w.nextOff, next)
			}
		}
	}
	return nil
}

// walkBlock reads the long-format BMA3 block at fsblock fsb (pointed to
// from image offset from) that must be at the given level.
func (w *bmapWalker) walkBlock(fsb uint64, level int, from int64) error {
	fs := w.fs
	lin, err := fs.fsbToLinear(fsb, 1)
	if err != nil {
		return corrupt(from, "%s: bmbt pointer: %v", w.what, err)
	}
	if w.visited[lin] {
		return corrupt(from, "%s: bmbt block %d referenced twice (loop)", w.what, lin)
	}
	w.visited[lin] = true
	w.info.BtreeBlocks = append(w.info.BtreeBlocks, lin)
	bs := int(fs.sb.BlockSize)
	off := int64(lin) * int64(bs)
	what := fmt.Sprintf("%s bmbt block %d", w.what, lin)
	buf := make([]byte, bs)
	if err := fs.readAt(buf, off, what); err != nil {
		return err
	}
	if m := be.Uint32(buf[0:]); m != bmapCRCMagic {
		return corrupt(off, "%s: bad magic %#08x (want %#08x \"BMA3\")", what, m, bmapCRCMagic)
	}
	if err := fs.verifyCRC(buf, lblockCRCOff, off, what); err != nil {
		return err
	}
	if got := int(be.Uint16(buf[4:])); got != level {
		return corrupt(off+4, "%s: level %d, parent expects %d", what, got, level)
	}
	numrecs := int(be.Uint16(buf[6:]))
	maxrecs := (bs - lblockCRCLen) / bmbtRecSize // same for leaves (records) and nodes (key+ptr)
	if numrecs < 1 || numrecs > maxrecs {
		return corrupt(off+6, "%s: %d records, block holds 1..%d", what, numrecs, maxrecs)
	}
	left, right := be.Uint64(buf[8:]), be.Uint64(buf[16:])
	if daddr := be.Uint64(buf[24:]); daddr != uint64(off>>9) {
		return corrupt(off+24, "%s: bb_blkno %d, block is at sector %d", what, daddr, off>>9)
	}
	if !bytes.Equal(buf[40:56], fs.sb.MetaUUID[:]) {
		return corrupt(off+40, "%s: bb_uuid does not match the filesystem", what)
	}
	if owner := be.Uint64(buf[56:]); owner != w.d.Ino {
		return corrupt(off+56, "%s: bb_owner %d, want inode %d", what, owner, w.d.Ino)
	}
	if left != w.lastAt[level] {
		return corrupt(off+8, "%s: bb_leftsib %#x, previous block at level %d is %#x", what, left, level, w.lastAt[level])
	}
	if w.lastAt[level] != nullFSBlock && w.lastRight[level] != fsb {
		return corrupt(off, "%s: previous block at level %d has bb_rightsib %#x, not this block %#x",
			what, level, w.lastRight[level], fsb)
	}
	w.lastAt[level], w.lastRight[level] = fsb, right

	if level == 0 {
		for i := 0; i < numrecs; i++ {
			o := lblockCRCLen + i*bmbtRecSize
			if err := w.addRec(decodeRec(buf[o:]), off+int64(o)); err != nil {
				return err
			}
		}
		return nil
	}
	keyOff := lblockCRCLen
	ptrOff := lblockCRCLen + maxrecs*bmbtKeyPtrSize
	return w.walkChildren(buf[keyOff:], buf[ptrOff:], numrecs, level, off+int64(keyOff), off+int64(ptrOff))
}
