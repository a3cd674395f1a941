package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// piggyObject is the object that .incbin's the compressed kernel into the
// bzImage (arch/x86/boot/compressed/piggy.S, written by mkpiggy). Its
// source text holds only the payload's lengths, so ccache, which hashes
// the source and the headers but not .incbin'd files, returns the piggy.o
// of an older kernel whenever a change keeps the compressed length.
const piggyObject = "arch/x86/boot/compressed/piggy.o"

// afterCompile is a test hook run after each compile of a build directory,
// before its images are checked (a test plants a stale bzImage there).
var afterCompile func(bdir string)

// checkBuild proves the build directory's bzImage holds its vmlinux. When
// it does not (a stale piggy.o left by an older build, which make did not
// see as out of date), it rebuilds piggy.o and what contains it without
// ccache and checks again: an artifact never differs from what its key
// says.
func checkBuild(ctx context.Context, cache, work, tree, bdir, logPath string, spec Spec) error {
	if afterCompile != nil {
		afterCompile(bdir)
	}
	bz, vm, cfg := filepath.Join(bdir, "arch/x86/boot/bzImage"), filepath.Join(bdir, "vmlinux"), filepath.Join(bdir, ".config")
	err := VerifyImages(bz, vm, cfg)
	var mm *MismatchError
	if !errors.As(err, &mm) {
		return err
	}
	if spec.Progress != nil {
		fmt.Fprintf(spec.Progress, "  build: %v; rebuilding %s without ccache\n", err, piggyObject)
	}
	if err := os.Remove(filepath.Join(bdir, piggyObject)); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := compile(ctx, cache, work, tree, bdir, logPath, spec, "bzImage", true); err != nil {
		return err
	}
	if err := VerifyImages(bz, vm, cfg); err != nil {
		return fmt.Errorf("kernel build: the bzImage still differs from vmlinux after rebuilding %s without ccache: %w", piggyObject, err)
	}
	return nil
}

// loadChecked returns the cache entry in dir after checking that its
// bzImage holds its vmlinux, or nil when there is no usable entry. An entry
// that fails the check (made before builds were checked, or damaged since:
// a mismatch, a payload that does not decompress, a missing file) is
// evicted, so the caller builds it again; an entry that cannot be
// checked at all for lack of a tool is an error, not a pass.
func loadChecked(dir string, log io.Writer) (*Artifact, error) {
	a, err := loadArtifact(dir)
	if err != nil {
		return nil, nil
	}
	why := ""
	if a.Vmlinux == "" {
		why = "it has no vmlinux to check its bzImage against"
	} else if err := VerifyImages(a.BzImage, a.Vmlinux, a.Config); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, err // a missing decompressor says nothing of the entry
		}
		why = err.Error()
	}
	if why == "" {
		return a, nil
	}
	if log != nil {
		fmt.Fprintf(log, "  kernel cache: evicting %s: %s\n", dir, why)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("evict bad kernel cache entry %s: %w", dir, err)
	}
	return nil, nil
}

// CheckCache checks every kernel in the cache (bzImage against vmlinux)
// and evicts the bad ones, which the next build of their key remakes. It
// returns how many entries it checked and evicted. Entries being built
// (no meta.json yet) are left alone.
func CheckCache(cache string, log io.Writer) (checked, evicted int, err error) {
	ents, err := os.ReadDir(filepath.Join(cache, "kernels"))
	if os.IsNotExist(err) {
		return 0, 0, nil
	} else if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		dir := filepath.Join(cache, "kernels", e.Name())
		if _, err := os.Stat(filepath.Join(dir, "meta.json")); err != nil {
			continue
		}
		checked++
		a, err := loadChecked(dir, log)
		if err != nil {
			return checked, evicted, err
		}
		if a == nil {
			evicted++
		}
	}
	return checked, evicted, nil
}
