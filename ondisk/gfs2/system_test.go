package gfs2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// blockSizes are the images every comparison runs on. The journal sizes
// make journal0 at least two levels tall: 512 and 1k blocks give height 3,
// 2k and 4k height 2.
var blockSizes = []mkfsOpts{
	{bs: 512, sizeMiB: 16, journals: 1, journalMB: 8},
	{bs: 1024, sizeMiB: 32, journals: 1, journalMB: 16},
	{bs: 2048, sizeMiB: 16, journals: 1, journalMB: 8},
	{bs: 4096, sizeMiB: 16, journals: 1, journalMB: 8},
}

func forEachBlockSize(t *testing.T, fn func(t *testing.T, o mkfsOpts)) {
	for _, o := range blockSizes {
		t.Run(fmt.Sprintf("bs%d", o.bs), func(t *testing.T) { fn(t, o) })
	}
}

// namespace lists every inode reachable from dir (not through "." and
// ".."), keyed by path.
func namespace(t *testing.T, fs *FS, dir uint64, prefix string, out map[string]uint64) {
	t.Helper()
	ents, err := fs.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if e.Name == "." || e.Name == ".." {
			continue
		}
		p := prefix + "/" + e.Name
		out[p] = e.Inum.Addr
		in, err := fs.Inode(e.Inum.Addr)
		require.NoError(t, err, p)
		if in.Mode&modeFmt == modeDir {
			namespace(t, fs, e.Inum.Addr, p, out)
		}
	}
}

func TestSuperblockMatchesGfs2Edit(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		fs := openImage(t, img)
		out := gfs2Edit(t, img, "sb")
		f := editFields(out)
		assert.Equal(t, "gfs2", fs.FSType())
		assert.Equal(t, o.bs, fs.BlockSize())
		assert.Equal(t, editUint(t, f, "sb_bsize"), uint64(fs.BlockSize()))
		assert.Equal(t, editUint(t, f, "sb_fs_format"), uint64(fs.Superblock().FSFormat))
		// gfs2_edit's summary lines name root then master.
		ents := editDirents(t, out)
		require.Len(t, ents, 2)
		assert.Equal(t, ents[0].Inum.Addr, fs.Superblock().RootDir.Addr)
		assert.Equal(t, ents[1].Inum.Addr, fs.Superblock().MasterDir.Addr)
		assert.Equal(t, "lock_nolock", fs.Superblock().LockProto)
		u := fs.Superblock().UUID
		assert.Equal(t, f["uuid"], fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
		root, err := fs.Lookup("/")
		require.NoError(t, err)
		assert.Equal(t, fs.Superblock().RootDir.Addr, root)
	})
}

