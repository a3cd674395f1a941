package gfs2

import (
	"encoding/binary"
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// On-disk constants from gfs2_ondisk.h and fs/gfs2/super.h.
const (
	magic = 0x01161970

	// sbAddr is the superblock's byte offset: GFS2_SB_ADDR (128) basic
	// 512-byte blocks, whatever the filesystem block size.
	sbAddr = 128 * 512

	metaHeaderSize = 24
	dinodeSize     = 232
	sbSize         = 272 // up to and including sb_uuid
	rgrpSize       = 128
	rindexSize     = 96
	leafSize       = 104
	direntSize     = 40

	fsFormatMin = 1801
	fsFormatMax = 1802
	formatMulti = 1900

	maxMetaHeight = 10 // GFS2_MAX_META_HEIGHT
	maxDirDepth   = 17 // GFS2_DIR_MAX_DEPTH
	maxNameLen    = 255
)

// Metadata block types (mh_type).
const (
	typeSB = 1
	typeRG = 2
	typeRB = 3
	typeDI = 4
	typeIN = 5
	typeLF = 6
	typeJD = 7
)

// Dinode flags (di_flags).
const (
	FlagJData        = 0x00000001 // GFS2_DIF_JDATA
	FlagExHash       = 0x00000002 // GFS2_DIF_EXHASH
	FlagSystem       = 0x00000200 // GFS2_DIF_SYSTEM
	FlagTruncInProg  = 0x20000000 // GFS2_DIF_TRUNC_IN_PROG
	FlagInheritJData = 0x80000000 // GFS2_DIF_INHERIT_JDATA
)

// Dinode field offsets.
const (
	diNumAddr = 32 // di_num.no_addr
	diMode    = 40
	diNlink   = 52
	diSize    = 56
	diBlocks  = 64
	diFlags   = 128
	diHeight  = 138
	diDepth   = 146
	diEntries = 148
	modeFmt   = 0o170000
	modeDir   = 0o040000
	modeReg   = 0o100000
)

const fsName = "gfs2"

func be16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
func be32(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
func be64(b []byte, off int) uint64 { return binary.BigEndian.Uint64(b[off:]) }

// corrupt builds the error every format violation returns: it names the
// image byte offset of the structure at fault.
func corrupt(off int64, format string, args ...any) error {
	return &ondisk.CorruptError{FS: fsName, Offset: off, What: fmt.Sprintf(format, args...)}
}

// checkHeader verifies a metadata block's gfs2_meta_header: the magic and the
// expected mh_type, as the kernel's gfs2_metatype_check does.
func checkHeader(b []byte, off int64, wantType uint32, what string) error {
	if m := be32(b, 0); m != magic {
		return corrupt(off, "%s: bad magic %#x", what, m)
	}
	if t := be32(b, 4); t != wantType {
		return corrupt(off, "%s: mh_type %d, want %d", what, t, wantType)
	}
	return nil
}
