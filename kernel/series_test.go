package kernel

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A tiny "kernel tree" and a two-patch series, made with real git so the
// patch files are exactly what git format-patch writes.
func fixture(t *testing.T) (tree string, patches []string) {
	t.Helper()
	tree = t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", tree, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return string(out)
	}
	write := func(p, s string) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(tree, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(tree, p), []byte(s), 0o644))
	}
	git("init", "-q")
	write("Makefile", "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\n")
	write("fs/iomap/buffered-io.c", "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n")
	git("add", ".")
	git("commit", "-q", "-m", "base")
	write("fs/iomap/buffered-io.c", "line 1\nline 2\nline 3 changed\nline 4\nline 5\nline 6\nline 7\n")
	git("commit", "-q", "-am", "iomap: first")
	write("include/linux/iomap.h", "new header\n")
	git("add", ".")
	git("commit", "-q", "-m", "iomap: second")
	out := t.TempDir()
	git("format-patch", "-q", "-o", out, "HEAD~2")
	git("checkout", "-q", "HEAD~2")
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		patches = append(patches, filepath.Join(out, e.Name()))
	}
	return tree, patches
}

func TestSeriesFormatsAllApply(t *testing.T) {
	tree, patches := fixture(t)
	ctx := context.Background()

	quilt := t.TempDir()
	var names []string
	for _, p := range patches {
		b, _ := os.ReadFile(p)
		require.NoError(t, os.WriteFile(filepath.Join(quilt, filepath.Base(p)), b, 0o644))
		names = append(names, filepath.Base(p))
	}
	// quilt: the series file decides the order, format-patch names do not.
	require.NoError(t, os.WriteFile(filepath.Join(quilt, "series"), []byte("# quilt\n"+strings.Join(names, "\n")+"\n"), 0o644))

	fp := filepath.Dir(patches[0]) // format-patch directory as git wrote it

	mbox := t.TempDir()
	var all []byte
	for _, p := range patches {
		b, _ := os.ReadFile(p)
		all = append(all, b...)
	}
	cover := "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] cover\n\nno diff here\n"
	require.NoError(t, os.WriteFile(filepath.Join(mbox, "v2.mbx"), append([]byte(cover), all...), 0o644))

	for name, dir := range map[string]string{"quilt": quilt, "format-patch": fp, "mbox": mbox} {
		t.Run(name, func(t *testing.T) {
			s, err := ReadSeries(dir)
			require.NoError(t, err)
			require.Len(t, s.Patches, 2)
			assert.Equal(t, "[PATCH 1/2] iomap: first", s.Patches[0].Subject)
			assert.Equal(t, []string{"fs/iomap/buffered-io.c", "include/linux/iomap.h"}, s.Files())
			staged, err := s.Stage(ctx, tree)
			defer os.RemoveAll(staged)
			require.NoError(t, err)
			b, err := os.ReadFile(filepath.Join(staged, "fs/iomap/buffered-io.c"))
			require.NoError(t, err)
			assert.Contains(t, string(b), "line 3 changed")
			b, err = os.ReadFile(filepath.Join(staged, "include/linux/iomap.h"))
			require.NoError(t, err)
			assert.Equal(t, "new header\n", string(b))
			// The source tree itself is never touched.
			b, _ = os.ReadFile(filepath.Join(tree, "fs/iomap/buffered-io.c"))
			assert.NotContains(t, string(b), "changed")
		})
	}
	// Same content, same identity, whatever the form.
	a, _ := ReadSeries(quilt)
	b, _ := ReadSeries(fp)
	assert.Equal(t, a.ID(), b.ID())
	assert.NotEqual(t, a.ID(), a.Prefix(1).ID())
}

func TestConflictNamesPatchFileAndHunk(t *testing.T) {
	tree, patches := fixture(t)
	// Make the tree disagree with the first patch's context.
	require.NoError(t, os.WriteFile(filepath.Join(tree, "fs/iomap/buffered-io.c"),
		[]byte("line 1\nline 2\nline three\nline 4\nline 5\nline 6\nline 7\n"), 0o644))
	s, err := ReadSeries(filepath.Dir(patches[0]))
	require.NoError(t, err)
	staged, err := s.Stage(context.Background(), tree)
	defer os.RemoveAll(staged)
	var ae *ApplyError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, filepath.Base(patches[0]), ae.Patch)
	assert.Equal(t, "fs/iomap/buffered-io.c", ae.File)
	assert.Equal(t, 1, ae.Hunk)
	assert.Contains(t, ae.Rejected, "-line 3")
	assert.Contains(t, err.Error(), "0001-iomap-first.patch does not apply: fs/iomap/buffered-io.c hunk #1")
	// Nothing half-applied: the second patch's new file is absent.
	_, statErr := os.Stat(filepath.Join(staged, "include/linux/iomap.h"))
	assert.True(t, os.IsNotExist(statErr))
}

func TestSourceVersionAndDirtyID(t *testing.T) {
	tree, _ := fixture(t)
	s, err := FromDir(context.Background(), tree)
	require.NoError(t, err)
	assert.Equal(t, "6.12.117", s.Version)
	assert.Contains(t, s.ID, " git ")
	assert.NotContains(t, s.ID, "dirty")
	require.NoError(t, os.WriteFile(filepath.Join(tree, "Makefile"), []byte("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 118\n"), 0o644))
	s2, err := FromDir(context.Background(), tree)
	require.NoError(t, err)
	assert.Contains(t, s2.ID, "dirty:")
	_, err = FromDir(context.Background(), t.TempDir())
	assert.ErrorContains(t, err, "is not a kernel tree")
}

func TestSubjectUnfoldsLongHeaders(t *testing.T) {
	msg := "From abc Mon Sep 17 00:00:00 2001\nSubject: [PATCH 4/5] gfs2: do per-folio write work in iomap\n write_begin and write_end\nDate: x\n\nbody\n"
	assert.Equal(t, "[PATCH 4/5] gfs2: do per-folio write work in iomap write_begin and write_end", subject([]byte(msg)))
}
