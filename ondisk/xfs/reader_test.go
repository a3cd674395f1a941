package xfs

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

var mountedConfigs = []mkfsConfig{
	{BlockSize: 1024, Nrext64: true, SizeMiB: 16},
	{BlockSize: 2048, Nrext64: false, SizeMiB: 16},
	{BlockSize: 4096, Nrext64: true, SizeMiB: 32, AGCount: 2},
	{BlockSize: 4096, Nrext64: false, SizeMiB: 32},
}

func openImage(t testing.TB, img string) *FS {
	t.Helper()
	f, err := os.Open(img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	fs, err := Open(f)
	require.NoError(t, err)
	return fs
}

// TestMountedImages writes files through the kernel on loop-mounted images
// and checks every answer of the reader against xfs_db and the content the
// test wrote.
func TestMountedImages(t *testing.T) {
	for _, c := range mountedConfigs {
		t.Run(c.String(), func(t *testing.T) {
			img := makeImage(t, c)
			var pop *population
			withMount(t, img, func(mnt string) { pop = populate(t, mnt, c.BlockSize) })
			fs := openImage(t, img)
			checkSuperblock(t, fs, img, c)
			checkFiles(t, fs, img, pop)
			checkDirs(t, fs, pop)
			checkSpecialFiles(t, fs, img, pop, c)
		})
	}
}

func checkSuperblock(t *testing.T, fs *FS, img string, c mkfsConfig) {
	sb := fs.Superblock()
	out := xfsDB(t, img, "sb 0", "print")
	assert.Equal(t, c.BlockSize, fs.BlockSize())
	assert.Equal(t, "xfs", fs.FSType())
	assert.EqualValues(t, dbUint(t, out, "blocksize"), sb.BlockSize)
	assert.EqualValues(t, dbUint(t, out, "dblocks"), sb.DBlocks)
	assert.EqualValues(t, dbUint(t, out, "agblocks"), sb.AGBlocks)
	assert.EqualValues(t, dbUint(t, out, "agcount"), sb.AGCount)
	assert.EqualValues(t, dbUint(t, out, "agblklog"), sb.AGBlkLog)
	assert.EqualValues(t, dbUint(t, out, "inopblog"), sb.InoPBLog)
	assert.EqualValues(t, dbUint(t, out, "inodesize"), sb.InodeSize)
	assert.EqualValues(t, dbUint(t, out, "rootino"), sb.RootIno)
	assert.EqualValues(t, dbUint(t, out, "dirblklog"), sb.DirBlkLog)
	assert.Equal(t, c.Nrext64, sb.HasNrext64())
	assert.True(t, sb.HasReflink())
	assert.False(t, sb.HasRmapbt())
	assert.True(t, sb.HasFtype())
	if c.AGCount > 0 {
		assert.EqualValues(t, c.AGCount, sb.AGCount)
	}
}

// checkFiles compares every regular file with xfs_db and the written data.
func checkFiles(t *testing.T, fs *FS, img string, pop *population) {
	sb := fs.Superblock()
	bs := uint64(sb.BlockSize)
	names := make([]string, 0, len(pop.Files))
	for n := range pop.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := pop.Files[name]
		ino, err := fs.Lookup("/" + name)
		require.NoError(t, err, name)
		require.Equal(t, pop.Inos[name], ino, "Lookup(/%s)", name)

		got, err := fs.ReadFile(ino)
		require.NoError(t, err, name)
		if !bytes.Equal(want, got) {
			t.Errorf("%s: ReadFile differs from what was written: %s", name, firstDiff(want, got))
		}
		if len(want) < 100 { // the many tiny directory members: content only
			continue
		}
		in, err := fs.Inode(ino)
		require.NoError(t, err, name)
		db := xfsDBInode(t, img, uint64(sb.AGBlocks), ino)
		assert.Equal(t, db.Size, in.Size, "%s size", name)
		assert.EqualValues(t, len(want), in.Size, "%s size", name)
		assert.EqualValues(t, 0o100000, in.Mode&0o170000, "%s mode", name)
		assert.False(t, in.Inline, name)
		if diff := cmp.Diff(toDBExtents(in.Extents), db.Extents); diff != "" {
			t.Errorf("%s: extents differ from xfs_db bmap (-reader +xfs_db):\n%s", name, diff)
		}
		d, err := fs.Dinode(ino)
		require.NoError(t, err)
		assert.Equal(t, db.NExtents, d.NExtents, "%s nextents", name)
		assert.EqualValues(t, db.Format, d.Format, "%s format", name)

		// The first written block and the EOF block as xfs_db reads them.
		for _, e := range in.Extents {
			if e.Kind != ondisk.Data {
				continue
			}
			dbBlk := xfsDBDblock(t, img, ino, e.Logical)
			raw, err := fs.RawBlock(e.Physical)
			require.NoError(t, err)
			assert.Equal(t, dbBlk, raw, "%s block %d: RawBlock vs xfs_db dblock", name, e.Logical)
			fsb := (e.Physical/uint64(sb.AGBlocks))<<sb.AGBlkLog | e.Physical%uint64(sb.AGBlocks)
			assert.Equal(t, dbBlk, xfsDBFsblock(t, img, fsb), "%s block %d: xfs_db fsblock vs dblock", name, e.Logical)
			if start := e.Logical * bs; start < uint64(len(want)) {
				end := min(start+bs, uint64(len(want)))
				assert.Equal(t, want[start:end], raw[:end-start], "%s block %d content", name, e.Logical)
			}
			break
		}
		tail, err := fs.EOFTail(ino)
		require.NoError(t, err)
		if rem := uint64(len(want)) % bs; rem != 0 && eofKind(in, bs) == ondisk.Data {
			blk := xfsDBDblock(t, img, ino, uint64(len(want))/bs)
			assert.Equal(t, blk[rem:], tail, "%s EOF tail", name)
		} else {
			assert.Empty(t, tail, "%s EOF tail", name)
		}
	}
}

