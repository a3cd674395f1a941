package vmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/u-root/u-root/pkg/cpio"
)

func TestInitramfsContentAndCache(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "agent")
	require.NoError(t, os.WriteFile(bin, []byte("\x7fELF fake"), 0o755))
	files := []File{{Path: "init", Host: bin}, {Path: "etc/plan.json", Data: []byte(`{}`)}}
	p, cached, err := Initramfs(dir, files)
	require.NoError(t, err)
	assert.False(t, cached)
	again, cached, err := Initramfs(dir, files)
	require.NoError(t, err)
	assert.True(t, cached, "same content, same archive")
	assert.Equal(t, p, again)

	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	require.NoError(t, err)
	byName := map[string]cpio.Record{}
	var order []string
	for _, r := range recs {
		byName[r.Name] = r
		order = append(order, r.Name)
	}
	require.Contains(t, byName, "dev/console", "init needs a console before devtmpfs is mounted")
	assert.Equal(t, uint64(cpio.S_IFCHR), byName["dev/console"].Mode&cpio.S_IFMT)
	assert.Equal(t, uint64(0o755), byName["init"].Mode&0o777)
	assert.Less(t, indexOf(order, "etc"), indexOf(order, "etc/plan.json"), "parents before children")

	_, _, err = Initramfs(dir, []File{{Path: "init", Host: "/nonexistent/agent"}})
	assert.ErrorContains(t, err, "initramfs file init")
}

func TestInitramfsCacheIsBounded(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < keepInitramfs+5; i++ {
		p, _, err := Initramfs(dir, []File{{Path: "plan.json", Data: []byte(fmt.Sprint(i))}})
		require.NoError(t, err)
		// Distinct mtimes, oldest first, without waiting.
		old := time.Unix(int64(1_000_000+i), 0)
		require.NoError(t, os.Chtimes(p, old, old))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "initramfs-*.cpio"))
	assert.Len(t, left, keepInitramfs)
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// The initramfs cache keeps the keep newest archives and nothing else in
// the directory is touched.
func TestPruneKeepsNewestArchives(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"initramfs-a.cpio", "initramfs-b.cpio", "initramfs-c.cpio", "other.txt"} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, nil, 0o644))
		when := time.Unix(1_700_000_000+int64(i), 0)
		require.NoError(t, os.Chtimes(p, when, when))
	}
	prune(dir, 2)
	left, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	for i := range left {
		left[i] = filepath.Base(left[i])
	}
	assert.Equal(t, []string{"initramfs-b.cpio", "initramfs-c.cpio", "other.txt"}, left)
}
