package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A git tree given as --kernel-src keeps one work tree per (directory,
// config) across its commits, not one per commit: `git bisect run` checks
// out commit after commit in place, and copying 1.5 GB and rebuilding from
// ccache at every step would cost minutes where the commits change a few
// files. gitWorkState records which commit (and which dirty files) the work
// tree was last brought to; git names the files that changed since.
type gitWorkState struct {
	Commit string   `json:"commit"`
	Dirty  []string `json:"dirty,omitempty"`
}

// gitWorkID is the work-tree key of a git source: its directory, not its
// commit (the kernel cache key still has the commit, through Source.ID).
func gitWorkID(s Source, cfgHash string) string {
	return hashStrings("git work tree "+s.Dir, cfgHash)[:16]
}

// syncGitTree brings tree to the content of the git source's current
// checkout, writing only the files that differ from the commit it last
// held, so make rebuilds only what those touch. With no usable record (a
// new work tree, or a commit git no longer has) it copies the whole tree.
func syncGitTree(ctx context.Context, s Source, tree, work string) error {
	statePath := filepath.Join(work, "git-synced.json")
	var prev gitWorkState
	b, err := os.ReadFile(statePath)
	haveTree := err == nil && json.Unmarshal(b, &prev) == nil && prev.Commit != ""
	if _, err := os.Stat(filepath.Join(tree, "Makefile")); err != nil {
		haveTree = false
	}
	git := func(args ...string) ([]string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", s.Dir}, args...)...).Output()
		if err != nil {
			return nil, fmt.Errorf("git %s in %s: %w", strings.Join(args, " "), s.Dir, err)
		}
		var names []string
		for _, n := range strings.Split(string(out), "\x00") {
			if n != "" {
				names = append(names, n)
			}
		}
		return names, nil
	}
	dirty, err := git("diff", "--name-only", "-z", "--no-renames", "HEAD")
	if err != nil {
		return err
	}
	next := gitWorkState{Commit: s.Commit, Dirty: dirty}
	var changed []string
	if haveTree {
		changed, err = git("diff", "--name-only", "-z", "--no-renames", prev.Commit, s.Commit)
		if err != nil {
			haveTree = false // the old commit is gone: start again
		}
	}
	// The record goes first: a sync that fails half-way must not leave a
	// record claiming the tree is at either commit.
	os.Remove(statePath)
	if !haveTree {
		os.RemoveAll(tree)
		if err := ensureTree(ctx, s.Dir, tree, false); err != nil {
			return err
		}
	} else {
		for _, f := range append(append(changed, prev.Dirty...), dirty...) {
			if err := syncFile(filepath.Join(s.Dir, f), filepath.Join(tree, f)); err != nil {
				return err
			}
		}
	}
	b, _ = json.Marshal(next)
	return os.WriteFile(statePath, b, 0o644)
}

// syncFile makes dst what src is (content and mode), or removes it when src
// is gone; an identical file is left alone so make does not rebuild it.
func syncFile(src, dst string) error {
	st, err := os.Lstat(src)
	if os.IsNotExist(err) {
		if err := os.Remove(dst); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	} else if err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if cur, err := os.Readlink(dst); err == nil && cur == target {
			return nil
		}
		os.Remove(dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, b) {
		if dst, err := os.Stat(dst); err == nil && dst.Mode().Perm() == st.Mode().Perm() {
			return nil
		}
	}
	if err := replaceFile(dst, b); err != nil {
		return err
	}
	return os.Chmod(dst, st.Mode().Perm())
}
