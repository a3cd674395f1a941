package gfs2

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// userFiles are the shapes the write tests produce: stuffed, partial last
// blocks, holes at every level, trees taller than the size needs, jdata,
// EOF in a hole.
func userFiles(bs uint64, diptrs uint64) []fileSpec {
	return []fileSpec{
		{name: "empty", size: 0},
		{name: "tiny", size: 100},
		{name: "stuffed-full", size: bs - dinodeSize},
		{name: "partial", size: 3*bs + 123},
		{name: "aligned", size: 4 * bs},
		{name: "sparse", size: 40*bs + 5, hole: func(lb uint64) bool { return lb%3 == 1 || lb >= 10 && lb < 20 }},
		{name: "tall-small", size: 5*bs + 77, height: 3, hole: func(lb uint64) bool { return lb == 2 }},
		{name: "two-level", size: 2*diptrs*bs + 999, hole: func(lb uint64) bool { return lb%50 == 7 || lb >= diptrs && lb < diptrs+300 }},
		{name: "jdata", size: 2*bs + 7, jdata: true},
		{name: "stuffed-jdata", size: 33, jdata: true},
		{name: "eof-in-hole", size: 8*bs + 9, hole: func(lb uint64) bool { return lb == 8 }},
		{name: "all-holes", size: 10 * bs, hole: func(uint64) bool { return true }},
	}
}

// TestInjectedFilesMatchGfs2Edit adds user files to a real image and
// checks every one against gfs2_edit and against the bytes written.
func TestInjectedFilesMatchGfs2Edit(t *testing.T) {
	forEachBlockSize(t, func(t *testing.T, o mkfsOpts) {
		img := freshImage(t, o)
		image, err := os.ReadFile(img)
		require.NoError(t, err)
		bs := uint64(o.bs)
		j := newInjector(t, image)
		root := j.fs.Superblock().RootDir.Addr
		sub := j.dir(root, "sub")
		pl := &placer{j: j, dir: sub, path: "/sub"}
		specs := userFiles(bs, j.fs.diptrs)
		inos := map[string]uint64{}
		paths := map[string]string{}
		for _, s := range specs {
			inos[s.name] = j.file(s)
			paths[s.name] = pl.place(s.name, inos[s.name])
		}
		require.NoError(t, os.WriteFile(img, image, 0o644))

		fs := openImage(t, img)
		subIno, err := fs.Lookup("/sub")
		require.NoError(t, err)
		assert.Equal(t, sub, subIno)
		all := []uint64{sub}
		for _, ino := range inos {
			all = append(all, ino)
		}
		dumps := gfs2EditBlocks(t, img, all)
		for _, s := range specs {
			path := paths[s.name]
			ino, err := fs.Lookup(path)
			require.NoError(t, err, path)
			require.Equal(t, inos[s.name], ino, path)

			out := dumps[ino]
			f := editFields(out)
			height := int(editUint(t, f, "di_height"))
			in, err := fs.Inode(ino)
			require.NoError(t, err, path)
			assert.Equal(t, editUint(t, f, "di_size"), uint64(in.Size), path)
			assert.Equal(t, s.size, uint64(in.Size), path)
			assert.Equal(t, editUint(t, f, "di_flags"), in.Flags, path)
			assert.Equal(t, s.jdata, in.JournalData, path)
			assert.Equal(t, s.stuffed(bs), in.Inline, path)
			assert.Equal(t, height == 0, in.Inline, path)
			if s.height != 0 {
				assert.Equal(t, s.height, height, path)
			}

			data, err := fs.ReadFile(ino)
			require.NoError(t, err, path)
			assert.True(t, bytes.Equal(expected(ino, s, bs), data), "%s: content", path)
			tail, err := fs.EOFTail(ino)
			require.NoError(t, err, path)

			if in.Inline {
				assert.Equal(t, []ondisk.Extent{{Count: 1, Kind: ondisk.Inline, InlineOffset: int64(ino*bs + dinodeSize)}}, in.Extents)
				assert.Equal(t, bytes.Repeat(tailMarker, int(bs))[s.size%4:s.size%4+bs-dinodeSize-s.size], tail, path)
				continue
			}
			want, indirect := editExtents(t, out, height, bs)
			assert.Empty(t, cmp.Diff(want, in.Extents), path)
			m, err := fs.Map(ino)
			require.NoError(t, err)
			assert.Len(t, m.Indirect, indirect, path)
			assert.Equal(t, editUint(t, f, "di_blocks"), 1+uint64(len(m.Indirect))+mapped(in.Extents), path)
			assert.True(t, bytes.Equal(assemble(image, want, bs, in.Size), data), "%s: bytes via gfs2_edit's map", path)

			lastLB := (s.size - 1) / bs
			switch {
			case s.size%bs == 0 || s.hole != nil && s.hole(lastLB):
				assert.Empty(t, tail, path)
			default:
				assert.Equal(t, bytes.Repeat(tailMarker, int(bs))[s.size%bs%4:s.size%bs%4+bs-s.size%bs], tail, path)
			}
			for _, e := range in.Extents {
				st, err := fs.BlockState(e.Physical)
				require.NoError(t, err)
				assert.Equal(t, Used, st, "%s block %d", path, e.Physical)
			}
			st, err := fs.BlockState(ino)
			require.NoError(t, err)
			assert.Equal(t, Dinode, st, path)
		}
		ents, err := fs.ReadDir(sub)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(sortedNames(editDirents(t, dumps[sub])), sortedNames(ents)))
	})
}