// TestEveryFileMatchesGfs2Edit compares every file and directory of a
// fresh image (all system files: journals with tall metadata trees,
// stuffed jdata files, unstuffed quota_change files, directories) with
// gfs2_edit's dump of the same dinode.
func TestEveryFileMatchesGfs2Edit(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		image, err := os.ReadFile(img)
		require.NoError(t, err)
		fs := openImage(t, img)
		bs := uint64(o.bs)

		files := map[string]uint64{"/": fs.Superblock().RootDir.Addr, "master:": fs.Superblock().MasterDir.Addr}
		namespace(t, fs, fs.Superblock().MasterDir.Addr, "master:", files)
		for _, p := range []string{"master:/jindex/journal0", "master:/rindex", "master:/per_node/quota_change0", "master:/inum", "master:/statfs", "master:/quota"} {
			require.Contains(t, files, p)
		}
		kinds := map[string]int{}
		var all []uint64
		for _, ino := range files {
			all = append(all, ino)
		}
		dumps := gfs2EditBlocks(t, img, all)
		for path, ino := range files {
			out := dumps[ino]
			f := editFields(out)
			in, err := fs.Inode(ino)
			require.NoError(t, err, path)
			height := int(editUint(t, f, "di_height"))
			assert.Equal(t, ino, editUint(t, f, "no_addr"), path)
			assert.Equal(t, editUint(t, f, "di_size"), uint64(in.Size), path)
			assert.Equal(t, editUint(t, f, "di_flags"), in.Flags, path)
			assert.Equal(t, editUint(t, f, "di_mode"), uint64(in.Mode), path)
			assert.Equal(t, height == 0, in.Inline, path)
			assert.Equal(t, in.Flags&FlagJData != 0, in.JournalData, path)

			data, err := fs.ReadFile(ino)
			require.NoError(t, err, path)
			require.Len(t, data, int(in.Size), path)
			if height == 0 {
				kinds["stuffed"]++
				inl := int64(ino*bs + dinodeSize)
				assert.Equal(t, []ondisk.Extent{{Count: 1, Kind: ondisk.Inline, InlineOffset: inl}}, in.Extents, path)
				assert.Equal(t, image[inl:inl+in.Size], data, path)
				tail, err := fs.EOFTail(ino)
				require.NoError(t, err)
				assert.Equal(t, image[inl+in.Size:int64(ino+1)*int64(bs)], tail, path)
			} else if in.Mode&modeFmt != modeDir {
				kinds[fmt.Sprintf("height%d", height)]++
				if in.JournalData {
					kinds["unstuffed jdata"]++
				}
				want, indirect := editExtents(t, out, height, bs)
				if len(want) == 0 && height == 1 && in.JournalData {
					// gfs2_edit prints no pointer list for jdata files:
					// take the pointers from its hex dump instead.
					want = hexPointers(t, img, ino, bs, in.Extents)
				}
				require.NotEmpty(t, want, path)
				assert.Empty(t, cmp.Diff(want, in.Extents), path)
				m, err := fs.Map(ino)
				require.NoError(t, err)
				assert.Len(t, m.Indirect, indirect, path)
				assert.Equal(t, editUint(t, f, "di_blocks"), 1+uint64(len(m.Indirect))+mapped(in.Extents), path)
				// The bytes, assembled from gfs2_edit's map rather than ours.
				assert.True(t, bytes.Equal(assemble(image, want, bs, in.Size), data), path)
				assert.False(t, bytes.Contains(data, poison), "%s: poison in file data", path)
			}
			if in.Mode&modeFmt == modeDir {
				kinds["dir"]++
				ents, err := fs.ReadDir(ino)
				require.NoError(t, err)
				assert.Empty(t, cmp.Diff(sortedNames(editDirents(t, out)), sortedNames(ents)), path)
			}
		}
		t.Logf("files by kind: %v", kinds)
		assert.Positive(t, kinds["stuffed"])
		assert.Positive(t, kinds["height1"]+kinds["height2"])
		assert.Positive(t, kinds["dir"])
		if o.bs <= 1024 {
			assert.Positive(t, kinds["height3"])
		} else {
			assert.Positive(t, kinds["height2"])
		}
	})
}

// hexPointers decodes the data pointers of a height-1 dinode from
// gfs2_edit's hex dump of it, checking the dump covers every block ours
// maps.
func hexPointers(t *testing.T, img string, ino, bs uint64, ours []ondisk.Extent) []ondisk.Extent {
	b, covered := editHexBlock(t, img, ino, bs)
	nptr := (uint64(covered) - dinodeSize) / 8
	if k := len(ours) - 1; k >= 0 {
		require.Less(t, ours[k].Logical+ours[k].Count-1, nptr, "hex dump too short for dinode %d", ino)
	}
	var exts []ondisk.Extent
	for i := uint64(0); i < nptr; i++ {
		p := binary.BigEndian.Uint64(b[dinodeSize+i*8:])
		if p == 0 {
			continue
		}
		if k := len(exts) - 1; k >= 0 && exts[k].Logical+exts[k].Count == i && exts[k].Physical+exts[k].Count == p {
			exts[k].Count++
			continue
		}
		exts = append(exts, ondisk.Extent{Logical: i, Physical: p, Count: 1, Kind: ondisk.Data})
	}
	return exts
}

func mapped(exts []ondisk.Extent) uint64 {
	var n uint64
	for _, e := range exts {
		n += e.Count
	}
	return n
}

// assemble builds size bytes of a file from the image through extents,
// zeros elsewhere: the expected ReadFile result.
func assemble(image []byte, exts []ondisk.Extent, bs uint64, size int64) []byte {
	out := make([]byte, size)
	for _, e := range exts {
		for i := uint64(0); i < e.Count; i++ {
			lo := (e.Logical + i) * bs
			if lo >= uint64(size) {
				break
			}
			p := (e.Physical + i) * bs
			copy(out[lo:], image[p:p+bs])
		}
	}
	return out
}

// sortedNames drops de_type, which gfs2_edit prints as a word, and orders
// entries by name.
func sortedNames(ents []DirEntry) []DirEntry {
	out := make([]DirEntry, len(ents))
	for i, e := range ents {
		e.Type, e.Offset = 0, 0
		out[i] = e
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
