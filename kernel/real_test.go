package kernel

import (
	"context"
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
	// A different config is a different kernel.
	other, err := Merge(append(frags, Fragment{Name: "x.config", Text: "CONFIG_PRINTK_TIME=y\n"}))
	require.NoError(t, err)
	base, _ := Merge(frags)
	assert.Equal(t, base.Hash(), other.Hash(), "an agreeing repeat changes nothing")
}