// eofKind is what the block holding EOF maps to.
func eofKind(in *ondisk.Inode, bs uint64) ondisk.Kind {
	lb := uint64(in.Size) / bs
	for _, e := range in.Extents {
		if lb >= e.Logical && lb < e.Logical+e.Count {
			return e.Kind
		}
	}
	return ondisk.Hole
}

func toDBExtents(ext []ondisk.Extent) []dbExtent {
	var out []dbExtent
	for _, e := range ext {
		out = append(out, dbExtent{Logical: e.Logical, Physical: e.Physical, Count: e.Count, Unwritten: e.Kind == ondisk.Unwritten})
	}
	return out
}

func firstDiff(want, got []byte) string {
	if len(want) != len(got) {
		return fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Sprintf("first difference at byte %d: got %#02x, want %#02x", i, got[i], want[i])
		}
	}
	return "equal"
}

func checkDirs(t *testing.T, fs *FS, pop *population) {
	for dir, names := range pop.Dirs {
		path := "/" + dir
		if dir == "." {
			path = "/"
		}
		ino, err := fs.Lookup(path)
		require.NoError(t, err, path)
		assert.Equal(t, pop.Inos[dir], ino, "Lookup(%s)", path)
		ents, err := fs.ReadDir(ino)
		require.NoError(t, err, path)
		var got []string
		for _, e := range ents {
			got = append(got, e.Name)
			assert.Equal(t, pop.Inos[joinRel(dir, e.Name)], e.Ino, "%s/%s inode", dir, e.Name)
		}
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("ReadDir(%s) (-kernel +reader):\n%s", path, diff)
		}
	}
	_, err := fs.Lookup("/dirblk/nonexistent")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = fs.Lookup("/small/x")
	assert.ErrorContains(t, err, "not a directory")
	ino, err := fs.Lookup("/dirblk/sub/../sub/./00001")
	require.NoError(t, err)
	assert.Equal(t, pop.Inos["dirblk/sub/00001"], ino)
}

func joinRel(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}
