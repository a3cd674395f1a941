package ext

import (
	"encoding/binary"
	"fmt"
)

// Group descriptor flags (bg_flags).
const (
	bgInodeUninit = 0x1
	bgBlockUninit = 0x2
)

// groupDesc holds the decoded fields of one block group descriptor.
type groupDesc struct {
	off          int64 // image offset of the descriptor
	blockBitmap  uint64
	inodeBitmap  uint64
	inodeTable   uint64
	flags        uint16
	itableUnused uint32
}

// descLoc is the block holding descriptor block nr (ext4 descriptor_loc):
// contiguous after the superblock, except that with meta_bg the
// descriptors of each meta group from s_first_meta_bg on live in the first
// group of that meta group (after its superblock backup, if it has one).
func (fs *FS) descLoc(nr uint32) uint64 {
	sb := &fs.sb
	if !sb.has(incompatMetaBG) || nr < sb.firstMetaBG {
		return uint64(sb.firstDataBlock) + uint64(nr) + 1
	}
	descPerBlock := sb.blockSize / sb.descSize
	bg := nr * descPerBlock
	var hasSuper uint64
	if fs.groupHasSuper(bg) {
		hasSuper = 1
	}
	return hasSuper + fs.groupFirstBlock(bg)
}

func (fs *FS) groupFirstBlock(g uint32) uint64 {
	return uint64(g)*uint64(fs.sb.blocksPerGroup) + uint64(fs.sb.firstDataBlock)
}

// groupHasSuper mirrors ext4_bg_has_super: which groups carry a
// superblock (and descriptor) backup under sparse_super / sparse_super2.
func (fs *FS) groupHasSuper(g uint32) bool {
	sb := &fs.sb
	if g == 0 {
		return true
	}
	if sb.featureCompat&compatSparseSuper2 != 0 {
		return g == sb.backupBGs[0] || g == sb.backupBGs[1]
	}
	if g <= 1 || !sb.hasRo(roCompatSparseSuper) {
		return true
	}
	if g&1 == 0 {
		return false
	}
	return isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7)
}

func isPowerOf(n, base uint32) bool {
	p := uint64(1)
	for p < uint64(n) {
		p *= uint64(base)
	}
	return p == uint64(n)
}

// Group descriptor field offsets (struct ext4_group_desc).
const (
	gdBlockBitmapLo  = 0x00
	gdInodeBitmapLo  = 0x04
	gdInodeTableLo   = 0x08
	gdFlags          = 0x12
	gdItableUnusedLo = 0x1C
	gdChecksum       = 0x1E
	gdBlockBitmapHi  = 0x20
	gdInodeBitmapHi  = 0x24
	gdInodeTableHi   = 0x28
	gdItableUnusedHi = 0x32
)

func (fs *FS) readGroups() error {
	sb := &fs.sb
	descPerBlock := sb.blockSize / sb.descSize
	nblocks := (sb.groupCount + descPerBlock - 1) / descPerBlock
	fs.groups = make([]groupDesc, 0, sb.groupCount)
	buf := make([]byte, sb.blockSize)
	le := binary.LittleEndian
	for nr := range nblocks {
		blk := fs.descLoc(nr)
		if blk >= sb.blocksCount {
			return fs.corrupt(sbOffset, fmt.Sprintf("group descriptor block %d lies at block %d, past the end (%d blocks)", nr, blk, sb.blocksCount))
		}
		base := int64(blk) * int64(sb.blockSize)
		if err := fs.readAtf(buf, base, "group descriptor block %d", nr); err != nil {
			return err
		}
		for i := range descPerBlock {
			g := nr*descPerBlock + i
			if g >= sb.groupCount {
				break
			}
			raw := buf[i*sb.descSize : (i+1)*sb.descSize]
			gd := groupDesc{
				off:          base + int64(i*sb.descSize),
				blockBitmap:  uint64(le.Uint32(raw[gdBlockBitmapLo:])),
				inodeBitmap:  uint64(le.Uint32(raw[gdInodeBitmapLo:])),
				inodeTable:   uint64(le.Uint32(raw[gdInodeTableLo:])),
				flags:        le.Uint16(raw[gdFlags:]),
				itableUnused: uint32(le.Uint16(raw[gdItableUnusedLo:])),
			}
			if sb.descSize >= 64 {
				gd.blockBitmap |= uint64(le.Uint32(raw[gdBlockBitmapHi:])) << 32
				gd.inodeBitmap |= uint64(le.Uint32(raw[gdInodeBitmapHi:])) << 32
				gd.inodeTable |= uint64(le.Uint32(raw[gdInodeTableHi:])) << 32
				gd.itableUnused |= uint32(le.Uint16(raw[gdItableUnusedHi:])) << 16
			}
			if err := fs.checkGroup(g, &gd, raw); err != nil {
				return err
			}
			fs.groups = append(fs.groups, gd)
		}
	}
	return nil
}

