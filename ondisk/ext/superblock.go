package ext

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// The superblock always starts at byte 1024 and is 1024 bytes long.
const (
	sbOffset = 1024
	sbSize   = 1024
	sbMagic  = 0xEF53
)

// Feature bits (fs/ext4/ext4.h). Only the ones this reader acts on or
// names in errors are listed.
const (
	compatHasJournal   = 0x0004
	compatSparseSuper2 = 0x0200

	roCompatSparseSuper  = 0x0001
	roCompatLargeFile    = 0x0002
	roCompatHugeFile     = 0x0008
	roCompatGdtCsum      = 0x0010
	roCompatDirNlink     = 0x0020
	roCompatExtraIsize   = 0x0040
	roCompatQuota        = 0x0100
	roCompatBigalloc     = 0x0200
	roCompatMetadataCsum = 0x0400
	roCompatProject      = 0x2000
	roCompatVerity       = 0x8000
	roCompatOrphanPres   = 0x10000

	incompatCompression = 0x0001
	incompatFiletype    = 0x0002
	incompatRecover     = 0x0004
	incompatJournalDev  = 0x0008
	incompatMetaBG      = 0x0010
	incompatExtents     = 0x0040
	incompat64bit       = 0x0080
	incompatMMP         = 0x0100
	incompatFlexBG      = 0x0200
	incompatEAInode     = 0x0400
	incompatDirData     = 0x1000
	incompatCsumSeed    = 0x2000
	incompatLargeDir    = 0x4000
	incompatInlineData  = 0x8000
	incompatEncrypt     = 0x10000
	incompatCasefold    = 0x20000
)

// incompatNames names every INCOMPAT bit the kernel defines, so a refusal
// can say which feature it refused.
var incompatNames = map[uint32]string{
	incompatCompression: "compression",
	incompatFiletype:    "filetype",
	incompatRecover:     "needs_recovery",
	incompatJournalDev:  "journal_dev",
	incompatMetaBG:      "meta_bg",
	incompatExtents:     "extents",
	incompat64bit:       "64bit",
	incompatMMP:         "mmp",
	incompatFlexBG:      "flex_bg",
	incompatEAInode:     "ea_inode",
	incompatDirData:     "dirdata",
	incompatCsumSeed:    "metadata_csum_seed",
	incompatLargeDir:    "large_dir",
	incompatInlineData:  "inline_data",
	incompatEncrypt:     "encrypt",
	incompatCasefold:    "casefold",
}

// incompatSupported are the INCOMPAT features whose on-disk meaning this
// reader implements. Everything else is refused: reading on would mean
// guessing the layout.
const incompatSupported = incompatFiletype | incompatMetaBG | incompatExtents |
	incompat64bit | incompatMMP | incompatFlexBG | incompatEAInode |
	incompatCsumSeed | incompatLargeDir | incompatInlineData | incompatCasefold

// Features that only ext4 has; an image with none of them reads as ext2.
const (
	ext4OnlyIncompat = incompatExtents | incompat64bit | incompatMMP | incompatFlexBG |
		incompatEAInode | incompatCsumSeed | incompatLargeDir | incompatInlineData |
		incompatEncrypt | incompatCasefold
	ext4OnlyRoCompat = roCompatHugeFile | roCompatGdtCsum | roCompatDirNlink |
		roCompatExtraIsize | roCompatQuota | roCompatBigalloc | roCompatMetadataCsum |
		roCompatProject | roCompatVerity | roCompatOrphanPres
)

// superblock holds the decoded fields this reader uses.
type superblock struct {
	inodesCount     uint32
	blocksCount     uint64
	firstDataBlock  uint32
	logBlockSize    uint32
	blockSize       uint32
	blocksPerGroup  uint32
	inodesPerGroup  uint32
	revLevel        uint32
	firstIno        uint32
	inodeSize       uint32
	featureCompat   uint32
	featureIncompat uint32
	featureRoCompat uint32
	uuid            [16]byte
	descSize        uint32
	firstMetaBG     uint32
	// reservedGdtBlocks are kept after the descriptors for online resize.
	reservedGdtBlocks uint16
	backupBGs         [2]uint32
	checksumType      uint8
	checksumSeed      uint32
	checksum          uint32
	groupCount        uint32
	// itableBlocks is the length of each group's inode table in blocks.
	itableBlocks uint32
}

func (sb *superblock) isExt4() bool {
	return sb.featureIncompat&ext4OnlyIncompat != 0 || sb.featureRoCompat&ext4OnlyRoCompat != 0
}

func (sb *superblock) has(incompat uint32) bool   { return sb.featureIncompat&incompat != 0 }
func (sb *superblock) hasRo(roCompat uint32) bool { return sb.featureRoCompat&roCompat != 0 }
func (sb *superblock) metadataCsum() bool         { return sb.hasRo(roCompatMetadataCsum) }

