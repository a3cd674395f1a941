package xfs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// checkSpecialFiles checks the states each special file was made for.
func checkSpecialFiles(t *testing.T, fs *FS, img string, pop *population, c mkfsConfig) {
	bs := uint64(c.BlockSize)
	inode := func(name string) *ondisk.Inode {
		in, err := fs.Inode(pop.Inos[name])
		require.NoError(t, err, name)
		return in
	}
	count := func(in *ondisk.Inode, k ondisk.Kind) (n uint64) {
		for _, e := range in.Extents {
			if e.Kind == k {
				n += e.Count
			}
		}
		return n
	}

	t.Run("unwritten", func(t *testing.T) {
		in := inode("unwritten")
		require.Equal(t, ondisk.Data, kindAt(in, 3), "the written block")
		require.Equal(t, ondisk.Unwritten, kindAt(in, 0))
		require.Equal(t, ondisk.Unwritten, kindAt(in, 15))
		// Unwritten blocks still hold stale poison on disk (some of the
		// free space mkfs zeroed does not): ReadFile must not have read it.
		poisoned := 0
		for _, e := range in.Extents {
			for b := e.Physical; e.Kind == ondisk.Unwritten && b < e.Physical+e.Count; b++ {
				raw, err := fs.RawBlock(b)
				require.NoError(t, err)
				if bytes.HasPrefix(raw, poison) {
					poisoned++
				}
			}
		}
		assert.Positive(t, poisoned, "unwritten blocks holding poison")
		tail, err := fs.EOFTail(pop.Inos["unwritten"])
		require.NoError(t, err)
		assert.Empty(t, tail, "block-aligned size")
	})

	t.Run("sparse", func(t *testing.T) {
		in := inode("sparse")
		assert.Equal(t, ondisk.Hole, kindAt(in, 0))
		assert.Equal(t, ondisk.Data, kindAt(in, 100000/bs))
		assert.Equal(t, ondisk.Hole, kindAt(in, 399999/bs), "trailing hole")
		tail, err := fs.EOFTail(pop.Inos["sparse"])
		require.NoError(t, err)
		assert.Empty(t, tail, "EOF in a hole")
	})

	t.Run("past EOF", func(t *testing.T) {
		in := inode("pasteof")
		assert.EqualValues(t, 3000, in.Size)
		last := in.Extents[len(in.Extents)-1]
		assert.EqualValues(t, 20, last.Logical+last.Count, "KEEP_SIZE preallocation is reported")
		assert.Equal(t, ondisk.Unwritten, last.Kind)
		tail, err := fs.EOFTail(pop.Inos["pasteof"])
		require.NoError(t, err)
		assert.Len(t, tail, int(bs-3000%bs))
	})

	t.Run("partial", func(t *testing.T) {
		tail, err := fs.EOFTail(pop.Inos["partial"])
		require.NoError(t, err)
		assert.Len(t, tail, int(bs-5000%bs))
	})

	t.Run("reflink", func(t *testing.T) {
		src, dst := inode("reflink_src"), inode("reflink_dst")
		shared := 0
		for lb := uint64(0); lb < 8; lb++ {
			ps, okS := physAt(src, lb)
			pd, okD := physAt(dst, lb)
			require.True(t, okS && okD, "block %d mapped in both", lb)
			if lb == 2 {
				assert.NotEqual(t, ps, pd, "the CoW-overwritten block moved")
			} else if ps == pd {
				shared++
			}
		}
		assert.Equal(t, 7, shared, "unchanged blocks stay shared")
		for _, n := range []string{"reflink_src", "reflink_dst"} {
			d, err := fs.Dinode(pop.Inos[n])
			require.NoError(t, err)
			assert.True(t, d.Reflink(), "%s has the reflink inode flag", n)
		}
	})

	t.Run("btree", func(t *testing.T) {
		for name, minHeight := range map[string]int{"btree2": 2, "btree3": 3} {
			ino := pop.Inos[name]
			info, err := fs.Bmap(ino)
			require.NoError(t, err)
			db := xfsDBInode(t, img, uint64(fs.Superblock().AGBlocks), ino)
			assert.EqualValues(t, FmtBtree, info.Format, name)
			assert.Equal(t, db.Level+1, info.Height, "%s height vs xfs_db u3.bmbt.level", name)
			assert.GreaterOrEqual(t, info.Height, minHeight, name)
			assert.NotEmpty(t, info.BtreeBlocks, name)
			d, err := fs.Dinode(ino)
			require.NoError(t, err)
			assert.Equal(t, c.Nrext64, d.Nrext64(), "%s NREXT64 inode flag", name)
			in := inode(name)
			assert.Greater(t, count(in, ondisk.Data), uint64(0))
		}
	})

	t.Run("directories", func(t *testing.T) {
		for name, want := range map[string]uint8{"dirsf": FmtLocal, "dirblk": FmtExtents, "dirbig": FmtExtents} {
			d, err := fs.Dinode(pop.Inos[name])
			require.NoError(t, err)
			assert.Equal(t, want, d.Format, name)
			assert.True(t, d.IsDir())
		}
		// dirbig needs data blocks beyond the first: a leaf or node directory.
		info, err := fs.Inode(pop.Inos["dirbig"])
		require.NoError(t, err)
		last := info.Extents[len(info.Extents)-1]
		assert.GreaterOrEqual(t, last.Logical, uint64(dirLeafOffset)/bs, "dirbig has a leaf block")
		sf, err := fs.Inode(pop.Inos["dirsf"])
		require.NoError(t, err)
		assert.True(t, sf.Inline)
		require.Len(t, sf.Extents, 1)
		assert.Equal(t, ondisk.Inline, sf.Extents[0].Kind)
	})
}

func kindAt(in *ondisk.Inode, lb uint64) ondisk.Kind {
	for _, e := range in.Extents {
		if lb >= e.Logical && lb < e.Logical+e.Count {
			return e.Kind
		}
	}
	return ondisk.Hole
}

func physAt(in *ondisk.Inode, lb uint64) (uint64, bool) {
	for _, e := range in.Extents {
		if lb >= e.Logical && lb < e.Logical+e.Count {
			return e.Physical + lb - e.Logical, true
		}
	}
	return 0, false
}