// checkGroup verifies one descriptor: its checksum (metadata_csum or
// gdt_csum) and that its bitmaps and inode table lie inside the filesystem.
func (fs *FS) checkGroup(g uint32, gd *groupDesc, raw []byte) error {
	sb := &fs.sb
	if !fs.opts.IgnoreChecksums && (sb.metadataCsum() || sb.hasRo(roCompatGdtCsum)) {
		stored := binary.LittleEndian.Uint16(raw[gdChecksum:])
		if got := fs.groupCsum(g, raw); got != stored {
			return fs.corrupt(gd.off+gdChecksum, fmt.Sprintf("group %d descriptor checksum is %#04x, computed %#04x", g, stored, got))
		}
	}
	n := sb.blocksCount
	if gd.blockBitmap < uint64(sb.firstDataBlock) || gd.blockBitmap >= n {
		return fs.corrupt(gd.off+gdBlockBitmapLo, fmt.Sprintf("group %d block bitmap at block %d is outside [%d, %d)", g, gd.blockBitmap, sb.firstDataBlock, n))
	}
	if gd.inodeBitmap < uint64(sb.firstDataBlock) || gd.inodeBitmap >= n {
		return fs.corrupt(gd.off+gdInodeBitmapLo, fmt.Sprintf("group %d inode bitmap at block %d is outside [%d, %d)", g, gd.inodeBitmap, sb.firstDataBlock, n))
	}
	if gd.inodeTable < uint64(sb.firstDataBlock) || gd.inodeTable > n-uint64(sb.itableBlocks) {
		return fs.corrupt(gd.off+gdInodeTableLo, fmt.Sprintf("group %d inode table at block %d (%d blocks) does not fit in [%d, %d)", g, gd.inodeTable, sb.itableBlocks, sb.firstDataBlock, n))
	}
	if gd.itableUnused > sb.inodesPerGroup {
		return fs.corrupt(gd.off+gdItableUnusedLo, fmt.Sprintf("group %d claims %d unused inodes of %d", g, gd.itableUnused, sb.inodesPerGroup))
	}
	return nil
}

// groupCsum is ext4_group_desc_csum: crc32c (low 16 bits) with
// metadata_csum, else the old crc16 over UUID, group number and descriptor,
// both skipping the checksum field itself.
func (fs *FS) groupCsum(g uint32, raw []byte) uint16 {
	var le32 [4]byte
	binary.LittleEndian.PutUint32(le32[:], g)
	zero := []byte{0, 0}
	if fs.sb.metadataCsum() {
		c := crc32cRaw(fs.csumSeed, le32[:])
		c = crc32cRaw(c, raw[:gdChecksum])
		c = crc32cRaw(c, zero)
		c = crc32cRaw(c, raw[gdChecksum+2:])
		return uint16(c)
	}
	c := crc16(0xFFFF, fs.sb.uuid[:])
	c = crc16(c, le32[:])
	c = crc16(c, raw[:gdChecksum])
	if fs.sb.has(incompat64bit) {
		c = crc16(c, raw[gdChecksum+2:])
	}
	return c
}

// groupCsumEnabled says whether bg_flags uninit bits and itable_unused are
// meaningful (they are only trusted with a descriptor checksum).
func (sb *superblock) groupCsumEnabled() bool {
	return sb.metadataCsum() || sb.hasRo(roCompatGdtCsum)
}

