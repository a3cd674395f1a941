// Package mkfs makes filesystem images with the real tools and pinned
// options, on files pre-filled with a poison pattern so that stale data
// surfacing in a file is visible, and checks them with the real fsck.
package mkfs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Poison is the pattern free space holds before mkfs. It is never produced
// by cases.Data (whose bytes encode op numbers), so finding it inside a
// file means stale disk contents were exposed.
var Poison = []byte("POISON!\n")

// Spec says which image to make.
type Spec struct {
	FS        string // ext2, ext4, xfs, gfs2
	BlockSize int64
	Size      int64 // bytes
	Path      string
}

// Supported lists the block sizes each filesystem is tested at here.
var Supported = map[string][]int64{
	"ext2": {1024, 2048, 4096},
	"ext4": {1024, 2048, 4096},
	"xfs":  {1024, 2048, 4096},
	"gfs2": {512, 1024, 2048, 4096},
}

// Args returns the pinned mkfs command line. Discard is always off (it would
// punch the poison out of a regular file).
func Args(s Spec) ([]string, error) {
	bs := fmt.Sprint(s.BlockSize)
	switch s.FS {
	case "ext2":
		return []string{"mkfs.ext2", "-F", "-q", "-b", bs, "-E", "nodiscard", "-I", "256", s.Path}, nil
	case "ext4":
		// No orphan_file: e2fsprogs 1.47 adds it by default; keep the
		// feature set the readers know and that every 6.12 fsck handles.
		return []string{"mkfs.ext4", "-F", "-q", "-b", bs, "-E", "nodiscard", "-I", "256",
			"-O", "extents,64bit,metadata_csum,^orphan_file", s.Path}, nil
	case "xfs":
		return []string{"mkfs.xfs", "-f", "-q", "-K", "-b", "size=" + bs,
			"-m", "crc=1,reflink=1,rmapbt=0", "-i", "nrext64=0", s.Path}, nil
	case "gfs2":
		return []string{"mkfs.gfs2", "-O", "-q", "-p", "lock_nolock", "-j", "1", "-J", "8", "-b", bs, "-K", s.Path}, nil
	}
	return nil, fmt.Errorf("mkfs: unknown filesystem %q (want ext2, ext4, xfs or gfs2)", s.FS)
}

// Make creates the image.
func Make(ctx context.Context, s Spec) error {
	args, err := Args(s)
	if err != nil {
		return err
	}
	if err := poisonFile(s.Path, s.Size); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// xfsprogs refuses filesystems under 300 MB except under fstests; our
	// images are small on purpose (fast to poison, copy and read).
	cmd.Env = append(os.Environ(), "TEST_DIR=/tmp", "TEST_DEV="+s.Path, "QA_CHECK_FS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		if _, lerr := exec.LookPath(args[0]); lerr != nil {
			return fmt.Errorf("%s not found: install %s (make deps does)", args[0], toolPackage[s.FS])
		}
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return preallocate(s.Path, s.Size)
}

// preallocate gives every block of the image backing store: mkfs leaves
// holes (it discards some ranges), and a write into one while the host
// disk is full would make QEMU pause the VM (its default on ENOSPC), which
// the watchdog would report, a minute later, as a hung case. This way a
// full disk is said now, naming the image.
func preallocate(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("preallocate %s: %w", path, err)
	}
	return nil
}

var toolPackage = map[string]string{"ext2": "e2fsprogs", "ext4": "e2fsprogs", "xfs": "xfsprogs", "gfs2": "gfs2-utils"}

func poisonFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := bytes.Repeat(Poison, (1<<20)/len(Poison))
	for off := int64(0); off < size; off += int64(len(chunk)) {
		n := min(int64(len(chunk)), size-off)
		if _, err := f.Write(chunk[:n]); err != nil {
			f.Close()
			return fmt.Errorf("poison %s: %w", path, err)
		}
	}
	return f.Close()
}

// Check runs the filesystem's own checker read-only and returns nil when it
// finds nothing, or an error carrying the tool's complaint.
func Check(ctx context.Context, fs, path string) error {
	args, err := checkArgs(fs, path)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		if _, lerr := exec.LookPath(args[0]); lerr != nil {
			return fmt.Errorf("%s not found: install %s (make deps does)", args[0], toolPackage[fs])
		}
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func checkArgs(fs, path string) ([]string, error) {
	switch fs {
	case "ext2", "ext4":
		return []string{"e2fsck", "-f", "-n", path}, nil
	case "xfs":
		return []string{"xfs_repair", "-n", "-f", path}, nil
	case "gfs2":
		return []string{"fsck.gfs2", "-n", path}, nil
	}
	return nil, fmt.Errorf("fsck: unknown filesystem %q", fs)
}

// NeedTools checks that the tools Make and Check run for fs are on PATH,
// so a missing one is said before a VM boots, not found after it as a
// failed check of the kernel's work.
func NeedTools(fs string) error {
	mk, err := Args(Spec{FS: fs, BlockSize: 4096, Path: "x"})
	if err != nil {
		return err
	}
	ck, err := checkArgs(fs, "x")
	if err != nil {
		return err
	}
	for _, tool := range []string{mk[0], ck[0]} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found on PATH: install %s (make deps does)", tool, toolPackage[fs])
		}
	}
	return nil
}
