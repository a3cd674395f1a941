package reference

import (
	"errors"
	"fmt"
)

// ErrUnsupported is wrapped by Apply when the filesystem does not implement
// the operation (ext2 has no ->fallocate; gfs2 has no ZERO_RANGE; chattr +j
// is modelled for gfs2 only). The runner skips such a case on that fs.
var ErrUnsupported = errors.New("operation not supported by this filesystem")

// ErrInvalid is wrapped by Apply when the kernel would reject the op with
// EINVAL (or SIGBUS for a store past EOF) before changing anything.
var ErrInvalid = errors.New("invalid operation")

// MaxModelSize bounds the file size the model accepts; the content is a dense
// buffer, so a stray huge offset would otherwise allocate gigabytes.
const MaxModelSize = 1 << 28

// BlockState is what the host may assert about one logical block of the file
// after the guest unmounted cleanly.
type BlockState uint8

const (
	// MustBeHole: no block may be mapped (unless MayBeAllocated); reads zero.
	MustBeHole BlockState = iota
	// ReadsZero: mapped or not, the block must read as zeros.
	ReadsZero
	// AllocatedZero: a block must be mapped (unwritten extent, or written
	// zeros as gfs2 fallocate and ext4's unwritten zero-out produce) and
	// must read as zeros.
	AllocatedZero
	// Data: a block must be mapped and written; its bytes equal Content()
	// for the block and every byte past EOF in it is zero.
	Data
	// Inline: gfs2 stuffed file; the bytes live in the dinode at +232 and
	// the dinode bytes past 232+size are zero. No data block is mapped.
	Inline
)

var blockStateNames = [...]string{"MustBeHole", "ReadsZero", "AllocatedZero", "Data", "Inline"}

func (s BlockState) String() string {
	if int(s) < len(blockStateNames) {
		return blockStateNames[s]
	}
	return fmt.Sprintf("BlockState(%d)", uint8(s))
}

// Block is the model's verdict on one logical block.
type Block struct {
	Index  int64
	State  BlockState
	LastOp int // op index that last wrote data bytes into the block, -1 if none
	// MayBeAllocated: the fs may have mapped the block although the model
	// says hole or zero (xfs speculative preallocation, delalloc conversion
	// of a whole extent, folio-sized page_mkwrite reservations).
	MayBeAllocated bool
}

func (b Block) String() string {
	s := fmt.Sprintf("block %d: %s", b.Index, b.State)
	if b.LastOp >= 0 {
		s += fmt.Sprintf(" (last written by op %d)", b.LastOp)
	}
	if b.MayBeAllocated {
		s += " [may be allocated]"
	}
	return s
}

// MapType is the iomap mapping type (include/linux/iomap.h:28-32).
type MapType uint8

const (
	MapHole MapType = iota
	MapDelalloc
	MapMapped
	MapUnwritten
	MapInline
	// MapNone marks a buffer-head ->write_begin/->write_end (ext2, ext4),
	// where no iomap is involved.
	MapNone
)

var mapTypeNames = [...]string{"HOLE", "DELALLOC", "MAPPED", "UNWRITTEN", "INLINE", "NONE"}

func (t MapType) String() string {
	if int(t) < len(mapTypeNames) {
		return mapTypeNames[t]
	}
	return fmt.Sprintf("MapType(%d)", uint8(t))
}

// MapFlags are the iomap flags the model predicts (iomap.h:57-84 values).
type MapFlags uint16

const (
	FlagNew        MapFlags = 1 << 0
	FlagMerged     MapFlags = 1 << 3
	FlagBufferHead MapFlags = 1 << 4
)

func (f MapFlags) String() string {
	s := ""
	add := func(n string) {
		if s != "" {
			s += "|"
		}
		s += n
	}
	if f&FlagNew != 0 {
		add("NEW")
	}
	if f&FlagMerged != 0 {
		add("MERGED")
	}
	if f&FlagBufferHead != 0 {
		add("BH") // as the kernel's IOMAP_F_FLAGS_STRINGS spells it in the trace
	}
	return s
}

// CalloutKind says which kernel loop made the per-folio call.
type CalloutKind uint8

const (
	// CalloutWrite: iomap_write_iter (buffered-io.c:945-1051).
	CalloutWrite CalloutKind = iota
	// CalloutZero: iomap_zero_iter (buffered-io.c:1384-1451), from EOF
	// zeroing, truncate, punch and zero range.
	CalloutZero
	// CalloutAops: generic_perform_write's ->write_begin/->write_end on the
	// buffer-head path (ext2, ext4); the iomap callouts never fire there.
	CalloutAops
	// CalloutUnshare: iomap_unshare_iter (buffered-io.c:1305-1347), from
	// FALLOC_FL_UNSHARE_RANGE; traced as a write with op WRITE|UNSHARE.
	CalloutUnshare
)

var calloutKindNames = [...]string{"write", "zero", "aops", "unshare"}

func (k CalloutKind) String() string {
	if int(k) < len(calloutKindNames) {
		return calloutKindNames[k]
	}
	return fmt.Sprintf("CalloutKind(%d)", uint8(k))
}

// Callout is one write_begin/write_end pair on one folio.
type Callout struct {
	Op        int
	Kind      CalloutKind
	Pos       int64 // write_begin pos
	Len       int64 // write_begin len, after clamping to the folio
	Copied    int64 // copied passed to write_end
	Written   int64 // what write_end accepted (0 for a rejected short copy)
	FolioPos  int64
	FolioSize int64
	Map       MapType
	Flags     MapFlags
	// BeginStatus is write_begin's error when it failed (no write_end
	// follows): -EAGAIN where a RWF_NOWAIT write would have to read a
	// block (syncwrite.go).
	BeginStatus int
	// MayBeAbsent: the kernel may have returned before this step (an
	// EAGAIN the guest saw could come from an earlier check), so the
	// trace may lack it.
	MayBeAbsent bool
}

func (c Callout) String() string {
	return fmt.Sprintf("op %d %s folio@%#x+%#x pos=%#x len=%#x copied=%#x written=%#x map=%s flags=%s",
		c.Op, c.Kind, c.FolioPos, c.FolioSize, c.Pos, c.Len, c.Copied, c.Written, c.Map, c.Flags)
}

// Read is one synchronous read of on-disk blocks into the page cache made
// by a write (iomap_read_folio_sync, buffered-io.c:707-717, or bh_read on
// the buffer-head path): the bytes [Pos, Pos+Len) of the file were taken
// from disk rather than zeroed. Every other partial-block byte a write
// exposed was zeroed.
type Read struct {
	Op       int
	Pos, Len int64
}

// Span is a byte range [Pos, Pos+Len) that op Op dealt with.
type Span struct {
	Op       int
	Pos, Len int64
}
