// Package cases holds the operation vocabulary shared by the guest agent
// (which executes each op with real syscalls) and the reference model (which
// predicts its effect), plus the catalogue of deterministic cases. Writing a
// case once here is what keeps the guest and the model from drifting apart.
package cases

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind names one operation of the vocabulary.
type Kind string

// The vocabulary. Offsets and lengths are bytes within the single test file.
const (
	// PWrite is pwrite(2) of Len bytes at Off.
	PWrite Kind = "pwrite"
	// Writev is pwritev(2) at Off with iovecs of the lengths in Segs.
	Writev Kind = "writev"
	// Append is write(2) of Len bytes on an O_APPEND descriptor.
	Append Kind = "append"
	// DirectWrite is pwrite(2) of Len bytes at Off through an O_DIRECT
	// descriptor (both must be aligned to the logical block size).
	DirectWrite Kind = "dwrite"
	// ShortCopy is pwrite(2) of Len bytes at Off from a user buffer whose
	// bytes past Copied are inaccessible (the boundary sits exactly at a page
	// boundary), so the kernel's copy comes up short.
	ShortCopy Kind = "shortcopy"
	// MmapWrite stores Len bytes at Off through a shared mapping and msyncs
	// (MS_SYNC). Like fsx's mapwrite it first extends the file with
	// ftruncate when the range ends past EOF, since a store past EOF would
	// SIGBUS.
	MmapWrite Kind = "mmapwrite"
	// PolluteEOF stores garbage past EOF in the EOF page through mmap (fsx -e),
	// without msync; it must never become visible.
	PolluteEOF Kind = "polluteeof"
	// Truncate is ftruncate(2) to Off.
	Truncate Kind = "truncate"
	// Fallocate is fallocate(2) mode 0 (or KEEP_SIZE) over [Off, Off+Len).
	Fallocate Kind = "fallocate"
	// PunchHole is fallocate(PUNCH_HOLE|KEEP_SIZE) over [Off, Off+Len).
	PunchHole Kind = "punch"
	// ZeroRange is fallocate(ZERO_RANGE) (or with KEEP_SIZE) over [Off, Off+Len).
	ZeroRange Kind = "zero"
	// Fsync, Fdatasync and Sync flush; they do not change content.
	Fsync     Kind = "fsync"
	Fdatasync Kind = "fdatasync"
	Sync      Kind = "sync"
	// DropCaches writes 3 to /proc/sys/vm/drop_caches after a sync.
	DropCaches Kind = "dropcaches"
	// Remount unmounts and mounts the filesystem again (cold page cache).
	Remount Kind = "remount"
	// JournalData sets FS_JOURNAL_DATA_FL (chattr +j); gfs2 only.
	JournalData Kind = "chattr+j"
	// SetUID makes the file set-user-ID (fchmod 04755): writes then go
	// through file_remove_privs' checks every time (no S_NOSEC), which
	// changes locking, never bytes (op_mode.go).
	SetUID Kind = "chmod+s"
)

// Reads, range shifts and pwritev2 (see op_read.go for their rules).
const (
	// Read is pread(2) of Len bytes at Off; the guest reports the bytes.
	Read Kind = "read"
	// MapRead reads Len bytes at Off through a shared mapping; past EOF
	// inside the EOF page reads zero, a page beyond it would SIGBUS.
	MapRead Kind = "mapread"
	// Collapse is fallocate(FALLOC_FL_COLLAPSE_RANGE) over [Off, Off+Len).
	Collapse Kind = "collapse"
	// Insert is fallocate(FALLOC_FL_INSERT_RANGE) over [Off, Off+Len).
	Insert Kind = "insert"
	// PWritev2 is pwritev2(2) of Len bytes at Off with the RWF_* flags in
	// RWF (with append, at EOF).
	PWritev2 Kind = "pwritev2"
)

// Kinds lists every kind, in a stable order.
var Kinds = []Kind{PWrite, Writev, Append, DirectWrite, ShortCopy, MmapWrite, PolluteEOF,
	Truncate, Fallocate, PunchHole, ZeroRange, Fsync, Fdatasync, Sync, DropCaches, Remount, JournalData, SetUID,
	Clone, Dedupe, CopyRange, Unshare,
	Read, MapRead, Collapse, Insert, PWritev2}

