package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/kernel"
)

// plantedHistory is a small kernel history on top of Debian's 6.12 tree:
// A the pristine tree, B and C comments, D does not build, E repairs the
// build, F plants a bug in __iomap_write_begin (the planted series' patch
// 3), G a comment. git bisect visits D first (it halves A..G), must skip
// it, and must name F, not the unbuildable D.
var plantedHistory = []struct {
	tag, file, edit string // edit: "comment", "break", "unbreak" or a patch file to apply
}{
	{"B", "fs/iomap/iter.c", "comment"},
	{"C", "fs/iomap/seek.c", "comment"},
	{"D", "fs/ext2/file.c", "break"},
	{"E", "fs/ext2/file.c", "unbreak"},
	{"F", "", "testdata/planted-series/0003-iomap-planted-bug-a-new-block-s-first-zeroed-byte-is.patch"},
	{"G", "fs/iomap/direct-io.c", "comment"},
}

// makePlantedHistory builds the history once per kernel tarball, under the
// cache: its commits are deterministic (fixed author and dates), so a later
// run finds the same commits, and their kernels, already there.
func makePlantedHistory(t *testing.T, src kernel.Source, cache string) string {
	t.Helper()
	repo := filepath.Join(cache, "testdata", "git-bisect-"+strings.Fields(src.ID)[len(strings.Fields(src.ID))-1][7:23])
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=iomapct", "GIT_AUTHOR_EMAIL=iomapct@example.org",
			"GIT_COMMITTER_NAME=iomapct", "GIT_COMMITTER_EMAIL=iomapct@example.org",
			"GIT_AUTHOR_DATE=2026-12-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-12-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	if exec.Command("git", "-C", repo, "rev-parse", "-q", "--verify", "refs/tags/G").Run() == nil {
		// A killed earlier run may have left a bisection going.
		exec.Command("git", "-C", repo, "bisect", "reset").Run()
		git("checkout", "-q", "master")
		return repo
	}
	require.NoError(t, os.RemoveAll(repo))
	require.NoError(t, os.MkdirAll(filepath.Dir(repo), 0o755))
	out, err := exec.Command("cp", "-a", src.Dir, repo).CombinedOutput()
	require.NoError(t, err, "copy %s: %s", src.Dir, out)
	git("init", "-q", "-b", "master")
	// -f: Debian's tarball carries a .gitignore whose last rule, "/*",
	// ignores the whole tree.
	git("add", "-A", "-f", ".")
	git("commit", "-qm", "A: Linux "+src.Version+" as Debian ships it")
	git("tag", "A")
	for _, c := range plantedHistory {
		switch c.edit {
		case "comment", "break", "unbreak":
			p := filepath.Join(repo, c.file)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			s := string(b)
			switch c.edit {
			case "comment":
				s += "/* iomapct planted history: commit " + c.tag + " only adds this comment */\n"
			case "break":
				s += "#error iomapct planted history: this commit does not build\n"
			case "unbreak":
				s = strings.Replace(s, "#error iomapct planted history: this commit does not build\n", "", 1)
			}
			require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		default:
			// patch(1), not git apply: the hunk's line numbers are 6.12.117's,
			// and Debian's tarball moves on (patch allows an offset).
			patch, err := filepath.Abs(c.edit)
			require.NoError(t, err)
			out, err := exec.Command("patch", "-p1", "-d", repo, "-i", patch, "--no-backup-if-mismatch", "-s").CombinedOutput()
			require.NoError(t, err, "patch %s: %s", patch, out)
		}
		git("commit", "-qam", c.tag+": planted history "+c.edit)
		git("tag", c.tag)
	}
	return repo
}

// TestGitBisectRunNamesBadCommit runs `git bisect run iomapct run
// --bisect-exit` over the planted history, as the README shows: the
// unbuildable commit must be skipped (exit 125), and the bisection must end
// on the commit that plants the bug.
func TestGitBisectRunNamesBadCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: makes a git history of the kernel and builds three of its commits")
	}
	bin, _ := buildCLI(t)
	cache, err := kernel.CacheDir()
	require.NoError(t, err)
	src, err := kernel.FromTarball(context.Background(), cache, kernel.DebianTarball)
	require.NoError(t, err)
	repo := makePlantedHistory(t, src, cache)
	rev := func(name string) string {
		out, err := exec.Command("git", "-C", repo, "rev-parse", name).Output()
		require.NoError(t, err)
		return strings.TrimSpace(string(out))
	}
	runs := t.TempDir()
	script := filepath.Join(t.TempDir(), "step.sh")
	require.NoError(t, os.WriteFile(script, []byte(fmt.Sprintf(`#!/bin/sh
exec %q run --kernel-src . --bisect-exit --fs xfs --bs 4096 --cases straddle-beyond-eof --out %q/"$(git rev-parse --short HEAD)"
`, bin, runs)), 0o755))

	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	_, err = git("bisect", "start", "G", "A")
	require.NoError(t, err)
	defer git("bisect", "reset")
	out, err := git("bisect", "run", script)
	t.Logf("git bisect run:\n%s", out)
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(rev("F")+` is the first bad commit`), out)
	log, err := git("bisect", "log")
	require.NoError(t, err)
	t.Logf("git bisect log:\n%s", log)
	assert.Contains(t, log, "git bisect skip "+rev("D"), "the unbuildable commit is skipped, not judged")
	assert.Contains(t, log, "git bisect good "+rev("E"))
	assert.Contains(t, log, "git bisect bad "+rev("F"))
}