// InodeAllocated reports whether inode ino is marked in use in its group's
// inode bitmap (an INODE_UNINIT group, or an inode in the never-used tail
// of the inode table, is free).
func (fs *FS) InodeAllocated(ino uint64) (bool, error) {
	if err := fs.checkIno(ino); err != nil {
		return false, err
	}
	sb := &fs.sb
	g := uint32((ino - 1) / uint64(sb.inodesPerGroup))
	idx := uint32((ino - 1) % uint64(sb.inodesPerGroup))
	gd := &fs.groups[g]
	if sb.groupCsumEnabled() {
		if gd.flags&bgInodeUninit != 0 || idx >= sb.inodesPerGroup-gd.itableUnused {
			return false, nil
		}
	}
	var b [1]byte
	off := int64(gd.inodeBitmap)*int64(sb.blockSize) + int64(idx/8)
	if err := fs.readAtf(b[:], off, "group %d inode bitmap", g); err != nil {
		return false, err
	}
	return b[0]&(1<<(idx%8)) != 0, nil
}

// BlockAllocated reports whether block n is marked in use in its group's
// block bitmap. A BLOCK_UNINIT group has no bitmap on disk: its in-use
// blocks are exactly its base metadata (superblock backup, descriptor and
// reserved descriptor blocks) and any group's bitmaps or inode table that
// lie in it, as ext4_init_block_bitmap computes.
func (fs *FS) BlockAllocated(n uint64) (bool, error) {
	sb := &fs.sb
	if n < uint64(sb.firstDataBlock) || n >= sb.blocksCount {
		return false, fmt.Errorf("%s: block %d is outside [%d, %d)", fs.fsName(), n, sb.firstDataBlock, sb.blocksCount)
	}
	rel := n - uint64(sb.firstDataBlock)
	g := uint32(rel / uint64(sb.blocksPerGroup))
	idx := rel % uint64(sb.blocksPerGroup)
	gd := &fs.groups[g]
	if sb.groupCsumEnabled() && gd.flags&bgBlockUninit != 0 {
		return fs.uninitBlockInUse(g, n), nil
	}
	var b [1]byte
	off := int64(gd.blockBitmap)*int64(sb.blockSize) + int64(idx/8)
	if err := fs.readAtf(b[:], off, "group %d block bitmap", g); err != nil {
		return false, err
	}
	return b[0]&(1<<(idx%8)) != 0, nil
}

// uninitBlockInUse answers BlockAllocated for a BLOCK_UNINIT group g.
func (fs *FS) uninitBlockInUse(g uint32, n uint64) bool {
	if n < fs.groupFirstBlock(g)+fs.baseMetaBlocks(g) {
		return true
	}
	it := uint64(fs.sb.itableBlocks)
	for i := range fs.groups {
		gd := &fs.groups[i]
		if n == gd.blockBitmap || n == gd.inodeBitmap || (n >= gd.inodeTable && n < gd.inodeTable+it) {
			return true
		}
	}
	return false
}

// baseMetaBlocks is ext4_num_base_meta_blocks: the superblock backup and
// descriptor blocks at the start of group g.
func (fs *FS) baseMetaBlocks(g uint32) uint64 {
	sb := &fs.sb
	var num uint64
	hasSuper := fs.groupHasSuper(g)
	if hasSuper {
		num = 1
	}
	descPerBlock := sb.blockSize / sb.descSize
	metagroup := g / descPerBlock
	if !sb.has(incompatMetaBG) || metagroup < sb.firstMetaBG {
		if hasSuper {
			if sb.has(incompatMetaBG) {
				num += uint64(sb.firstMetaBG)
			} else {
				num += uint64((sb.groupCount + descPerBlock - 1) / descPerBlock)
			}
			num += uint64(sb.reservedGdtBlocks)
		}
		return num
	}
	first := metagroup * descPerBlock
	if g == first || g == first+1 || g == first+descPerBlock-1 {
		num++
	}
	return num
}
