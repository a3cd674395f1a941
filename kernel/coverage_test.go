package kernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The overlay appends per-object GCOV_PROFILE lines to each directory's
// Makefile, once, through a new inode (the pristine tree is hard-linked).
func TestCoverageOverlayAppendsOnceWithoutTouchingPristine(t *testing.T) {
	pristine, tree := t.TempDir(), t.TempDir()
	for _, d := range []string{"fs", "fs/iomap"} {
		require.NoError(t, os.MkdirAll(filepath.Join(pristine, d), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(tree, d), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(pristine, d, "Makefile"), []byte("obj-y += x.o"), 0o644))
		require.NoError(t, os.Link(filepath.Join(pristine, d, "Makefile"), filepath.Join(tree, d, "Makefile")))
	}
	c := Coverage{Objects: []string{"fs/iomap/buffered-io.o", "fs/buffer.o", "fs/iomap/iter.o"}}
	require.NoError(t, c.applyOverlay(tree))
	b, err := os.ReadFile(filepath.Join(tree, "fs/iomap/Makefile"))
	require.NoError(t, err)
	assert.Equal(t, "obj-y += x.o\n"+overlayBegin+"GCOV_PROFILE_buffered-io.o := y\nGCOV_PROFILE_iter.o := y\n"+overlayEnd, string(b))
	p, err := os.ReadFile(filepath.Join(pristine, "fs/iomap/Makefile"))
	require.NoError(t, err)
	assert.Equal(t, "obj-y += x.o", string(p), "the pristine source never changes")

	st1, err := os.Stat(filepath.Join(tree, "fs/Makefile"))
	require.NoError(t, err)
	require.NoError(t, c.applyOverlay(tree))
	st2, err := os.Stat(filepath.Join(tree, "fs/Makefile"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(st1, st2), "an up-to-date overlay is not rewritten")

	// A different set replaces the old block rather than adding a second.
	require.NoError(t, Coverage{Objects: []string{"fs/buffer.o", "fs/mpage.o"}}.applyOverlay(tree))
	b, err = os.ReadFile(filepath.Join(tree, "fs/Makefile"))
	require.NoError(t, err)
	assert.Equal(t, "obj-y += x.o\n"+overlayBegin+"GCOV_PROFILE_buffer.o := y\nGCOV_PROFILE_mpage.o := y\n"+overlayEnd, string(b))
}

// A coverage spec adds the gcov fragment and a key part; a normal spec
// keeps its fragments and keys exactly as before.
func TestCoverageSpecKeysAndFragments(t *testing.T) {
	base := []Fragment{{Name: "a.config", Text: "CONFIG_DEBUG_FS=y\n"}}
	frags, id, err := Spec{Fragments: base}.coverage()
	require.NoError(t, err)
	assert.Equal(t, base, frags)
	assert.Equal(t, "", id)

	frags, id, err = Spec{Fragments: base, Coverage: &Coverage{Objects: WritePathObjects}}.coverage()
	require.NoError(t, err)
	assert.Equal(t, append(base, CoverageFragment), frags)
	assert.NotEmpty(t, id)
	cfg, err := Merge(frags)
	require.NoError(t, err, "the gcov fragment agrees with the project's DEBUG_FS=y")
	assert.Contains(t, cfg.Text(), "CONFIG_GCOV_KERNEL=y\n")

	_, _, err = Spec{Coverage: &Coverage{Objects: []string{"buffer.c"}}}.coverage()
	assert.ErrorContains(t, err, `object "buffer.c" is not a tree-relative dir/name.o`)
}
