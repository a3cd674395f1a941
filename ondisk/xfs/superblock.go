package xfs

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// On-disk constants from fs/xfs/libxfs/xfs_format.h (Linux 6.12).
const (
	sbMagic     = 0x58465342 // "XFSB"
	sbVersion5  = 5
	sbCRCOffset = 224
	sbMinSize   = 264 // sizeof(struct xfs_dsb)

	featIncompatFtype       = 1 << 0
	featIncompatSpinodes    = 1 << 1
	featIncompatMetaUUID    = 1 << 2
	featIncompatBigtime     = 1 << 3
	featIncompatNeedsRepair = 1 << 4
	featIncompatNrext64     = 1 << 5
	featIncompatExchrange   = 1 << 6
	featIncompatParent      = 1 << 7
	featIncompatKnown       = featIncompatFtype | featIncompatSpinodes | featIncompatMetaUUID |
		featIncompatBigtime | featIncompatNeedsRepair | featIncompatNrext64 |
		featIncompatExchrange | featIncompatParent

	featROCompatFinobt   = 1 << 0
	featROCompatRmapbt   = 1 << 1
	featROCompatReflink  = 1 << 2
	featROCompatInobtcnt = 1 << 3
)

var incompatNames = map[uint32]string{
	featIncompatFtype:       "ftype",
	featIncompatSpinodes:    "sparse inodes",
	featIncompatMetaUUID:    "meta_uuid",
	featIncompatBigtime:     "bigtime",
	featIncompatNeedsRepair: "needsrepair",
	featIncompatNrext64:     "nrext64",
	featIncompatExchrange:   "exchrange",
	featIncompatParent:      "parent pointers",
}

// Superblock holds the fields of the primary superblock the reader uses.
type Superblock struct {
	BlockSize  uint32
	BlockLog   uint8
	DBlocks    uint64 // data subvolume size in blocks
	RBlocks    uint64 // realtime subvolume size in blocks
	RootIno    uint64
	AGBlocks   uint32
	AGCount    uint32
	AGBlkLog   uint8
	SectSize   uint16
	InodeSize  uint16
	InodeLog   uint8
	InoPBlock  uint16
	InoPBLog   uint8
	DirBlkLog  uint8
	VersionNum uint16
	ICount     uint64

	FeaturesCompat      uint32
	FeaturesROCompat    uint32
	FeaturesIncompat    uint32
	FeaturesLogIncompat uint32

	UUID     [16]byte
	MetaUUID [16]byte // sb_meta_uuid if meta_uuid is set, else UUID: what metadata blocks carry
}

// HasFtype reports whether directory entries carry a file type byte.
func (sb *Superblock) HasFtype() bool { return sb.FeaturesIncompat&featIncompatFtype != 0 }

// HasNrext64 reports whether inodes may use 64-bit extent counters.
func (sb *Superblock) HasNrext64() bool { return sb.FeaturesIncompat&featIncompatNrext64 != 0 }

// HasReflink reports whether data blocks may be shared between files.
func (sb *Superblock) HasReflink() bool { return sb.FeaturesROCompat&featROCompatReflink != 0 }

// HasRmapbt reports whether the reverse-mapping btree is enabled.
func (sb *Superblock) HasRmapbt() bool { return sb.FeaturesROCompat&featROCompatRmapbt != 0 }

// DirBlockSize is the directory block size in bytes.
func (sb *Superblock) DirBlockSize() int { return int(sb.BlockSize) << sb.DirBlkLog }

