package kernel

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bcdPatch is a one-line patch to lib/bcd.c (always built, tiny) that puts
// one mov with immediate imm into _bcd2bin: two such patches make kernels
// one instruction apart, whose compressed payloads usually have the same
// length, so piggy.S comes out textually identical.
func bcdPatch(t *testing.T, src Source, imm string) Patch {
	t.Helper()
	orig, err := os.ReadFile(filepath.Join(src.Dir, "lib/bcd.c"))
	require.NoError(t, err)
	changed := strings.Replace(string(orig), "{\n\treturn (val & 0x0f)", "{\n\tasm volatile(\"mov $"+imm+", %%eax\" ::: \"eax\");\n\treturn (val & 0x0f)", 1)
	require.NotEqual(t, string(orig), changed, "lib/bcd.c changed shape")
	dir := t.TempDir()
	for side, text := range map[string]string{"a": string(orig), "b": changed} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, side, "lib"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, side, "lib/bcd.c"), []byte(text), 0o644))
	}
	diff := exec.Command("diff", "-u", "a/lib/bcd.c", "b/lib/bcd.c")
	diff.Dir = dir
	body, _ := diff.Output() // exit 1: the files differ
	require.Contains(t, string(body), "+\tasm volatile")
	return Patch{Name: "0001-bcd-" + imm + ".patch", Body: body}
}

// Two kernels one instruction apart, the second built with the first's
// bzImage planted in the build directory (what a stale piggy.o served by
// ccache produces): the check after the build catches it and rebuilds the
// bzImage, so each artifact holds its own vmlinux. Then the second entry
// is damaged in the cache the same way, and the next use evicts and
// rebuilds it instead of handing it out.
func TestBuildNeverCachesAStaleBzImage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds two kernels (a one-file rebuild each on a warm cache)")
	}
	cache, src := realSource(t)
	frags, err := DefaultFragments("", false)
	require.NoError(t, err)
	specA := Spec{Source: src, Fragments: frags, Series: Series{Patches: []Patch{bcdPatch(t, src, "0x5a5a11")}}}
	specB := Spec{Source: src, Fragments: frags, Series: Series{Patches: []Patch{bcdPatch(t, src, "0x5a5a12")}}}
	cfg, err := Merge(frags)
	require.NoError(t, err)
	// B is built afresh every time (A may come from the cache: the first
	// Build checks it either way).
	os.RemoveAll(filepath.Join(cache, "kernels", hashStrings(src.ID, specB.Series.ID(), cfg.Hash())[:16]))
	ctx := context.Background()
	a, err := Build(ctx, cache, specA)
	require.NoError(t, err)
	require.NoError(t, VerifyImages(a.BzImage, a.Vmlinux, a.Config))

	planted := 0
	afterCompile = func(bdir string) {
		planted++
		require.NoError(t, copyFile(a.BzImage, filepath.Join(bdir, "arch/x86/boot/bzImage")))
	}
	var log bytes.Buffer
	specB.Progress = &log
	b, err := Build(ctx, cache, specB)
	afterCompile = nil
	require.NoError(t, err)
	require.Equal(t, 1, planted)
	assert.Contains(t, log.String(), "rebuilding "+piggyObject+" without ccache")
	assert.NoError(t, VerifyImages(b.BzImage, b.Vmlinux, b.Config), "B's bzImage holds B")
	assert.NoError(t, VerifyImages(a.BzImage, a.Vmlinux, a.Config), "A's bzImage holds A")
	var mm *MismatchError
	assert.ErrorAs(t, VerifyImages(b.BzImage, a.Vmlinux, a.Config), &mm, "the two kernels differ")

	// A bad entry already in the cache is evicted on use and rebuilt.
	require.NoError(t, copyFile(a.BzImage, b.BzImage))
	log.Reset()
	again, err := Build(ctx, cache, specB)
	require.NoError(t, err)
	assert.False(t, again.Cached, "a bad entry is not a cache hit")
	assert.Contains(t, log.String(), "kernel cache: evicting")
	assert.NoError(t, VerifyImages(again.BzImage, again.Vmlinux, again.Config))
}