// Op is one operation of a sequence.
type Op struct {
	Kind Kind  `json:"op"`
	Off  int64 `json:"off,omitempty"`
	Len  int64 `json:"len,omitempty"`
	// Segs are the iovec lengths of a Writev; they add up to Len.
	Segs []int64 `json:"segs,omitempty"`
	// Copied is how many leading bytes of a ShortCopy's buffer are mapped.
	Copied int64 `json:"copied,omitempty"`
	// KeepSize selects FALLOC_FL_KEEP_SIZE for Fallocate, ZeroRange and
	// Unshare.
	KeepSize bool `json:"keep_size,omitempty"`
	// File is the case file the op acts on: 0 is the case's own file, N
	// the file <name>.<N> beside it (see multifile.go). Sync, DropCaches
	// and Remount act on the whole filesystem and take none.
	File int `json:"file,omitempty"`
	// Src and SrcOff name the source file and offset of Clone, Dedupe and
	// CopyRange; File and Off are the destination.
	Src    int   `json:"src,omitempty"`
	SrcOff int64 `json:"src_off,omitempty"`
	// Sync opens a PWrite's (or a Fallocate's) descriptor with O_SYNC
	// ("osync") or O_DSYNC ("odsync"); empty for a plain one.
	Sync string `json:"sync,omitempty"`
	// RWF lists a PWritev2's RWF_* flags, comma-separated in the order
	// dsync,sync,nowait,append (see RWFNames).
	RWF string `json:"rwf,omitempty"`
}

// Writes reports whether the op stores data bytes produced by Data.
func (o Op) Writes() bool {
	switch o.Kind {
	case PWrite, Writev, Append, DirectWrite, ShortCopy, MmapWrite, PWritev2:
		return true
	}
	return false
}

// Data returns the n bytes that op number index writes at file offset off.
// Every byte is non-zero (so a zero on disk is never mistaken for data) and
// encodes the op number, as fsx does, so a byte diff can say which op last
// wrote a range. Both the guest and the model call this.
func Data(index int, off int64, n int) []byte {
	b := make([]byte, n)
	FillData(b, index, off)
	return b
}

// FillData fills b with the bytes op number index writes at offset off.
func FillData(b []byte, index int, off int64) {
	tag := uint32(index%255) + 1 // 1..255
	for i := range b {
		p := uint32(off) + uint32(i)
		// Mix the position so that a shifted copy is detected, keep the op
		// tag recoverable from the low bits of even offsets.
		v := tag
		if p&1 == 1 {
			v = (tag + (p>>1)*7 + (p>>9)*13) % 255
			v++
		}
		b[i] = byte(v)
	}
}

// String renders the op in the replay-file syntax parsed by ParseOp.
func (o Op) String() string {
	var sb strings.Builder
	sb.WriteString(string(o.Kind))
	if o.File != 0 {
		// Written first so every kind's numbers keep their places.
		fmt.Fprintf(&sb, " f=%d", o.File)
	}
	switch o.Kind {
	case Clone, Dedupe, CopyRange:
		fmt.Fprintf(&sb, " %d %#x %#x %#x", o.Src, o.SrcOff, o.Off, o.Len)
		return sb.String()
	case Fsync, Fdatasync, Sync, DropCaches, Remount, JournalData, SetUID:
		return sb.String()
	case Truncate:
		fmt.Fprintf(&sb, " %#x", o.Off)
		return sb.String()
	case Append:
		fmt.Fprintf(&sb, " %#x", o.Len)
		return sb.String()
	}
	fmt.Fprintf(&sb, " %#x %#x", o.Off, o.Len)
	if len(o.Segs) > 0 {
		parts := make([]string, len(o.Segs))
		for i, s := range o.Segs {
			parts[i] = fmt.Sprintf("%#x", s)
		}
		sb.WriteString(" segs=" + strings.Join(parts, ","))
	}
	if o.Kind == ShortCopy {
		fmt.Fprintf(&sb, " copied=%#x", o.Copied)
	}
	if o.KeepSize {
		sb.WriteString(" keep_size")
	}
	if o.Sync != "" {
		sb.WriteString(" sync=" + o.Sync)
	}
	if o.RWF != "" {
		sb.WriteString(" rwf=" + o.RWF)
	}
	return sb.String()
}

