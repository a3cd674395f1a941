package kernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An exported kernel loads only while every file is the one its manifest
// hashed: a shard must never boot a kernel other than the key it reports.
func TestExportRoundTripAndTamper(t *testing.T) {
	src := t.TempDir()
	a := &Artifact{Key: "0123456789abcdef", SourceID: "linux-6.12.117 tarball x", SeriesID: "e3b0c44298fc1c14", ConfigHash: "c"}
	for name, p := range map[string]*string{"bzImage": &a.BzImage, "vmlinux": &a.Vmlinux, "config": &a.Config} {
		*p = filepath.Join(src, name)
		require.NoError(t, os.WriteFile(*p, []byte("content of "+name), 0o644))
	}
	dir := filepath.Join(t.TempDir(), "export")
	require.NoError(t, Export(a, "v2", "6.12.117", dir))

	got, m, err := LoadExported(dir)
	require.NoError(t, err)
	assert.Equal(t, a.Key, got.Key)
	assert.Equal(t, "v2", m.Revision)
	assert.Equal(t, "6.12.117", m.Version)
	assert.Equal(t, filepath.Join(dir, "vmlinux"), got.Vmlinux)
	assert.True(t, got.Cached)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "vmlinux"), []byte("another kernel"), 0o644))
	_, _, err = LoadExported(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "vmlinux has SHA-256")
	assert.Contains(t, err.Error(), "not the kernel it claims to be")

	_, _, err = LoadExported(t.TempDir())
	assert.ErrorContains(t, err, "iomapct build --export")
}
