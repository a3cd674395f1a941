package kernel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every source of zero patches is an error naming the source, so the
// unpatched kernel is never tested under a series' name; so is a patch
// without a diff.
func TestSeriesWithoutPatchesIsAnError(t *testing.T) {
	cover := "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] cover\n\nno diff here\n"
	for name, files := range map[string]map[string]string{
		"empty dir":                 {},
		"empty mbox":                {"x.mbox": ""},
		"cover letter only":         {"x.mbx": cover},
		"comment-only quilt series": {"series": "# nothing\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, text := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(text), 0o644))
			}
			_, err := ReadSeries(dir)
			var empty *EmptySeriesError
			require.ErrorAs(t, err, &empty)
			assert.ErrorContains(t, err, "series "+dir+" holds no patches")
		})
	}
	t.Run("empty .patch", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "0001-x.patch"), nil, 0o644))
		_, err := ReadSeries(dir)
		assert.ErrorContains(t, err, "patch 0001-x.patch holds no diff")
	})
	t.Run("mbox file", func(t *testing.T) {
		_, patches := fixture(t)
		var all []byte
		for _, p := range patches {
			b, _ := os.ReadFile(p)
			all = append(all, b...)
		}
		f := filepath.Join(t.TempDir(), "series.mbox")
		require.NoError(t, os.WriteFile(f, append([]byte(cover), all...), 0o644))
		s, err := ReadSeries(f)
		require.NoError(t, err)
		assert.Len(t, s.Patches, 2)
	})
}

// A patch whose "+++ " line names no file and whose hunk fails is reported,
// not a panic, and leaves no staging directory behind.
func TestBareHeaderAndFailingHunkNoPanicNoLeak(t *testing.T) {
	tree, _ := fixture(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	body := "--- a/fs/iomap/buffered-io.c\n+++ \n@@ -1,3 +1,3 @@\n line 1\n-no such line\n+x\n line 3\n"
	s := Series{Patches: []Patch{{Name: "bare.patch", Body: []byte(body)}}}
	dir, err := s.Stage(context.Background(), tree)
	require.Error(t, err)
	assert.Equal(t, "", dir)
	left, _ := filepath.Glob(filepath.Join(tmp, "iomapct-series-*"))
	assert.Empty(t, left, "the staging directory is removed on failure")
	assert.Equal(t, "", hunkText([]byte(body), "fs/iomap/buffered-io.c", 1))
}

// A hunk that applies only with fuzz is an error unless asked for, naming
// the file and hunk; with AllowFuzz it applies.
func TestFuzzyHunkIsAnErrorUnlessAllowed(t *testing.T) {
	tree, patches := fixture(t)
	// The last context line of the first patch's hunk changes: fuzz 1 still applies it.
	require.NoError(t, os.WriteFile(filepath.Join(tree, "fs/iomap/buffered-io.c"),
		[]byte("line 1\nline 2\nline 3\nline 4\nline 5\nline SIX\nline 7\n"), 0o644))
	s, err := ReadSeries(filepath.Dir(patches[0]))
	require.NoError(t, err)
	_, err = s.Stage(context.Background(), tree)
	var ae *ApplyError
	require.ErrorAs(t, err, &ae)
	assert.Positive(t, ae.Fuzz)
	assert.Equal(t, "fs/iomap/buffered-io.c", ae.File)
	assert.ErrorContains(t, err, "0001-iomap-first.patch applies only with fuzz: fs/iomap/buffered-io.c hunk #1")
	s.AllowFuzz = true
	dir, err := s.Stage(context.Background(), tree)
	defer os.RemoveAll(dir)
	require.NoError(t, err)
	assert.True(t, s.Prefix(1).AllowFuzz)
}

// Without patch on PATH the error names the missing tool, not the patch.
func TestPatchToolMissingIsNamed(t *testing.T) {
	tree, patches := fixture(t)
	s, err := ReadSeries(filepath.Dir(patches[0]))
	require.NoError(t, err)
	t.Setenv("PATH", t.TempDir())
	_, err = s.Stage(context.Background(), tree)
	assert.ErrorContains(t, err, "needs the patch tool, which is not on PATH (apt-get install patch)")
	var ae *ApplyError
	assert.False(t, errors.As(err, &ae))
}
