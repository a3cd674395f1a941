package reference

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/cases"
	"github.com/iomapct/iomapct/filesystems"
)

// Every registered filesystem has a model personality and the model knows
// no other: a filesystem added to the registry without one fails here.
func TestPersonalitiesMatchTheRegistry(t *testing.T) {
	reg := filesystems.Names()
	assert.ElementsMatch(t, reg, Personalities())
	for _, e := range filesystems.All() {
		for _, bs := range e.BlockSizes {
			_, err := New(GeometryFor(e.Name, bs, true))
			assert.NoError(t, err, "%s-%d: a tested block size the model refuses", e.Name, bs)
		}
	}
}

// Large folios (THP on, mapping_set_large_folios) reach xfs only, up to
// MAX_PAGECACHE_ORDER (PMD order, 2 MiB with 4 KiB pages); without THP
// every folio is one page (include/linux/pagemap.h:408-413).
func TestGeometryFor_large_folios_xfs_only_pagemap_408_413(t *testing.T) {
	assert.Equal(t, Geometry{FS: "xfs", BlockSize: 4096, PageSize: 4096, MaxFolio: 2 << 20}, GeometryFor("xfs", 4096, true))
	assert.Equal(t, Geometry{FS: "xfs", BlockSize: 1024, PageSize: 4096, MaxFolio: 4096}, GeometryFor("xfs", 1024, false))
	for _, fs := range []string{"ext2", "ext4", "gfs2"} {
		assert.Equal(t, int64(4096), GeometryFor(fs, 1024, true).MaxFolio, fs)
	}
	_, err := New(GeometryFor("btrfs", 4096, true))
	require.ErrorContains(t, err, `FS "btrfs" is not one of ext2, ext4, gfs2, xfs`)
}

func TestPredictsMapping_not_on_xfs(t *testing.T) {
	for fs, want := range map[string]bool{"ext2": true, "ext4": true, "gfs2": true, "xfs": false} {
		assert.Equal(t, want, PredictsMapping(fs), fs)
	}
}

// The expected trace leaves out the buffer-head steps (no iomap events)
// and unshare steps, and marks where the post-step hook's event follows.
func TestExpectedTrace(t *testing.T) {
	ext := mustRun(t, ext2_1k, pw(0, 100))
	require.NotEmpty(t, ext.Callouts())
	assert.Equal(t, CalloutAops, ext.Callouts()[0].Kind)
	assert.Empty(t, ext.ExpectedTrace(PostFolioPut), "ext2 writes through buffer heads: no iomap events")

	jd := mustRun(t, gfs2_4k, cases.Op{Kind: cases.JournalData}, pw(0, 100), pw(100, 5000))
	tr := jd.ExpectedTrace(PostFolioDone)
	require.Len(t, tr, len(jd.Callouts()))
	for i, c := range tr {
		assert.Equal(t, jd.Callouts()[i], c.Callout)
		assert.Equal(t, PostFolioDone.Runs("gfs2", c.Callout), c.Done)
	}
	assert.False(t, tr[0].Done, "the stuffed step has no folio_done")
	assert.True(t, tr[len(tr)-1].Done, "a mapped jdata step has one")
	for _, c := range jd.ExpectedTrace(PostFolioNone) {
		assert.False(t, c.Done)
	}

	s := runSet(t, xfs1kPage,
		cases.Op{Kind: cases.PWrite, Off: 0, Len: 8192},
		cloneOp(0, 0, 1, 0, 8192),
		cases.Op{Kind: cases.Unshare, File: 1, Off: 1024, Len: 5000, KeepSize: true},
		cases.Op{Kind: cases.PWrite, File: 1, Off: 0, Len: 10})
	un := s.File(1)
	require.Equal(t, CalloutUnshare, un.Callouts()[0].Kind)
	tr = un.ExpectedTrace(PostFolioPut)
	require.Len(t, tr, 1, "the unshare steps are left out, the write stays")
	assert.Equal(t, CalloutWrite, tr[0].Kind)
	assert.False(t, tr[0].Done, "xfs installs no post-step hook")
}
