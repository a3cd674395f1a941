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

// Switching revisions must rewrite exactly the files whose content changes:
// make decides what to recompile from mtimes, so an untouched file must keep
// its mtime and a changed one must get a new one.
func TestSyncSeriesWritesOnlyChangedFiles(t *testing.T) {
	pristine, patches := fixture(t)
	ctx := context.Background()
	work := t.TempDir()
	tree := filepath.Join(work, "src")
	require.NoError(t, exec.Command("cp", "-a", pristine, tree).Run())
	all, err := ReadSeries(filepath.Dir(patches[0]))
	require.NoError(t, err)

	old := time.Unix(1_000_000, 0)
	age := func() {
		for _, f := range []string{"Makefile", "fs/iomap/buffered-io.c"} {
			require.NoError(t, os.Chtimes(filepath.Join(tree, f), old, old))
		}
	}
	mtime := func(f string) time.Time {
		st, err := os.Stat(filepath.Join(tree, f))
		require.NoError(t, err)
		return st.ModTime()
	}
	content := func(f string) string {
		b, err := os.ReadFile(filepath.Join(tree, f))
		if os.IsNotExist(err) {
			return "<absent>"
		}
		require.NoError(t, err)
		return string(b)
	}

	age()
	require.NoError(t, syncSeries(ctx, pristine, tree, work, all))
	assert.Contains(t, content("fs/iomap/buffered-io.c"), "line 3 changed")
	assert.Equal(t, "new header\n", content("include/linux/iomap.h"))
	assert.True(t, mtime("fs/iomap/buffered-io.c").After(old))
	assert.Equal(t, old, mtime("Makefile"), "a file no patch touches is never rewritten")

	// The same series again: nothing to do, nothing rewritten.
	age()
	require.NoError(t, syncSeries(ctx, pristine, tree, work, all))
	assert.Equal(t, old, mtime("fs/iomap/buffered-io.c"))

	// Back to the first patch only: the header it did not create goes away,
	// the .c file keeps its (identical) content and its mtime.
	require.NoError(t, syncSeries(ctx, pristine, tree, work, all.Prefix(1)))
	assert.Equal(t, "<absent>", content("include/linux/iomap.h"))
	assert.Equal(t, old, mtime("fs/iomap/buffered-io.c"))

	// The empty series restores the pristine content with a new mtime.
	require.NoError(t, syncSeries(ctx, pristine, tree, work, Series{}))
	assert.NotContains(t, content("fs/iomap/buffered-io.c"), "changed")
	assert.True(t, mtime("fs/iomap/buffered-io.c").After(old))
}

// An owned source is hard-linked into the work tree; applying and switching
// series must then never write through a link into the pristine source.
func TestLinkedWorkTreeLeavesPristineAlone(t *testing.T) {
	pristine, patches := fixture(t)
	ctx := context.Background()
	work := t.TempDir()
	tree := filepath.Join(work, "src")
	require.NoError(t, ensureTree(ctx, pristine, tree, true))
	before, err := os.Stat(filepath.Join(pristine, "fs/iomap/buffered-io.c"))
	require.NoError(t, err)
	linked, err := os.Stat(filepath.Join(tree, "fs/iomap/buffered-io.c"))
	require.NoError(t, err)
	require.True(t, os.SameFile(before, linked), "an owned source is linked, not copied")

	all, err := ReadSeries(filepath.Dir(patches[0]))
	require.NoError(t, err)
	require.NoError(t, syncSeries(ctx, pristine, tree, work, all))
	got, err := os.ReadFile(filepath.Join(tree, "fs/iomap/buffered-io.c"))
	require.NoError(t, err)
	assert.Contains(t, string(got), "line 3 changed")
	orig, err := os.ReadFile(filepath.Join(pristine, "fs/iomap/buffered-io.c"))
	require.NoError(t, err)
	assert.NotContains(t, string(orig), "changed", "the pristine source was written through a link")
	_, err = os.Stat(filepath.Join(pristine, "include/linux/iomap.h"))
	assert.True(t, os.IsNotExist(err), "a file the series creates stays out of the pristine source")

	// A user's tree (not owned) is copied, without .git: no shared inodes.
	copied := filepath.Join(t.TempDir(), "src")
	require.NoError(t, ensureTree(ctx, pristine, copied, false))
	c, err := os.Stat(filepath.Join(copied, "Makefile"))
	require.NoError(t, err)
	p, err := os.Stat(filepath.Join(pristine, "Makefile"))
	require.NoError(t, err)
	assert.False(t, os.SameFile(c, p))
	_, err = os.Stat(filepath.Join(copied, ".git"))
	assert.True(t, os.IsNotExist(err), "the copy leaves .git out")
	got, err = os.ReadFile(filepath.Join(copied, "fs/iomap/buffered-io.c"))
	require.NoError(t, err)
	assert.Equal(t, string(orig), string(got))
}

// kernels/ keeps the most recently used entries, the new one always, and
// leaves an entry without meta.json (still being built) alone.
func TestPruneKernelsKeepsRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, age time.Duration, done bool) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
		if done {
			p := filepath.Join(dir, name, "meta.json")
			require.NoError(t, os.WriteFile(p, []byte("{}"), 0o644))
			when := time.Now().Add(-age)
			require.NoError(t, os.Chtimes(p, when, when))
		}
	}
	mk("old", 3*time.Hour, true)
	mk("used", 2*time.Hour, true)
	mk("recent", time.Hour, true)
	mk("building", 0, false)
	mk("new", 4*time.Hour, true) // just made, whatever its clock says
	touch(filepath.Join(dir, "used", "meta.json"))
	pruneKernels(dir, 3, "new")
	var left []string
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	assert.ElementsMatch(t, []string{"used", "recent", "building", "new"}, left)
}
