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

	"github.com/iomapct/iomapct/filesystems"
)

// Poison is the pattern free space holds before mkfs. It is never produced
// by cases.Data (whose bytes encode op numbers), so finding it inside a
// file means stale disk contents were exposed.
var Poison = []byte("POISON!\n")

// Spec says which image to make.
type Spec struct {
	FS        string // a registered filesystem (filesystems.Lookup)
	BlockSize int64
	Size      int64 // bytes
	Path      string
}

// Supported lists the block sizes each filesystem is tested at here
// (the registry's Entry.BlockSizes).
var Supported = func() map[string][]int64 {
	m := map[string][]int64{}
	for _, e := range filesystems.All() {
		m[e.Name] = e.BlockSizes
	}
	return m
}()

// Args returns the pinned mkfs command line (the registry's Entry.Mkfs).
func Args(s Spec) ([]string, error) {
	e, err := filesystems.Lookup(s.FS)
	if err != nil {
		return nil, fmt.Errorf("mkfs: %w", err)
	}
	return e.Mkfs(s.BlockSize, s.Path), nil
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
			return fmt.Errorf("%s not found: install %s (make deps does)", args[0], packages(s.FS))
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

// packages names the Debian packages of fs's tools, for "not found".
func packages(fs string) string {
	e, err := filesystems.Lookup(fs)
	if err != nil {
		return "its tools"
	}
	return strings.Join(e.Packages, " ")
}

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
			return fmt.Errorf("%s not found: install %s (make deps does)", args[0], packages(fs))
		}
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func checkArgs(fs, path string) ([]string, error) {
	e, err := filesystems.Lookup(fs)
	if err != nil {
		return nil, fmt.Errorf("fsck: %w", err)
	}
	return e.Fsck(path), nil
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
			return fmt.Errorf("%s not found on PATH: install %s (make deps does)", tool, packages(fs))
		}
	}
	return nil
}

// CheckRecovered checks an image the kernel recovered after a power cut.
// A journaling filesystem must be clean: its Entry.CrashFsck (read-only)
// if it has one, else Check. Without a journal (ext2) the checker's repair
// is the recovery, and only damage it cannot repair fails: exit status 1
// and 2 (errors corrected) pass.
func CheckRecovered(ctx context.Context, fs, path string) error {
	e, err := filesystems.Lookup(fs)
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	if e.CrashFsck == nil {
		return Check(ctx, fs, path)
	}
	args := e.CrashFsck(path)
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok && !e.Caps.Journal && ee.ExitCode() < 4 {
		return nil // 1, 2: errors corrected
	}
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
