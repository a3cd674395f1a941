package kernel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
}

// A git source's work tree follows its checkout commit by commit, touching
// only the files git says changed (an untouched file keeps its mtime, so
// make does not rebuild it), with modes, deletions, additions and dirty
// edits carried over.
func TestGitWorkTreeFollowsCheckouts(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	write := func(name, content string, mode os.FileMode) {
		p := filepath.Join(repo, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
	}
	write("Makefile", "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n", 0o644)
	write("fs/iomap/buffered-io.c", "int a;\n", 0o644)
	write("fs/old.c", "old\n", 0o644)
	write("scripts/x.sh", "#!/bin/sh\n", 0o644)
	gitRun(t, repo, "init", "-q")
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "commit", "-qm", "A")

	work := t.TempDir()
	tree := filepath.Join(work, "src")
	sync := func() Source {
		s, err := FromDir(ctx, repo)
		require.NoError(t, err)
		require.NotEmpty(t, s.Commit)
		require.NoError(t, syncGitTree(ctx, s, tree, work))
		return s
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(tree, name))
		require.NoError(t, err)
		return string(b)
	}
	a := sync()
	assert.Equal(t, "int a;\n", read("fs/iomap/buffered-io.c"))
	assert.NoDirExists(t, filepath.Join(tree, ".git"))
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(tree, "Makefile"), old, old))

	write("fs/iomap/buffered-io.c", "int b;\n", 0o644)
	require.NoError(t, os.Remove(filepath.Join(repo, "fs/old.c")))
	write("fs/new.c", "new\n", 0o644)
	write("scripts/x.sh", "#!/bin/sh\n", 0o755)
	gitRun(t, repo, "add", "-A")
	gitRun(t, repo, "commit", "-qm", "B")
	b := sync()
	assert.NotEqual(t, a.ID, b.ID, "each commit is its own kernel in the cache")
	assert.Equal(t, "int b;\n", read("fs/iomap/buffered-io.c"))
	assert.Equal(t, "new\n", read("fs/new.c"))
	assert.NoFileExists(t, filepath.Join(tree, "fs/old.c"))
	st, err := os.Stat(filepath.Join(tree, "scripts/x.sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	st, err = os.Stat(filepath.Join(tree, "Makefile"))
	require.NoError(t, err)
	assert.True(t, st.ModTime().Before(time.Now().Add(-30*time.Minute)), "an unchanged file was rewritten")

	// A dirty edit is synced, and undone when the tree is clean again.
	write("fs/iomap/buffered-io.c", "int dirty;\n", 0o644)
	d := sync()
	assert.Contains(t, d.ID, "dirty:")
	assert.Equal(t, "int dirty;\n", read("fs/iomap/buffered-io.c"))
	gitRun(t, repo, "checkout", "-q", "--", ".")
	sync()
	assert.Equal(t, "int b;\n", read("fs/iomap/buffered-io.c"))

	// Back to the first commit, as git bisect does.
	gitRun(t, repo, "checkout", "-q", a.Commit)
	sync()
	assert.Equal(t, "int a;\n", read("fs/iomap/buffered-io.c"))
	assert.Equal(t, "old\n", read("fs/old.c"))
	assert.NoFileExists(t, filepath.Join(tree, "fs/new.c"))
}
