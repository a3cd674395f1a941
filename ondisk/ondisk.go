// Package ondisk defines what the host-side image readers answer. The readers
// themselves (ondisk/ext, ondisk/xfs, ondisk/gfs2) are strict, read-only and
// independent of the kernel under test: the verdict never trusts the guest's
// own view of the file.
package ondisk

import "fmt"

// Kind is what a logical block of a file maps to.
type Kind int

const (
	// Hole: no block allocated; reads as zero.
	Hole Kind = iota
	// Data: an allocated, written block; read from Physical.
	Data
	// Unwritten: allocated but flagged unwritten/uninitialised; reads as zero
	// whatever the physical block holds.
	Unwritten
	// Inline: stored inside the inode (gfs2 stuffed, ext4 inline_data).
	Inline
)

func (k Kind) String() string {
	switch k {
	case Hole:
		return "hole"
	case Data:
		return "data"
	case Unwritten:
		return "unwritten"
	case Inline:
		return "inline"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Extent maps Count logical blocks starting at Logical to physical blocks
// starting at Physical (filesystem blocks, byte address Physical*BlockSize).
// For Inline, Physical is meaningless and InlineOffset gives the byte
// address of the data in the image.
type Extent struct {
	Logical  uint64
	Physical uint64
	Count    uint64
	Kind     Kind
	// InlineOffset is the image byte offset of inline data (Kind == Inline).
	InlineOffset int64
}

// Inode is what a reader reports about one file.
type Inode struct {
	Ino  uint64
	Size int64
	// Mode is the raw on-disk mode (type and permission bits).
	Mode uint32
	// Flags are the raw on-disk inode flags of the filesystem (ext4
	// i_flags, xfs di_flags, gfs2 di_flags).
	Flags uint64
	// Inline is true for a gfs2 stuffed or ext4 inline_data file.
	Inline bool
	// JournalData is true when the file's data is journaled (gfs2 jdata,
	// ext4 EXT4_JOURNAL_DATA_FL).
	JournalData bool
	// Extents are sorted by Logical; holes inside the file are listed
	// explicitly only if the reader knows them, gaps also mean holes.
	Extents []Extent
}

// Reader reads one filesystem image.
type Reader interface {
	// FSType is "ext2", "ext4", "xfs" or "gfs2".
	FSType() string
	// BlockSize is the filesystem block size in bytes.
	BlockSize() int
	// Inode reads inode ino, including its full block map.
	Inode(ino uint64) (*Inode, error)
	// ReadFile returns the file's Size bytes: holes and unwritten extents as
	// zeros, inline data from the inode.
	ReadFile(ino uint64) ([]byte, error)
	// EOFTail returns the on-disk bytes of the block holding EOF from Size
	// to the end of that block (for inline files: to the end of the inline
	// area). Empty when Size is block aligned or the EOF block is a hole or
	// unwritten.
	EOFTail(ino uint64) ([]byte, error)
	// RawBlock returns filesystem block n as stored in the image.
	RawBlock(n uint64) ([]byte, error)
	// Lookup resolves an absolute path ("/dir/file") to an inode number.
	Lookup(path string) (uint64, error)
}

// CorruptError says exactly where an image violates its format.
type CorruptError struct {
	FS     string
	Offset int64 // image byte offset of the offending structure
	What   string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: corrupt image at byte %d (%#x): %s", e.FS, e.Offset, e.Offset, e.What)
}
