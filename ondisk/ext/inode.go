package ext

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// ErrNotAllocated is returned (wrapped) for an inode that its group's
// bitmap marks free: its bytes are leftovers, not a file.
var ErrNotAllocated = errors.New("inode is not allocated")

// Inode flags (i_flags) this reader acts on.
const (
	flagHugeFile   = 0x40000
	flagEncrypt    = 0x800
	flagJournal    = 0x4000 // EXT4_JOURNAL_DATA_FL
	flagExtents    = 0x80000
	flagEAInode    = 0x200000
	flagInlineData = 0x10000000
)

// File types in i_mode.
const (
	modeTypeMask = 0xF000
	modeFIFO     = 0x1000
	modeChr      = 0x2000
	modeDir      = 0x4000
	modeBlk      = 0x6000
	modeReg      = 0x8000
	modeLnk      = 0xA000
	modeSock     = 0xC000
)

// Inode field offsets (struct ext4_inode).
const (
	inMode        = 0x00
	inSizeLo      = 0x04
	inLinks       = 0x1A
	inBlocksLo    = 0x1C
	inFlags       = 0x20
	inBlock       = 0x28 // i_block[15], 60 bytes
	inBlockLen    = 60
	inGeneration  = 0x64
	inFileACLLo   = 0x68
	inSizeHigh    = 0x6C
	inBlocksHigh  = 0x74
	inFileACLHigh = 0x76
	inChecksumLo  = 0x7C
	goodOldSize   = 128
	inExtraIsize  = 0x80
	inChecksumHi  = 0x82
)

// InodeInfo is everything this reader decodes from one inode: the shared
// ondisk.Inode plus ext-specific facts tests and checkers may want.
type InodeInfo struct {
	ondisk.Inode
	// Offset is the image byte offset of the inode.
	Offset     int64
	Links      uint16
	Generation uint32
	// Blocks512 is i_blocks in 512-byte units (huge_file scaling applied).
	Blocks512 uint64
	// FileACL is the external xattr block (0 if none).
	FileACL uint64
	// MetaBlocks are the mapping's own blocks (indirect blocks or extent
	// tree nodes below the inode), in walk order.
	MetaBlocks []uint64
	// ExtentDepth is the extent tree depth (extent-mapped files only).
	ExtentDepth int
	// InlineCapacity is the byte size of the inline area (i_block plus the
	// system.data value) of an inline-data inode or fast symlink.
	InlineCapacity int

	// inline holds the inline area's bytes (i_block then system.data).
	inline []byte
}

func (fs *FS) checkIno(ino uint64) error {
	if ino == 0 || ino > uint64(fs.sb.inodesCount) {
		return fmt.Errorf("%s: inode %d is outside [1, %d]", fs.fsName(), ino, fs.sb.inodesCount)
	}
	return nil
}

// inodeOffset is the image byte offset of inode ino.
func (fs *FS) inodeOffset(ino uint64) int64 {
	sb := &fs.sb
	g := (ino - 1) / uint64(sb.inodesPerGroup)
	idx := (ino - 1) % uint64(sb.inodesPerGroup)
	return int64(fs.groups[g].inodeTable)*int64(sb.blockSize) + int64(idx)*int64(sb.inodeSize)
}

// Inode reads inode ino, including its full block map.
func (fs *FS) Inode(ino uint64) (*ondisk.Inode, error) {
	info, err := fs.Stat(ino)
	if err != nil {
		return nil, err
	}
	return &info.Inode, nil
}

// Stat reads inode ino with everything this reader knows about it.
func (fs *FS) Stat(ino uint64) (*InodeInfo, error) {
	alloc, err := fs.InodeAllocated(ino)
	if err != nil {
		return nil, err
	}
	if !alloc {
		return nil, fmt.Errorf("%s: inode %d: %w", fs.fsName(), ino, ErrNotAllocated)
	}
	off := fs.inodeOffset(ino)
	raw := make([]byte, fs.sb.inodeSize)
	if err := fs.readAtf(raw, off, "inode %d", ino); err != nil {
		return nil, err
	}
	return fs.decodeInode(ino, off, raw)
}

