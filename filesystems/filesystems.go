// Package filesystems is the registry of the filesystems iomapct tests:
// one Entry per filesystem holding what the rest of the project used to
// spell out by switching on its name — the pinned mkfs and fsck command
// lines and the Debian packages that carry them, the block sizes, the host
// reader that opens an image, the kernel options it needs built in, what
// it can do (Caps), and its relative cost in the guest. Code that needs a
// filesystem fact asks Lookup; no other package holds a filesystem name
// literal except the places README "Adding a filesystem" lists (the guard
// test, TestNoNameLiteralsOutsideAllowedPlaces, keeps it so).
//
// Placement: the registry imports the host readers (ondisk/ext,
// ondisk/xfs, ondisk/gfs2), which import only the ondisk types, so an
// entry names its reader directly and a missing one is a compile error,
// not a registration that did not run. Everything else imports the
// registry: ondisk/mkfs (command lines), cases (capabilities), kernel
// (the Mutant-FS whitelist), runner and cmd. The model's personality — how
// the 6.12 kernel's write path behaves on the filesystem, its folio
// geometry and which callouts it can predict — is model policy and lives
// in reference (reference/personality.go), keyed by the entry's name; a
// test there holds the two lists equal. The registry does not import
// reference, so the model stays a consumer of the vocabulary, not of the
// registry's users.
package filesystems

import (
	"fmt"
	"io"
	"strings"

	"github.com/iomapct/iomapct/ondisk"
)

// Entry is one filesystem.
type Entry struct {
	// Name is the filesystem's name as mount(2), mkfs.<name>, disk names
	// ("xfs-4k") and the --fs flag spell it.
	Name string
	// Packages are the Debian packages that hold the Mkfs and Fsck tools
	// (scripts/deps.sh installs them: `iomapct deps`).
	Packages []string
	// Mkfs is the pinned mkfs command line for an image at path with
	// blocks of bs bytes. Discard is always off: it would punch the
	// poison out of a regular file (ondisk/mkfs).
	Mkfs func(bs int64, path string) []string
	// Fsck is the filesystem's own checker, read-only: exit 0 means clean.
	Fsck func(path string) []string
	// CrashFsck, when set, replaces Fsck on an image recovered after a
	// power cut (runner's crash check). With Journal false it is a repair
	// (there is no journal to replay: the checker is the recovery), and
	// exit status 1 or 2 (errors corrected, e2fsck's convention) passes.
	CrashFsck func(path string) []string
	// BlockSizes are the block sizes the catalogue, the readers and the
	// model are tested at here (ondisk/mkfs.Supported).
	BlockSizes []int64
	// MountBlockSizes is the range of block sizes the filesystem mounts
	// with on the 6.12 x86_64 kernel (4 KiB pages), which --bs accepts.
	MountBlockSizes [2]int64
	// KernelConfig are the options the kernel needs built in
	// (kernel/config/20-filesystems.config holds them; a test checks).
	KernelConfig []string
	// Open opens an image with iomapct's own reader.
	Open func(r io.ReaderAt) (ondisk.Reader, error)
	// Caps is what the filesystem can do, as the cases use it.
	Caps Caps
	// Cost weighs the filesystem's guest time per op relative to ext2
	// (percent); the shard planner and the VM split use it.
	Cost int
	// SpaceSlack is what the filesystem may allocate beyond a file's
	// bytes, in eighths of them, while a case's files are still on the
	// image (runner sizes images from the plan with it): xfs's speculative
	// preallocation past EOF and copy-on-write staging extents can double
	// a file; indirect, extent-tree and gfs2 metadata blocks add far less
	// than an eighth.
	SpaceSlack int64
}

// Caps are the features cases and the crash check depend on.
type Caps struct {
	// Fallocate: the filesystem has ->fallocate (allocation, KEEP_SIZE,
	// PUNCH_HOLE). ext2 has none (EOPNOTSUPP).
	Fallocate bool
	// Unwritten: fallocated blocks are unwritten extents (gfs2 zeroes
	// them on disk instead).
	Unwritten bool
	// ZeroRange: FALLOC_FL_ZERO_RANGE (gfs2_fallocate rejects it).
	ZeroRange bool
	// Shift: FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE (ext4
	// extent files and xfs; gfs2_fallocate takes only PUNCH_HOLE and
	// KEEP_SIZE).
	Shift bool
	// Reflink: ->remap_file_range, so FICLONE, FICLONERANGE,
	// FIDEDUPERANGE and copy_file_range share blocks, and the host reader
	// reports shared extents.
	Reflink bool
	// JournalData: the per-file journaled-data flag (chattr +j) as the
	// cases and the model know it — gfs2 jdata, whose writes go through
	// iomap with the jdata folio hooks.
	JournalData bool
	// Stuffed: a new file keeps its data inside the inode until it
	// outgrows it (gfs2 stuffed dinodes, di_height 0); O_DIRECT on a
	// stuffed file is not a direct write.
	Stuffed bool
	// DirectIO: open(O_DIRECT) on a regular file.
	DirectIO bool
	// NoWait: buffered writes with RWF_NOWAIT (FMODE_BUF_WASYNC; others
	// return EOPNOTSUPP).
	NoWait bool
	// Journal: metadata is journaled and mount replays it after a crash.
	// Without one (ext2), data written before a cut may surface in blocks
	// the crash left allocated, and the checker is the recovery.
	Journal bool
}

// OneImage is the filesystem of a one-image session (iomapct shell) when
// --fs does not name one: ext4, the filesystem most readers know.
const OneImage = "ext4"

// byName and order are the registry: entries.go fills them.
var (
	byName = map[string]*Entry{}
	order  []*Entry
)

func register(e Entry) {
	if _, dup := byName[e.Name]; dup {
		panic("filesystems: " + e.Name + " registered twice")
	}
	p := &e
	byName[e.Name] = p
	order = append(order, p)
}

// Lookup returns the entry of name, or an error that lists the known ones.
func Lookup(name string) (*Entry, error) {
	if e, ok := byName[name]; ok {
		return e, nil
	}
	return nil, fmt.Errorf("unknown filesystem %q (want %s)", name, strings.Join(Names(), ", "))
}

// Known reports whether name is a registered filesystem.
func Known(name string) bool {
	_, ok := byName[name]
	return ok
}

// Get returns the entry of name, and a zero entry (no capabilities, no
// cost) for an unknown one: for callers that have validated the name
// already and ask only for a capability.
func Get(name string) Entry {
	if e, ok := byName[name]; ok {
		return *e
	}
	return Entry{Name: name}
}

// All returns every entry, in registry order (ext2, ext4, xfs, gfs2).
func All() []*Entry { return append([]*Entry(nil), order...) }

// Names returns every filesystem name, in registry order.
func Names() []string {
	var out []string
	for _, e := range order {
		out = append(out, e.Name)
	}
	return out
}

// With returns, in registry order, the names of the filesystems whose
// capabilities satisfy has (cases.Case.Only lists are built this way).
func With(has func(Caps) bool) []string {
	var out []string
	for _, e := range order {
		if has(e.Caps) {
			out = append(out, e.Name)
		}
	}
	return out
}

// Packages returns the Debian packages of every filesystem's tools,
// without repeats, in registry order.
func Packages() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range order {
		for _, p := range e.Packages {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// Open opens the image in r with the reader of filesystem name.
func Open(name string, r io.ReaderAt) (ondisk.Reader, error) {
	e, err := Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("no reader: %w", err)
	}
	return e.Open(r)
}
