package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Coverage asks for a kernel with gcov counters in a few objects only: the
// write path under test. GCOV_PROFILE_ALL would instrument the whole kernel
// (slower guest, bigger build); per-object GCOV_PROFILE_<obj>.o := y lines
// in the objects' directory Makefiles (scripts/Makefile.lib:131-138) keep
// every other object as it is.
type Coverage struct {
	// Objects are the instrumented objects, relative to the tree root
	// ("fs/iomap/buffered-io.o").
	Objects []string
}

// WritePathObjects is the buffered write path of the four filesystems
// under test: iomap's buffered I/O, buffer heads, and each filesystem's
// address-space operations, block mapping and file operations.
var WritePathObjects = []string{
	"fs/iomap/buffered-io.o",
	"fs/buffer.o",
	"fs/gfs2/aops.o", "fs/gfs2/bmap.o", "fs/gfs2/file.o",
	"fs/xfs/xfs_iomap.o", "fs/xfs/xfs_aops.o", "fs/xfs/xfs_file.o", "fs/xfs/xfs_reflink.o",
	"fs/ext4/inode.o", "fs/ext4/file.o",
	"fs/ext2/inode.o", "fs/ext2/file.o",
}

// CoverageFragment turns gcov on. GCOV_KERNEL depends on DEBUG_FS (the
// counters are read from /sys/kernel/debug/gcov) and, on x86, which wants
// no instrumentation in noinstr code, on the compiler's
// no_profile_instrument_function attribute (kernel/gcov/Kconfig:4-8; gcc
// 12 has it). It selects CONSTRUCTORS, which registers built-in objects'
// counters at boot.
var CoverageFragment = Fragment{Name: "kernel/coverage.go (gcov)", Text: "CONFIG_DEBUG_FS=y\nCONFIG_GCOV_KERNEL=y\n# CONFIG_GCOV_PROFILE_ALL is not set\n"}

// ID identifies the instrumented set for cache keys.
func (c Coverage) ID() string {
	objs := append([]string(nil), c.Objects...)
	sort.Strings(objs)
	return hashStrings(append([]string{"gcov"}, objs...)...)
}

// Validate rejects object names the overlay could not express.
func (c Coverage) Validate() error {
	if len(c.Objects) == 0 {
		return fmt.Errorf("gcov: no objects to instrument")
	}
	for _, o := range c.Objects {
		if !strings.HasSuffix(o, ".o") || strings.HasPrefix(o, "/") || strings.Contains(o, "..") || !strings.Contains(o, "/") {
			return fmt.Errorf("gcov: object %q is not a tree-relative dir/name.o", o)
		}
	}
	return nil
}

const (
	overlayBegin = "# iomapct coverage overlay (begin): generated, not part of the source\n"
	overlayEnd   = "# iomapct coverage overlay (end)\n"
)

// makefileOverlay returns, per directory Makefile (tree-relative), the
// lines to append.
func (c Coverage) makefileOverlay() map[string]string {
	byDir := map[string][]string{}
	for _, o := range c.Objects {
		dir, name := filepath.Split(o)
		byDir[filepath.Join(dir, "Makefile")] = append(byDir[filepath.Join(dir, "Makefile")], "GCOV_PROFILE_"+name+" := y\n")
	}
	out := map[string]string{}
	for mk, lines := range byDir {
		sort.Strings(lines)
		out[mk] = overlayBegin + strings.Join(lines, "") + overlayEnd
	}
	return out
}

// applyOverlay appends the GCOV_PROFILE lines to the work tree's Makefiles.
// A Makefile that already carries this exact overlay is left alone; an old
// overlay is replaced. The file is replaced through a new inode: the work
// tree hard-links the pristine source, which must never change.
func (c Coverage) applyOverlay(tree string) error {
	for mk, block := range c.makefileOverlay() {
		path := filepath.Join(tree, mk)
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("coverage overlay: %w", err)
		}
		base := string(b)
		if i := strings.Index(base, overlayBegin); i >= 0 {
			base = base[:i]
		}
		if !strings.HasSuffix(base, "\n") {
			base += "\n"
		}
		want := base + block
		if want == string(b) {
			continue
		}
		if err := replaceFile(path, []byte(want)); err != nil {
			return err
		}
	}
	return nil
}

// keepNotes copies what the host's gcov needs after the build directory
// has moved on (another revision rebuilt it): each instrumented object's
// .gcno (bdir/dir/name.gcno) and its source file as this build compiled it
// (gcov and genhtml read the lines from it). They go to out/gcov/ under
// their tree-relative paths.
func (c Coverage) keepNotes(tree, bdir, out string) error {
	for _, o := range c.Objects {
		stem := strings.TrimSuffix(o, ".o")
		if err := copyFileMkdir(filepath.Join(bdir, stem+".gcno"), filepath.Join(out, "gcov", stem+".gcno")); err != nil {
			return fmt.Errorf("coverage: %w (was %s built with GCOV_PROFILE?)", err, o)
		}
		if err := copyFileMkdir(filepath.Join(tree, stem+".c"), filepath.Join(out, "gcov", "src", stem+".c")); err != nil {
			return fmt.Errorf("coverage: %w", err)
		}
	}
	return nil
}

func copyFileMkdir(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return copyFile(src, dst)
}

// coverage returns the fragments to merge and the extra cache-key part:
// the spec's own for a normal kernel (and no key part), plus the gcov
// fragment and the overlay's ID for a coverage kernel.
func (s Spec) coverage() ([]Fragment, string, error) {
	if s.Coverage == nil {
		return s.Fragments, "", nil
	}
	if err := s.Coverage.Validate(); err != nil {
		return nil, "", err
	}
	frags := append(append([]Fragment(nil), s.Fragments...), CoverageFragment)
	return frags, ";" + s.Coverage.ID(), nil
}