func (fs *FS) decodeInode(ino uint64, off int64, raw []byte) (*InodeInfo, error) {
	le := binary.LittleEndian
	sb := &fs.sb
	bad := func(field int, format string, args ...any) error {
		return fs.corrupt(off+int64(field), fmt.Sprintf("inode %d: ", ino)+fmt.Sprintf(format, args...))
	}
	info := &InodeInfo{Offset: off}
	info.Ino = ino
	info.Mode = uint32(le.Uint16(raw[inMode:]))
	info.Links = le.Uint16(raw[inLinks:])
	info.Flags = uint64(le.Uint32(raw[inFlags:]))
	info.Generation = le.Uint32(raw[inGeneration:])
	info.JournalData = info.Flags&flagJournal != 0

	extra := 0
	if sb.inodeSize > goodOldSize {
		extra = int(le.Uint16(raw[inExtraIsize:]))
		if goodOldSize+extra > int(sb.inodeSize) || extra%4 != 0 {
			return nil, bad(inExtraIsize, "extra inode size %d is not a multiple of 4 fitting in %d-byte inodes", extra, sb.inodeSize)
		}
	}
	if sb.metadataCsum() && !fs.opts.IgnoreChecksums {
		if err := fs.verifyInodeCsum(ino, off, raw, extra); err != nil {
			return nil, err
		}
	}

	ftype := info.Mode & modeTypeMask
	switch {
	case ftype == modeFIFO, ftype == modeChr, ftype == modeDir, ftype == modeBlk,
		ftype == modeReg, ftype == modeLnk, ftype == modeSock:
	case info.Mode == 0 && ino < uint64(sb.firstIno):
		// Reserved inodes without a file type (1, 3-6, unused quota
		// slots) are marked in use but are not files; mkfs leaves them
		// zeroed. Their i_block is still a block map (bad-blocks inode).
	default:
		return nil, bad(inMode, "mode %#o has no valid file type", info.Mode)
	}
	size := uint64(le.Uint32(raw[inSizeLo:]))
	if ftype == modeReg || sb.has(incompatLargeDir) {
		size |= uint64(le.Uint32(raw[inSizeHigh:])) << 32
	}
	if size > 1<<62 {
		return nil, bad(inSizeLo, "size %d is beyond any ext4 file size", size)
	}
	info.Size = int64(size)

	blocks := uint64(le.Uint32(raw[inBlocksLo:]))
	if sb.hasRo(roCompatHugeFile) {
		blocks |= uint64(le.Uint16(raw[inBlocksHigh:])) << 32
		if info.Flags&flagHugeFile != 0 {
			blocks *= uint64(sb.blockSize / 512)
		}
	}
	info.Blocks512 = blocks
	info.FileACL = uint64(le.Uint32(raw[inFileACLLo:]))
	if sb.has(incompat64bit) {
		info.FileACL |= uint64(le.Uint16(raw[inFileACLHigh:])) << 32
	}
	if info.FileACL != 0 && (info.FileACL < uint64(sb.firstDataBlock) || info.FileACL >= sb.blocksCount) {
		return nil, bad(inFileACLLo, "xattr block %d is outside the filesystem", info.FileACL)
	}

	if info.Flags&flagEncrypt != 0 {
		return nil, bad(inFlags, "file is encrypted (flags %#x); its data cannot be compared", info.Flags)
	}
	if info.Flags&flagInlineData != 0 {
		if !sb.has(incompatInlineData) {
			return nil, bad(inFlags, "inline data flag set but the inline_data feature is off")
		}
		if info.Flags&flagExtents != 0 {
			return nil, bad(inFlags, "both the extents and the inline data flags are set")
		}
		return info, fs.mapInline(info, raw, extra)
	}
	switch ftype {
	case modeFIFO, modeChr, modeBlk, modeSock:
		// i_block holds device numbers, not a block map.
		return info, nil
	case modeLnk:
		if fs.isFastSymlink(info) {
			if info.Size >= inBlockLen {
				return nil, bad(inSizeLo, "fast symlink of %d bytes does not fit in i_block", info.Size)
			}
			info.Inline = true
			info.InlineCapacity = inBlockLen
			info.inline = append([]byte(nil), raw[inBlock:inBlock+inBlockLen]...)
			if info.Size > 0 {
				info.Extents = []ondisk.Extent{{Count: 1, Kind: ondisk.Inline, InlineOffset: off + inBlock}}
			}
			return info, nil
		}
	}
	if info.Flags&flagExtents != 0 {
		if !sb.has(incompatExtents) {
			return nil, bad(inFlags, "extents flag set but the extents feature is off")
		}
		return info, fs.mapExtents(info, raw[inBlock:inBlock+inBlockLen])
	}
	return info, fs.mapIndirect(info, raw[inBlock:inBlock+inBlockLen])
}

// isFastSymlink mirrors ext4_inode_is_fast_symlink: the target lives in
// i_block when the link owns no blocks besides its xattr block.
func (fs *FS) isFastSymlink(info *InodeInfo) bool {
	if fs.sb.has(incompatEAInode) {
		return info.Size > 0 && info.Size < inBlockLen
	}
	var eaBlocks uint64
	if info.FileACL != 0 {
		eaBlocks = uint64(fs.sb.blockSize / 512)
	}
	return info.Blocks512 == eaBlocks
}

// verifyInodeCsum checks ext4_inode_csum: crc32c seeded with the fs seed,
// the inode number and generation, over the whole inode with the checksum
// fields taken as zero (the high half only when i_extra_isize covers it).
func (fs *FS) verifyInodeCsum(ino uint64, off int64, raw []byte, extra int) error {
	le := binary.LittleEndian
	hiFits := fs.sb.inodeSize > goodOldSize && goodOldSize+extra >= inChecksumHi+2
	stored := uint32(le.Uint16(raw[inChecksumLo:]))
	if hiFits {
		stored |= uint32(le.Uint16(raw[inChecksumHi:])) << 16
	}
	buf := append([]byte(nil), raw...)
	buf[inChecksumLo], buf[inChecksumLo+1] = 0, 0
	if hiFits {
		buf[inChecksumHi], buf[inChecksumHi+1] = 0, 0
	}
	c := fs.inodeSeed(ino, le.Uint32(raw[inGeneration:]))
	c = crc32cRaw(c, buf)
	if !hiFits {
		c &= 0xFFFF
	}
	if c != stored {
		return fs.corrupt(off+inChecksumLo, fmt.Sprintf("inode %d: checksum is %#08x, computed %#08x", ino, stored, c))
	}
	return nil
}

// inodeSeed is the per-inode checksum seed (ei->i_csum_seed).
func (fs *FS) inodeSeed(ino uint64, gen uint32) uint32 {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(ino))
	c := crc32cRaw(fs.csumSeed, b[:])
	binary.LittleEndian.PutUint32(b[:], gen)
	return crc32cRaw(c, b[:])
}