// ParseOp parses one line written by Op.String.
func ParseOp(line string) (Op, error) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return Op{}, fmt.Errorf("empty op")
	}
	o := Op{Kind: Kind(f[0])}
	known := false
	for _, k := range Kinds {
		if k == o.Kind {
			known = true
		}
	}
	if !known {
		return Op{}, fmt.Errorf("unknown op %q", f[0])
	}
	num := func(s string) (int64, error) {
		v, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return 0, fmt.Errorf("op %q: bad number %q", line, s)
		}
		return v, nil
	}
	var nums []int64
	for _, w := range f[1:] {
		switch {
		case w == "keep_size":
			o.KeepSize = true
		case strings.HasPrefix(w, "f="):
			v, err := num(strings.TrimPrefix(w, "f="))
			if err != nil {
				return Op{}, err
			}
			o.File = int(v)
		case strings.HasPrefix(w, "segs="):
			for _, s := range strings.Split(strings.TrimPrefix(w, "segs="), ",") {
				v, err := num(s)
				if err != nil {
					return Op{}, err
				}
				o.Segs = append(o.Segs, v)
			}
		case strings.HasPrefix(w, "sync="):
			o.Sync = strings.TrimPrefix(w, "sync=")
		case strings.HasPrefix(w, "rwf="):
			o.RWF = strings.TrimPrefix(w, "rwf=")
		case strings.HasPrefix(w, "copied="):
			v, err := num(strings.TrimPrefix(w, "copied="))
			if err != nil {
				return Op{}, err
			}
			o.Copied = v
		default:
			v, err := num(w)
			if err != nil {
				return Op{}, err
			}
			nums = append(nums, v)
		}
	}
	want := 2
	switch o.Kind {
	case Fsync, Fdatasync, Sync, DropCaches, Remount, JournalData, SetUID:
		want = 0
	case Truncate, Append:
		want = 1
	case Clone, Dedupe, CopyRange:
		want = 4
	}
	if len(nums) != want {
		return Op{}, fmt.Errorf("op %q: want %d numbers, got %d", line, want, len(nums))
	}
	switch {
	case o.Kind == Truncate:
		o.Off = nums[0]
	case o.Kind == Append:
		o.Len = nums[0]
	case want == 2:
		o.Off, o.Len = nums[0], nums[1]
	case want == 4:
		if nums[0] < 0 || nums[0] >= MaxFiles {
			return Op{}, fmt.Errorf("op %q: source file %d is not in [0, %d)", line, nums[0], MaxFiles)
		}
		o.Src, o.SrcOff, o.Off, o.Len = int(nums[0]), nums[1], nums[2], nums[3]
	}
	return o, o.Validate()
}

// Validate checks the op's fields are consistent.
func (o Op) Validate() error {
	if o.Off < 0 || o.Len < 0 {
		return fmt.Errorf("op %s: negative offset or length", o)
	}
	if o.Len > math.MaxInt64-o.Off {
		return fmt.Errorf("op %s: offset + length overflows a file offset", o)
	}
	if o.Kind == Writev {
		var sum int64
		for _, s := range o.Segs {
			if s <= 0 {
				return fmt.Errorf("op %s: iovec lengths must be positive", o)
			}
			if s > math.MaxInt64-sum {
				return fmt.Errorf("op %s: iovec lengths overflow", o)
			}
			sum += s
		}
		if len(o.Segs) == 0 || sum != o.Len {
			return fmt.Errorf("op %s: iovec lengths add up to %d, not len %d", o, sum, o.Len)
		}
	}
	if o.Kind == ShortCopy && (o.Copied < 0 || o.Copied >= o.Len) {
		return fmt.Errorf("op %s: copied must be in [0, len)", o)
	}
	// Fields a kind does not use would be lost by String (the replay
	// syntax) and ignored by the guest: refuse them rather than let a
	// replayed sequence differ from the one that ran.
	if o.Kind != Writev && len(o.Segs) > 0 {
		return fmt.Errorf("op %s: only writev takes segs", o.Kind)
	}
	if o.Kind != ShortCopy && o.Copied != 0 {
		return fmt.Errorf("op %s: only shortcopy takes copied", o.Kind)
	}
	if o.KeepSize && o.Kind != Fallocate && o.Kind != ZeroRange && o.Kind != Unshare {
		return fmt.Errorf("op %s: only fallocate, zero and unshare take keep_size", o.Kind)
	}
	if err := o.validateFiles(); err != nil {
		return err
	}
	return o.validateReadShiftSync()
}