// parseSuperblock decodes and strictly validates the primary superblock in
// buf (one sector, read from image offset 0).
func parseSuperblock(buf []byte, skipCRC bool) (*Superblock, error) {
	if len(buf) < sbMinSize {
		return nil, corrupt(0, "superblock: image shorter than %d bytes", sbMinSize)
	}
	if m := be.Uint32(buf[0:]); m != sbMagic {
		return nil, corrupt(0, "superblock: bad magic %#08x (want %#08x \"XFSB\")", m, sbMagic)
	}
	sb := &Superblock{
		BlockSize:           be.Uint32(buf[4:]),
		DBlocks:             be.Uint64(buf[8:]),
		RBlocks:             be.Uint64(buf[16:]),
		RootIno:             be.Uint64(buf[56:]),
		AGBlocks:            be.Uint32(buf[84:]),
		AGCount:             be.Uint32(buf[88:]),
		VersionNum:          be.Uint16(buf[100:]),
		SectSize:            be.Uint16(buf[102:]),
		InodeSize:           be.Uint16(buf[104:]),
		InoPBlock:           be.Uint16(buf[106:]),
		BlockLog:            buf[120],
		InodeLog:            buf[122],
		InoPBLog:            buf[123],
		AGBlkLog:            buf[124],
		ICount:              be.Uint64(buf[128:]),
		DirBlkLog:           buf[192],
		FeaturesCompat:      be.Uint32(buf[208:]),
		FeaturesROCompat:    be.Uint32(buf[212:]),
		FeaturesIncompat:    be.Uint32(buf[216:]),
		FeaturesLogIncompat: be.Uint32(buf[220:]),
	}
	copy(sb.UUID[:], buf[32:48])
	sectLog := buf[121]
	inProgress := buf[126]

	if v := sb.VersionNum & 0xf; v != sbVersion5 {
		return nil, corrupt(100, "superblock: version %d filesystem; only v5 (crc=1) is supported", v)
	}
	if sb.SectSize < 512 || sb.SectSize > 32768 || sb.SectSize != 1<<sectLog {
		return nil, corrupt(102, "superblock: sector size %d does not match sectlog %d", sb.SectSize, sectLog)
	}
	if int(sb.SectSize) > len(buf) {
		return nil, corrupt(102, "superblock: sector size %d larger than the %d bytes read", sb.SectSize, len(buf))
	}
	if !skipCRC {
		if err := checkCRC(buf[:sb.SectSize], sbCRCOffset, 0, "superblock"); err != nil {
			return nil, err
		}
	}
	if unknown := sb.FeaturesIncompat &^ featIncompatKnown; unknown != 0 {
		return nil, corrupt(216, "superblock: unknown incompatible feature bits %#x (%s)", unknown, bitList(unknown))
	}
	if sb.FeaturesIncompat&featIncompatNeedsRepair != 0 {
		return nil, corrupt(216, "superblock: incompatible feature bit %#x (needsrepair) is set: run xfs_repair first", featIncompatNeedsRepair)
	}
	if inProgress != 0 {
		return nil, corrupt(126, "superblock: sb_inprogress is set (mkfs did not finish)")
	}
	if sb.BlockLog < 10 || sb.BlockLog > 16 || sb.BlockSize != 1<<sb.BlockLog {
		return nil, corrupt(4, "superblock: block size %d does not match blocklog %d (v5 allows 1024..65536)", sb.BlockSize, sb.BlockLog)
	}
	if uint32(sb.SectSize) > sb.BlockSize {
		return nil, corrupt(102, "superblock: sector size %d larger than block size %d", sb.SectSize, sb.BlockSize)
	}
	if sb.InodeLog < 9 || sb.InodeLog > 11 || sb.InodeSize != 1<<sb.InodeLog {
		return nil, corrupt(104, "superblock: inode size %d does not match inodelog %d (v5 allows 512..2048)", sb.InodeSize, sb.InodeLog)
	}
	if uint32(sb.InodeSize) > sb.BlockSize {
		return nil, corrupt(104, "superblock: inode size %d larger than block size %d", sb.InodeSize, sb.BlockSize)
	}
	if sb.InoPBlock != uint16(sb.BlockSize/uint32(sb.InodeSize)) || sb.InoPBLog != sb.BlockLog-sb.InodeLog {
		return nil, corrupt(106, "superblock: inopblock %d / inopblog %d inconsistent with block size %d and inode size %d",
			sb.InoPBlock, sb.InoPBLog, sb.BlockSize, sb.InodeSize)
	}
	if sb.AGBlocks < 2 || sb.AGCount == 0 {
		return nil, corrupt(84, "superblock: agblocks %d, agcount %d", sb.AGBlocks, sb.AGCount)
	}
	if want := uint8(bits.Len32(sb.AGBlocks - 1)); sb.AGBlkLog != want {
		return nil, corrupt(124, "superblock: agblklog %d, want %d for agblocks %d", sb.AGBlkLog, want, sb.AGBlocks)
	}
	if int(sb.AGBlkLog)+int(sb.InoPBLog) > 32 {
		return nil, corrupt(124, "superblock: agblklog %d + inopblog %d exceed 32 bits of AG inode number", sb.AGBlkLog, sb.InoPBLog)
	}
	if sb.DBlocks > math.MaxInt64>>sb.BlockLog {
		return nil, corrupt(8, "superblock: dblocks %d overflows a 64-bit byte offset", sb.DBlocks)
	}
	full := uint64(sb.AGCount) * uint64(sb.AGBlocks)
	if sb.DBlocks > full || sb.DBlocks <= full-uint64(sb.AGBlocks) {
		return nil, corrupt(8, "superblock: dblocks %d not within the last of %d AGs of %d blocks", sb.DBlocks, sb.AGCount, sb.AGBlocks)
	}
	if int(sb.BlockLog)+int(sb.DirBlkLog) > 16 {
		return nil, corrupt(192, "superblock: directory block size 2^%d exceeds 64 KiB", int(sb.BlockLog)+int(sb.DirBlkLog))
	}
	if sb.FeaturesIncompat&featIncompatMetaUUID != 0 {
		copy(sb.MetaUUID[:], buf[248:264])
	} else {
		sb.MetaUUID = sb.UUID
	}
	return sb, nil
}

// bitList names the bits set in v, e.g. "bit 8, bit 31".
func bitList(v uint32) string {
	var parts []string
	for b := 0; b < 32; b++ {
		if v&(1<<b) != 0 {
			parts = append(parts, fmt.Sprintf("bit %d", b))
		}
	}
	return strings.Join(parts, ", ")
}

// IncompatFeatures names the incompatible features set on the filesystem.
func (sb *Superblock) IncompatFeatures() []string {
	var names []string
	for b := 0; b < 32; b++ {
		if n, ok := incompatNames[1<<b]; ok && sb.FeaturesIncompat&(1<<b) != 0 {
			names = append(names, n)
		}
	}
	return names
}
