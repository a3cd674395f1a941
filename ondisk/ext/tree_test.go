package ext

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fileSpec is one file of the source tree handed to mkfs -d. Chunks are
// written at their offsets; everything else is a hole (mkfs -d keeps
// holes), and Size sets the final length.
type fileSpec struct {
	path   string
	size   int64
	chunks []chunk
}

type chunk struct {
	off int64
	n   int
}

// treeFor returns the files that exercise every mapping shape for block
// size bs: small and partial-block files, holes, indirect blocks up to
// double (triple when asked: on 1k blocks its file is a 67 MiB sparse
// file, so only the ext2 case pays for it), and, for extent trees,
// enough single-block extents for a tree of depth 2.
func treeFor(bs int, triple bool) []fileSpec {
	b := int64(bs)
	ptrs := b / 4
	dind := nDirect + ptrs + 3 // a block mapped through the double indirect block
	deep := []chunk{{0, bs}, {dind * b, 100}}
	deepSize := dind*b + 100
	if triple {
		tind := nDirect + ptrs + ptrs*ptrs + 7 // through the triple indirect block
		deep = append(deep, chunk{tind * b, 10})
		deepSize = tind*b + 10
	}
	// A leaf holds (bs-12)/12 extents and the root 4, so this many
	// separate extents need a tree of depth 2.
	nfrag := 4*(bs-extHeaderLen)/extEntryLen + 10
	frag := make([]chunk, nfrag)
	for i := range frag {
		frag[i] = chunk{int64(2*i) * b, bs}
	}
	return []fileSpec{
		{path: "empty"},
		{path: "tiny", size: 40, chunks: []chunk{{0, 40}}},
		{path: "small", size: 100, chunks: []chunk{{0, 100}}},
		{path: "partial", size: 5000, chunks: []chunk{{0, 5000}}},
		{path: "aligned", size: 3 * b, chunks: []chunk{{0, 3 * bs}}},
		{path: "sparse", size: 60*b + 123, chunks: []chunk{{3*b + 17, 100}, {40 * b, 2 * bs}, {60*b + 122, 1}}},
		{path: "holeend", size: 20 * b, chunks: []chunk{{0, 10}}},
		{path: "big", size: 280 * b, chunks: []chunk{{0, 280 * bs}}},
		{path: "deep", size: deepSize, chunks: deep},
		{path: "frag", size: int64(2*nfrag-1) * b, chunks: frag},
		{path: "dir/sub/nested", size: 3000, chunks: []chunk{{0, 3000}}},
		{path: "dir/sub/other", size: 1, chunks: []chunk{{0, 1}}},
	}
}

// writeTree creates the files (with seeded random contents), a fast and a
// slow symlink, and a directory with enough entries to span many blocks.
func writeTree(t testing.TB, root string, specs []fileSpec) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range specs {
		p := filepath.Join(root, s.path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		f, err := os.Create(p)
		require.NoError(t, err)
		for _, c := range s.chunks {
			buf := make([]byte, c.n)
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			_, err := f.WriteAt(buf, c.off)
			require.NoError(t, err)
		}
		require.NoError(t, f.Truncate(s.size))
		require.NoError(t, f.Close())
	}
	require.NoError(t, os.Symlink("small", filepath.Join(root, "fastlink")))
	require.NoError(t, os.Symlink(strings.Repeat("long/", 30)+"target", filepath.Join(root, "slowlink")))
	many := filepath.Join(root, "many")
	require.NoError(t, os.Mkdir(many, 0o755))
	for i := range 150 {
		name := filepath.Join(many, "entry-with-a-longish-name-"+strings.Repeat("x", i%20)+"-"+strconv.Itoa(i))
		require.NoError(t, os.WriteFile(name, []byte(strconv.Itoa(i)), 0o644))
	}
}
