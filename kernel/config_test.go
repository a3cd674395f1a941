package kernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeKeepsOrderAndAgreeingRepeats(t *testing.T) {
	c, err := Merge([]Fragment{
		{Name: "a.config", Text: "# comment\nCONFIG_A=y\n# CONFIG_B is not set\n"},
		{Name: "b.config", Text: "CONFIG_C=\"x y\"\nCONFIG_A=y\n"},
	})
	require.NoError(t, err)
	assert.Equal(t, "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\n", c.Text())
}

func TestMergeConflictNamesBothFragments(t *testing.T) {
	_, err := Merge([]Fragment{
		{Name: "base.config", Text: "CONFIG_XFS_FS=y\n"},
		{Name: "small.config", Text: "\n# CONFIG_XFS_FS is not set\n"},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CONFIG_XFS_FS: base.config:1 asks for y but small.config:2 asks for n")
}

func TestMergeRejectsGarbage(t *testing.T) {
	_, err := Merge([]Fragment{{Name: "x.config", Text: "XFS=y\n"}})
	require.ErrorContains(t, err, `x.config:1: not a config line: "XFS=y"`)
}

func TestDefaultFragmentsEmbedded(t *testing.T) {
	f, err := DefaultFragments("", false)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(f), 3)
	assert.Equal(t, "kernel/config/10-vm-base.config", f[0].Name)
	c, err := Merge(f)
	require.NoError(t, err)
	assert.Contains(t, c.Text(), "CONFIG_GFS2_FS=y\n")
	fd, err := DefaultFragments("", true)
	require.NoError(t, err)
	assert.Equal(t, "kernel/config/debug.config", fd[len(fd)-1].Name)
}

// Missing explains a dropped option with the dependency Kconfig declares.
func TestMissingExplainsDependency(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "fs/foo"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "fs/foo/Kconfig"),
		[]byte("config FOO_FS\n\ttristate \"foo\"\n\tdepends on BLOCK && NET\n"+
			"if RUNTIME_TESTING_MENU\nconfig LKDTM\n\ttristate \"x\"\n\tdepends on DEBUG_FS\nendif\n"), 0o644))
	dot := filepath.Join(t.TempDir(), ".config")
	require.NoError(t, os.WriteFile(dot, []byte("CONFIG_BLOCK=y\n# CONFIG_FOO_FS is not set\n"), 0o644))
	c := Config{Options: []Option{
		{Name: "CONFIG_BLOCK", Value: "y", From: "a:1"},
		{Name: "CONFIG_FOO_FS", Value: "y", From: "a:2"},
		{Name: "CONFIG_NOPE", Value: "y", From: "a:3"},
		{Name: "CONFIG_LKDTM", Value: "y", From: "a:4"},
	}}
	m, err := c.Missing(dot, src)
	require.NoError(t, err)
	require.Len(t, m, 3)
	assert.Equal(t, "CONFIG_FOO_FS=y (asked by a:2) is not set in the generated .config; Kconfig: depends on BLOCK && NET (fs/foo/Kconfig)", m[0])
	assert.Contains(t, m[1], "CONFIG_NOPE=y (asked by a:3) is not set in the generated .config; no such symbol")
	// A menu's "if" block is a dependency too, and the one people miss.
	assert.Equal(t, `CONFIG_LKDTM=y (asked by a:4) is not set in the generated .config; Kconfig: depends on DEBUG_FS, inside "if RUNTIME_TESTING_MENU" (fs/foo/Kconfig)`, m[2])
}
