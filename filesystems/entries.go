package filesystems

import (
	"fmt"
	"io"

	"github.com/iomapct/iomapct/ondisk"
	"github.com/iomapct/iomapct/ondisk/ext"
	"github.com/iomapct/iomapct/ondisk/gfs2"
	"github.com/iomapct/iomapct/ondisk/xfs"
)

// The four filesystems, in the order reports and the default matrix list
// them. Cost was measured from the agent's record timestamps of one
// full-matrix run (--random 50, one VM, TCG): per disk, from its first
// case to its unmount, with nearly equal op counts on every disk: ext2
// 1.4 s, xfs 1.7 s, ext4 2.0 s, gfs2 3.4 s (1k and 4k averaged).
func init() {
	openExt := reader(ext.Open)
	e2fsck := func(path string) []string { return []string{"e2fsck", "-f", "-n", path} }
	register(Entry{
		Name:     "ext2",
		Packages: []string{"e2fsprogs"},
		Mkfs: func(bs int64, path string) []string {
			return []string{"mkfs.ext2", "-F", "-q", "-b", fmt.Sprint(bs), "-E", "nodiscard", "-I", "256", path}
		},
		Fsck: e2fsck,
		// No journal: e2fsck repairing the image is its recovery; only
		// damage it cannot repair is a failure.
		CrashFsck:  func(path string) []string { return []string{"e2fsck", "-f", "-y", path} },
		BlockSizes: []int64{1024, 2048, 4096},
		// ext2_fill_super: "bad blocksize" outside 1024..PAGE_SIZE.
		MountBlockSizes: [2]int64{1024, 4096},
		KernelConfig:    []string{"CONFIG_EXT2_FS=y"},
		Open:            openExt,
		Caps:            Caps{DirectIO: true},
		Cost:            100,
		SpaceSlack:      9,
	})
	register(Entry{
		Name:     "ext4",
		Packages: []string{"e2fsprogs"},
		// No orphan_file: e2fsprogs 1.47 adds it by default; keep the
		// feature set the readers know and that every 6.12 fsck handles.
		Mkfs: func(bs int64, path string) []string {
			return []string{"mkfs.ext4", "-F", "-q", "-b", fmt.Sprint(bs), "-E", "nodiscard", "-I", "256",
				"-O", "extents,64bit,metadata_csum,^orphan_file", path}
		},
		Fsck:       e2fsck,
		BlockSizes: []int64{1024, 2048, 4096},
		// ext4_load_super: 1024..PAGE_SIZE.
		MountBlockSizes: [2]int64{1024, 4096},
		KernelConfig:    []string{"CONFIG_EXT4_FS=y"},
		Open:            openExt,
		Caps:            Caps{Fallocate: true, Unwritten: true, ZeroRange: true, Shift: true, DirectIO: true, Journal: true},
		Cost:            140,
		SpaceSlack:      9,
	})
	register(Entry{
		Name:     "xfs",
		Packages: []string{"xfsprogs"},
		Mkfs: func(bs int64, path string) []string {
			return []string{"mkfs.xfs", "-f", "-q", "-K", "-b", "size=" + fmt.Sprint(bs),
				"-m", "crc=1,reflink=1,rmapbt=0", "-i", "nrext64=0", path}
		},
		Fsck: func(path string) []string { return []string{"xfs_repair", "-n", "-f", path} },
		// A 16 MiB xfs (the crash images) has one allocation group, whose
		// geometry xfs_repair cannot cross-check against a secondary
		// superblock and refuses to trust unless told to.
		CrashFsck:  func(path string) []string { return []string{"xfs_repair", "-n", "-f", "-o", "force_geometry", path} },
		BlockSizes: []int64{1024, 2048, 4096},
		// v5: 1024 up to 64 KiB (larger than a page only with large
		// folios; a mount failure then names itself).
		MountBlockSizes: [2]int64{1024, 65536},
		KernelConfig:    []string{"CONFIG_XFS_FS=y"},
		Open:            reader(xfs.Open),
		Caps: Caps{Fallocate: true, Unwritten: true, ZeroRange: true, Shift: true, Reflink: true,
			DirectIO: true, NoWait: true, Journal: true},
		Cost: 120,
		// 2x: preallocation kept past EOF once a file is released with
		// delalloc blocks outstanding (XFS_IDIRTY_RELEASE), and the
		// cowextsize staging extents (32 blocks) of reflinked files, which
		// only background blockgc frees.
		SpaceSlack: 16,
	})
	register(Entry{
		Name:     "gfs2",
		Packages: []string{"gfs2-utils"},
		Mkfs: func(bs int64, path string) []string {
			return []string{"mkfs.gfs2", "-O", "-q", "-p", "lock_nolock", "-j", "1", "-J", "8", "-b", fmt.Sprint(bs), "-K", path}
		},
		Fsck:       func(path string) []string { return []string{"fsck.gfs2", "-n", path} },
		BlockSizes: []int64{512, 1024, 2048, 4096},
		// gfs2's sb_set_blocksize: 512..PAGE_SIZE.
		MountBlockSizes: [2]int64{512, 4096},
		KernelConfig:    []string{"CONFIG_GFS2_FS=y"},
		Open:            reader(gfs2.Open),
		Caps:            Caps{Fallocate: true, JournalData: true, Stuffed: true, DirectIO: true, Journal: true},
		Cost:            240,
		SpaceSlack:      9,
	})
}

// reader adapts a reader package's Open to Entry.Open; a failed open gives
// a nil Reader, not a typed nil pointer inside a non-nil interface.
func reader[T ondisk.Reader](open func(io.ReaderAt) (T, error)) func(io.ReaderAt) (ondisk.Reader, error) {
	return func(r io.ReaderAt) (ondisk.Reader, error) {
		fs, err := open(r)
		if err != nil {
			return nil, err
		}
		return fs, nil
	}
}