// Superblock field offsets (struct ext4_super_block).
const (
	sbInodesCount    = 0x00
	sbBlocksCountLo  = 0x04
	sbFirstDataBlock = 0x14
	sbLogBlockSize   = 0x18
	sbLogClusterSize = 0x1C
	sbBlocksPerGroup = 0x20
	sbInodesPerGroup = 0x28
	sbMagicOff       = 0x38
	sbRevLevel       = 0x4C
	sbFirstIno       = 0x54
	sbInodeSize      = 0x58
	sbFeatureCompat  = 0x5C
	sbFeatureInc     = 0x60
	sbFeatureRo      = 0x64
	sbUUID           = 0x68
	sbDescSize       = 0xFE
	sbFirstMetaBG    = 0x104
	sbReservedGdt    = 0xCE
	sbBlocksCountHi  = 0x150
	sbBackupBGs      = 0x24C
	sbChecksumType   = 0x175
	sbChecksumSeed   = 0x270
	sbChecksumOff    = 0x3FC
)

// Sanity limits that hold for every image this project makes and keep a
// corrupt superblock from asking for absurd amounts of work.
const (
	maxLogBlockSize = 6 // 64 KiB blocks
	maxGroups       = 1 << 20
)

func (fs *FS) readSuperblock() error {
	raw := make([]byte, sbSize)
	if err := fs.readAtf(raw, sbOffset, "superblock"); err != nil {
		return err
	}
	le := binary.LittleEndian
	sb := &fs.sb
	bad := func(field int, format string, args ...any) error {
		return fs.corrupt(sbOffset+int64(field), "superblock: "+fmt.Sprintf(format, args...))
	}
	if m := le.Uint16(raw[sbMagicOff:]); m != sbMagic {
		return bad(sbMagicOff, "magic is %#04x, want %#04x", m, sbMagic)
	}
	fs.magicOK = true
	sb.inodesCount = le.Uint32(raw[sbInodesCount:])
	sb.firstDataBlock = le.Uint32(raw[sbFirstDataBlock:])
	sb.logBlockSize = le.Uint32(raw[sbLogBlockSize:])
	sb.blocksPerGroup = le.Uint32(raw[sbBlocksPerGroup:])
	sb.inodesPerGroup = le.Uint32(raw[sbInodesPerGroup:])
	sb.revLevel = le.Uint32(raw[sbRevLevel:])
	sb.featureCompat = le.Uint32(raw[sbFeatureCompat:])
	sb.featureIncompat = le.Uint32(raw[sbFeatureInc:])
	sb.featureRoCompat = le.Uint32(raw[sbFeatureRo:])
	copy(sb.uuid[:], raw[sbUUID:sbUUID+16])
	sb.firstMetaBG = le.Uint32(raw[sbFirstMetaBG:])
	sb.reservedGdtBlocks = le.Uint16(raw[sbReservedGdt:])
	sb.backupBGs = [2]uint32{le.Uint32(raw[sbBackupBGs:]), le.Uint32(raw[sbBackupBGs+4:])}
	sb.checksumType = raw[sbChecksumType]
	sb.checksumSeed = le.Uint32(raw[sbChecksumSeed:])
	sb.checksum = le.Uint32(raw[sbChecksumOff:])

	if sb.revLevel > 1 {
		return bad(sbRevLevel, "revision level %d is unknown (want 0 or 1)", sb.revLevel)
	}
	if sb.revLevel == 0 {
		// Revision 0 has fixed inode geometry and no feature words.
		sb.firstIno, sb.inodeSize = 11, 128
		if sb.featureCompat|sb.featureIncompat|sb.featureRoCompat != 0 {
			return bad(sbFeatureCompat, "revision 0 superblock has feature bits set")
		}
	} else {
		sb.firstIno = le.Uint32(raw[sbFirstIno:])
		sb.inodeSize = uint32(le.Uint16(raw[sbInodeSize:]))
	}

	if unknown := sb.featureIncompat &^ incompatSupported; unknown != 0 {
		bit := uint32(1) << bits.TrailingZeros32(unknown)
		name, known := incompatNames[bit]
		if !known {
			name = "unknown"
		}
		return bad(sbFeatureInc, "INCOMPAT feature bit %#x (%s) is not supported by this reader (incompat word %#x)", bit, name, sb.featureIncompat)
	}
	if sb.hasRo(roCompatBigalloc) {
		return bad(sbFeatureRo, "RO_COMPAT feature bigalloc (%#x) is not supported by this reader", roCompatBigalloc)
	}

	if sb.logBlockSize > maxLogBlockSize {
		return bad(sbLogBlockSize, "log block size %d is larger than %d (64 KiB)", sb.logBlockSize, maxLogBlockSize)
	}
	sb.blockSize = 1024 << sb.logBlockSize
	if lc := le.Uint32(raw[sbLogClusterSize:]); sb.isExt4() && lc != sb.logBlockSize {
		return bad(sbLogClusterSize, "log cluster size %d differs from log block size %d without bigalloc", lc, sb.logBlockSize)
	}
	wantFirst := uint32(0)
	if sb.blockSize == 1024 {
		wantFirst = 1
	}
	if sb.firstDataBlock != wantFirst {
		return bad(sbFirstDataBlock, "first data block is %d, want %d for %d-byte blocks", sb.firstDataBlock, wantFirst, sb.blockSize)
	}
	sb.blocksCount = uint64(le.Uint32(raw[sbBlocksCountLo:]))
	if sb.has(incompat64bit) {
		sb.blocksCount |= uint64(le.Uint32(raw[sbBlocksCountHi:])) << 32
		sb.descSize = uint32(le.Uint16(raw[sbDescSize:]))
		if sb.descSize < 64 || sb.descSize > 1024 || sb.descSize&(sb.descSize-1) != 0 {
			return bad(sbDescSize, "group descriptor size %d with 64bit is not a power of two in [64, 1024]", sb.descSize)
		}
	} else {
		sb.descSize = 32
	}
	if sb.blocksCount <= uint64(sb.firstDataBlock) {
		return bad(sbBlocksCountLo, "block count %d leaves no room after the first data block %d", sb.blocksCount, sb.firstDataBlock)
	}
	if sb.blocksCount > (1<<63)/uint64(sb.blockSize) {
		return bad(sbBlocksCountLo, "block count %d overflows a 63-bit byte address", sb.blocksCount)
	}
	bitsPerBlock := 8 * sb.blockSize
	if sb.blocksPerGroup == 0 || sb.blocksPerGroup > bitsPerBlock || sb.blocksPerGroup%8 != 0 {
		return bad(sbBlocksPerGroup, "blocks per group %d is not a multiple of 8 in [8, %d]", sb.blocksPerGroup, bitsPerBlock)
	}
	if sb.inodesPerGroup == 0 || sb.inodesPerGroup > bitsPerBlock {
		return bad(sbInodesPerGroup, "inodes per group %d is not in [1, %d]", sb.inodesPerGroup, bitsPerBlock)
	}
	if sb.inodeSize < 128 || sb.inodeSize > sb.blockSize || sb.inodeSize&(sb.inodeSize-1) != 0 {
		return bad(sbInodeSize, "inode size %d is not a power of two in [128, %d]", sb.inodeSize, sb.blockSize)
	}
	if sb.firstIno < 11 || sb.firstIno > sb.inodesCount {
		return bad(sbFirstIno, "first non-reserved inode %d is not in [11, %d]", sb.firstIno, sb.inodesCount)
	}
	groups := (sb.blocksCount - uint64(sb.firstDataBlock) + uint64(sb.blocksPerGroup) - 1) / uint64(sb.blocksPerGroup)
	if groups > maxGroups {
		return bad(sbBlocksCountLo, "%d block groups is more than the sanity limit %d", groups, maxGroups)
	}
	sb.groupCount = uint32(groups)
	if uint64(sb.inodesCount) != groups*uint64(sb.inodesPerGroup) {
		return bad(sbInodesCount, "inode count %d is not %d groups x %d inodes per group", sb.inodesCount, groups, sb.inodesPerGroup)
	}
	sb.itableBlocks = uint32((uint64(sb.inodesPerGroup)*uint64(sb.inodeSize) + uint64(sb.blockSize) - 1) / uint64(sb.blockSize))

	if sb.metadataCsum() {
		if sb.checksumType != 1 {
			return bad(sbChecksumType, "metadata checksum type %d is not crc32c (1)", sb.checksumType)
		}
		if !fs.opts.IgnoreChecksums {
			if got := crc32cRaw(^uint32(0), raw[:sbChecksumOff]); got != sb.checksum {
				return bad(sbChecksumOff, "superblock checksum is %#08x, computed %#08x", sb.checksum, got)
			}
		}
		if sb.has(incompatCsumSeed) {
			fs.csumSeed = sb.checksumSeed
		} else {
			fs.csumSeed = crc32cRaw(^uint32(0), sb.uuid[:])
		}
	}

	// The whole filesystem must be inside the image: a truncated image
	// would otherwise show up later as confusing read errors.
	last := make([]byte, 1)
	lastOff := int64(sb.blocksCount)*int64(sb.blockSize) - 1
	if err := fs.readAtf(last, lastOff, "last byte of block %d (the superblock's block count)", sb.blocksCount-1); err != nil {
		return err
	}
	return nil
}
