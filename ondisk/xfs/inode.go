package xfs

import (
	"bytes"
	"fmt"
)

// Dinode constants (struct xfs_dinode, fs/xfs/libxfs/xfs_format.h).
const (
	dinodeMagic    = 0x494e // "IN"
	dinodeCoreSize = 176    // v3 core; the data fork follows it
	dinodeCRCOff   = 100

	// di_format values.
	FmtDev     = 0
	FmtLocal   = 1
	FmtExtents = 2
	FmtBtree   = 3

	diflagRealtime = 1 << 0
	diflag2Reflink = 1 << 1
	diflag2Nrext64 = 1 << 4
	diflag2Known   = 0x1f // DAX, REFLINK, COWEXTSIZE, BIGTIME, NREXT64

	// Extent counter limits (xfs_iext_max_nextents).
	maxExtCnt32 = 1<<31 - 1
	maxExtCnt48 = 1<<48 - 1
)

// Unix file type bits of di_mode.
const (
	sIFMT   = 0o170000
	sIFREG  = 0o100000
	sIFDIR  = 0o040000
	sIFLNK  = 0o120000
	sIFCHR  = 0o020000
	sIFBLK  = 0o060000
	sIFIFO  = 0o010000
	sIFSOCK = 0o140000
)

// Dinode is the decoded v3 inode core.
type Dinode struct {
	Ino      uint64
	Offset   int64 // image byte offset of the inode
	Mode     uint16
	Format   uint8 // data fork format (FmtDev, FmtLocal, FmtExtents, FmtBtree)
	AFormat  uint8
	Nlink    uint32
	Size     int64
	NBlocks  uint64
	Extsize  uint32
	NExtents uint64 // data fork extent count, from di_big_nextents when NREXT64
	// ANExtents is the attr fork extent count.
	ANExtents uint32
	ForkOff   uint8 // attr fork offset in 8-byte units from the end of the core
	Flags     uint16
	Flags2    uint64
	Gen       uint32

	// dataFork is the raw data fork (literal area up to the attr fork).
	dataFork []byte
}

// IsReg reports whether the inode is a regular file.
func (d *Dinode) IsReg() bool { return d.Mode&sIFMT == sIFREG }

// IsDir reports whether the inode is a directory.
func (d *Dinode) IsDir() bool { return d.Mode&sIFMT == sIFDIR }

// Nrext64 reports whether the inode uses the 64-bit extent counters.
func (d *Dinode) Nrext64() bool { return d.Flags2&diflag2Nrext64 != 0 }

// Reflink reports whether the inode may share blocks with other files.
func (d *Dinode) Reflink() bool { return d.Flags2&diflag2Reflink != 0 }

// DataForkOffset is the image byte offset of the data fork.
func (d *Dinode) DataForkOffset() int64 { return d.Offset + dinodeCoreSize }

// inodeOffset maps an inode number to its image byte offset:
// ino = agno << (agblklog+inopblog) | agbno << inopblog | slot.
func (fs *FS) inodeOffset(ino uint64) (int64, error) {
	sb := fs.sb
	aginoBits := uint(sb.AGBlkLog) + uint(sb.InoPBLog)
	agno := ino >> aginoBits
	agino := ino & (1<<aginoBits - 1)
	agbno := agino >> sb.InoPBLog
	slot := agino & (1<<sb.InoPBLog - 1)
	if agno >= uint64(sb.AGCount) {
		return 0, fmt.Errorf("inode %d: AG %d beyond agcount %d", ino, agno, sb.AGCount)
	}
	if agbno >= uint64(sb.AGBlocks) {
		return 0, fmt.Errorf("inode %d: AG block %d beyond agblocks %d", ino, agbno, sb.AGBlocks)
	}
	blk := agno*uint64(sb.AGBlocks) + agbno
	if blk >= sb.DBlocks {
		return 0, fmt.Errorf("inode %d: block %d beyond dblocks %d", ino, blk, sb.DBlocks)
	}
	return int64(blk)*int64(sb.BlockSize) + int64(slot)*int64(sb.InodeSize), nil
}

// readAt reads exactly len(buf) bytes at off, naming what is read on failure.
func (fs *FS) readAt(buf []byte, off int64, what string) error {
	if _, err := fs.r.ReadAt(buf, off); err != nil {
		return corrupt(off, "%s: reading %d bytes: %v", what, len(buf), err)
	}
	return nil
}

// verifyCRC checks a metadata checksum unless fuzzing disabled it.
func (fs *FS) verifyCRC(buf []byte, crcOff int, off int64, what string) error {
	if fs.skipCRC {
		return nil
	}
	return checkCRC(buf, crcOff, off, what)
}

