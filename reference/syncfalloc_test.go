package reference

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/iomapct/iomapct/cases"
)

// fallocate through a sync descriptor writes back the asked range on gfs2
// only: __gfs2_fallocate ends in vfs_fsync_range over [pos, pos+count-1]
// (gfs2/file.c:1365-1367); xfs forces the inode's log
// (xfs_file.c:1135-1136) and ext4 commits the journal
// (ext4/extents.c:4761-4764), which write no data. The bytes are those of
// a plain fallocate everywhere.
func TestFallocateSync_gfs2_file_1365_1367_xfs_file_1135(t *testing.T) {
	fa := func(off, n int64, mode string) cases.Op {
		return cases.Op{Kind: cases.Fallocate, Off: off, Len: n, Sync: mode}
	}
	for _, g := range []Geometry{gfs2_1k, xfs1k, ext4_1k} {
		plain := mustRun(t, g, pw(0, 8192), cases.Op{Kind: cases.Fallocate, Off: 1024, Len: 2048})
		m := mustRun(t, g, pw(0, 8192), fa(1024, 2048, "osync"))
		assert.Equal(t, plain.Content(), m.Content(), g.FS)
		assert.Equal(t, plain.Size(), m.Size(), g.FS)
		// The asked range's folio (the first page) is written back on
		// gfs2 only; the second page stays dirty everywhere.
		assert.Equal(t, g.FS != "gfs2", dirty(m, 1), g.FS)
		assert.True(t, dirty(m, 4), g.FS)
	}
	m := mustRun(t, gfs2_1k, pw(0, 8192), fa(5000, 10, "odsync"))
	assert.True(t, dirty(m, 0), "outside the asked range")
	assert.False(t, dirty(m, 4))
}
