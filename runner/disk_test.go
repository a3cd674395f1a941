package runner

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDropPassingImagesKeepsFailures(t *testing.T) {
	out := t.TempDir()
	for _, d := range []string{"ext2-1k", "xfs-4k", "gfs2-4k"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(imagePath(out, d)), 0o755))
		require.NoError(t, os.WriteFile(imagePath(out, d), []byte("img"), 0o644))
	}
	removed := dropPassingImages(out, []Verdict{
		{Disk: "ext2-1k", Status: Pass}, {Disk: "ext2-1k", Status: Known},
		{Disk: "xfs-4k", Status: Pass}, {Disk: "xfs-4k", Status: Fail},
		{Disk: "gfs2-4k", Status: Error},
	})
	assert.Equal(t, []string{"ext2-1k"}, removed)
	assert.NoFileExists(t, imagePath(out, "ext2-1k"))
	assert.FileExists(t, imagePath(out, "xfs-4k"))
	assert.FileExists(t, imagePath(out, "gfs2-4k"))
}

func TestPruneRunsKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	for i, n := range []string{"a", "b", "c", "d"} {
		p := filepath.Join(dir, n)
		require.NoError(t, os.MkdirAll(p, 0o755))
		mt := now.Add(time.Duration(i-10) * time.Minute) // a oldest, d newest
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644))
	gone, err := PruneRuns(dir, 2, filepath.Join(dir, "new"))
	require.NoError(t, err)
	// The new run counts as one of the two kept.
	assert.Equal(t, []string{filepath.Join(dir, "c"), filepath.Join(dir, "b"), filepath.Join(dir, "a")}, gone)
	assert.DirExists(t, filepath.Join(dir, "d"))
	assert.FileExists(t, filepath.Join(dir, "notes.txt"), "only directories are runs")

	gone, err = PruneRuns(filepath.Join(dir, "missing"), 2, "")
	assert.NoError(t, err)
	assert.Empty(t, gone)
}