// Dinode reads and validates inode ino.
func (fs *FS) Dinode(ino uint64) (*Dinode, error) {
	off, err := fs.inodeOffset(ino)
	if err != nil {
		return nil, fmt.Errorf("xfs: %w", err)
	}
	sb := fs.sb
	buf := make([]byte, sb.InodeSize)
	what := fmt.Sprintf("inode %d", ino)
	if err := fs.readAt(buf, off, what); err != nil {
		return nil, err
	}
	if m := be.Uint16(buf[0:]); m != dinodeMagic {
		return nil, corrupt(off, "%s: bad magic %#04x (want %#04x \"IN\")", what, m, dinodeMagic)
	}
	if v := buf[4]; v != 3 {
		return nil, corrupt(off+4, "%s: version %d, want 3 on a v5 filesystem", what, v)
	}
	if err := fs.verifyCRC(buf, dinodeCRCOff, off, what); err != nil {
		return nil, err
	}
	if got := be.Uint64(buf[152:]); got != ino {
		return nil, corrupt(off+152, "%s: di_ino says %d", what, got)
	}
	if !bytes.Equal(buf[160:176], sb.MetaUUID[:]) {
		return nil, corrupt(off+160, "%s: di_uuid does not match the filesystem", what)
	}
	d := &Dinode{
		Ino:     ino,
		Offset:  off,
		Mode:    be.Uint16(buf[2:]),
		Format:  buf[5],
		Nlink:   be.Uint32(buf[16:]),
		Size:    int64(be.Uint64(buf[56:])),
		NBlocks: be.Uint64(buf[64:]),
		Extsize: be.Uint32(buf[72:]),
		ForkOff: buf[82],
		AFormat: buf[83],
		Flags:   be.Uint16(buf[90:]),
		Gen:     be.Uint32(buf[92:]),
		Flags2:  be.Uint64(buf[120:]),
	}
	if d.Flags2&^diflag2Known != 0 {
		return nil, corrupt(off+120, "%s: unknown di_flags2 bits %#x", what, d.Flags2&^diflag2Known)
	}
	if d.Nrext64() {
		if !sb.HasNrext64() {
			return nil, corrupt(off+120, "%s: NREXT64 inode flag on a filesystem without the nrext64 feature", what)
		}
		// The 32-bit di_nextents slot holds the attr count instead.
		d.NExtents = be.Uint64(buf[24:])
		d.ANExtents = be.Uint32(buf[76:])
		if d.NExtents > maxExtCnt48 {
			return nil, corrupt(off+24, "%s: di_big_nextents %d exceeds 2^48-1", what, d.NExtents)
		}
	} else {
		d.NExtents = uint64(be.Uint32(buf[76:]))
		d.ANExtents = uint32(be.Uint16(buf[80:]))
		if d.NExtents > maxExtCnt32 {
			return nil, corrupt(off+76, "%s: di_nextents %d exceeds 2^31-1", what, d.NExtents)
		}
	}
	if d.Mode == 0 {
		return nil, corrupt(off+2, "%s: mode 0, the inode is free", what)
	}
	if d.Size < 0 {
		return nil, corrupt(off+56, "%s: negative size %d", what, d.Size)
	}
	litino := int(sb.InodeSize) - dinodeCoreSize
	dsize := litino
	if d.ForkOff != 0 {
		dsize = int(d.ForkOff) << 3
		if dsize >= litino {
			return nil, corrupt(off+82, "%s: di_forkoff %d leaves no room for the attr fork (literal area %d bytes)", what, d.ForkOff, litino)
		}
	}
	d.dataFork = buf[dinodeCoreSize : dinodeCoreSize+dsize]
	if err := fs.checkFormat(d, what); err != nil {
		return nil, err
	}
	return d, nil
}

// checkFormat enforces which data fork formats each file type may use
// (xfs_dinode_verify_fork).
func (fs *FS) checkFormat(d *Dinode, what string) error {
	fmtOff := d.Offset + 5
	switch d.Mode & sIFMT {
	case sIFREG:
		switch d.Format {
		case FmtExtents, FmtBtree:
		case FmtLocal:
			return corrupt(fmtOff, "%s: regular file with a LOCAL data fork: XFS never stores regular file data inline", what)
		default:
			return corrupt(fmtOff, "%s: regular file with data fork format %d", what, d.Format)
		}
	case sIFDIR, sIFLNK:
		switch d.Format {
		case FmtLocal, FmtExtents, FmtBtree:
		default:
			return corrupt(fmtOff, "%s: %s with data fork format %d", what, typeName(d.Mode), d.Format)
		}
		if d.Format == FmtLocal && d.Size > int64(len(d.dataFork)) {
			return corrupt(d.Offset+56, "%s: LOCAL %s of %d bytes exceeds the %d-byte data fork", what, typeName(d.Mode), d.Size, len(d.dataFork))
		}
	case sIFCHR, sIFBLK, sIFIFO, sIFSOCK:
		if d.Format != FmtDev {
			return corrupt(fmtOff, "%s: %s with data fork format %d, want DEV", what, typeName(d.Mode), d.Format)
		}
	default:
		return corrupt(d.Offset+2, "%s: invalid file type in mode %#o", what, d.Mode)
	}
	if d.Format == FmtExtents && d.NExtents*bmbtRecSize > uint64(len(d.dataFork)) {
		return corrupt(d.Offset+76, "%s: %d extents do not fit the %d-byte data fork", what, d.NExtents, len(d.dataFork))
	}
	return nil
}

func typeName(mode uint16) string {
	switch mode & sIFMT {
	case sIFREG:
		return "regular file"
	case sIFDIR:
		return "directory"
	case sIFLNK:
		return "symlink"
	}
	return fmt.Sprintf("special file (mode %#o)", mode)
}
