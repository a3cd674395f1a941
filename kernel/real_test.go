package kernel

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func realSource(t *testing.T) (string, Source) {
	t.Helper()
	cache, err := CacheDir()
	require.NoError(t, err)
	src, err := FromTarball(context.Background(), cache, DebianTarball)
	require.NoError(t, err, "the kernel source comes from Debian: apt-get install linux-source-6.12 (make deps does)")
	return cache, src
}

// Kconfig on the real 6.12 tree drops LKDTM when its menu is off; the
// error must name the option, the fragment line that asked for it and the
// enclosing "if" that Kconfig requires.
func TestConfigureNamesDroppedOptionOnRealTree(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs make allnoconfig on the kernel tree")
	}
	_, src := realSource(t)
	frags, err := DefaultFragments("", false)
	require.NoError(t, err)
	frags = append(frags[:1], Fragment{Name: "test.config", Text: "CONFIG_DEBUG_FS=y\nCONFIG_LKDTM=y\n"})
	cfg, err := Merge(frags)
	require.NoError(t, err)
	err = configure(context.Background(), src.Dir, t.TempDir(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 requested option(s) not in the generated .config")
	assert.Contains(t, err.Error(), `CONFIG_LKDTM=y (asked by test.config:2) is not set in the generated .config; Kconfig: depends on DEBUG_FS, inside "if RUNTIME_TESTING_MENU" (lib/Kconfig.debug)`)
}

// The second build of the same source, series and config is a cache hit
// that compiles nothing.
func TestSecondBuildIsCacheHit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: may build the kernel (minutes) if the cache is cold")
	}
	cache, src := realSource(t)
	frags, err := DefaultFragments("", false)
	require.NoError(t, err)
	spec := Spec{Source: src, Fragments: frags}
	first, err := Build(context.Background(), cache, spec)
	require.NoError(t, err)
	second, err := Build(context.Background(), cache, spec)
	require.NoError(t, err)
	assert.True(t, second.Cached)
	assert.Equal(t, first.BzImage, second.BzImage)
	assert.Equal(t, first.Key, second.Key)
	// An agreeing repeat of an option is the same kernel; a different
	// config is a different kernel (its key is the config's hash).
	base, err := Merge(frags)
	require.NoError(t, err)
	same, err := Merge(append(frags, Fragment{Name: "x.config", Text: "CONFIG_PRINTK_TIME=y\n"}))
	require.NoError(t, err)
	assert.Equal(t, base.Hash(), same.Hash(), "an agreeing repeat changes nothing")
	other, err := Merge(append(frags, Fragment{Name: "x.config", Text: "CONFIG_MSDOS_PARTITION=y\n"}))
	require.NoError(t, err)
	assert.NotEqual(t, base.Hash(), other.Hash(), "a different config must be a different kernel")
	assert.NotEqual(t, first.Key, hashStrings(src.ID, spec.Series.ID(), other.Hash())[:16])
	assert.Equal(t, first.Key, hashStrings(src.ID, spec.Series.ID(), base.Hash())[:16], "the key is the config's hash")
}

// A patch that breaks the compile must fail the build with the first
// compiler error, naming the file and line the patch broke, and the full
// log kept. It runs in the shared work tree, so after a first build of the
// default config it is a one-file rebuild; the next build of any series
// restores the file from the pristine source.
func TestBuildFailureNamesFirstCompilerError(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the kernel (minutes if the cache is cold)")
	}
	cache, src := realSource(t)
	frags, err := DefaultFragments("", false)
	require.NoError(t, err)
	orig, err := os.ReadFile(filepath.Join(src.Dir, "fs/ext2/file.c"))
	require.NoError(t, err)
	// Break the line after the first #include: an undeclared identifier.
	lines := strings.SplitAfter(string(orig), "\n")
	at := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "#include") {
			at = i + 1
			break
		}
	}
	require.NotEqual(t, -1, at, "fs/ext2/file.c has no #include")
	broken := strings.Join(lines[:at], "") + "static int iomapct_broken = iomapct_undeclared;\n" + strings.Join(lines[at:], "")
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a/fs/ext2"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "b/fs/ext2"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/fs/ext2/file.c"), orig, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b/fs/ext2/file.c"), []byte(broken), 0o644))
	diff := exec.Command("diff", "-u", "a/fs/ext2/file.c", "b/fs/ext2/file.c")
	diff.Dir = dir
	body, _ := diff.Output() // exit 1: the files differ
	require.Contains(t, string(body), "+static int iomapct_broken")

	spec := Spec{Source: src, Fragments: frags,
		Series: Series{Patches: []Patch{{Name: "0001-break-ext2.patch", Body: body}}}}
	_, err = Build(context.Background(), cache, spec)
	require.Error(t, err)
	var be *BuildError
	require.ErrorAs(t, err, &be)
	want := fmt.Sprintf("fs/ext2/file.c:%d:", at+1)
	assert.True(t, strings.HasPrefix(be.First, want), "first error %q should start with %q", be.First, want)
	assert.Contains(t, be.First, "error: 'iomapct_undeclared' undeclared")
	assert.Contains(t, err.Error(), be.Log)
	logText, err := os.ReadFile(be.Log)
	require.NoError(t, err)
	assert.Contains(t, string(logText), "iomapct_undeclared")
}
