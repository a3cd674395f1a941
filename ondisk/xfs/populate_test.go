package xfs

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// population is what the test wrote through the kernel: the expected
// content of every regular file and the names in every directory, with
// the inode numbers the kernel reported.
type population struct {
	Files map[string][]byte   // path relative to the root -> content
	Dirs  map[string][]string // directory path -> sorted names
	Inos  map[string]uint64   // path -> st_ino
}

// btree3Writes is enough one-block extents to need a bmbt of height 3
// when the data fork root holds at most 4 pointers: more than 4 full
// leaves of (bs-72)/16 records.
func btree3Writes(bs int) int { return 4*((bs-72)/16) + 8 }

// populate writes the test files into a mounted filesystem.
func populate(t *testing.T, mnt string, bs int) *population {
	t.Helper()
	rng := rand.New(rand.NewSource(int64(bs)))
	random := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	p := &population{Files: map[string][]byte{}, Dirs: map[string][]string{}, Inos: map[string]uint64{}}
	path := func(name string) string { return filepath.Join(mnt, name) }
	write := func(name string, data []byte) {
		require.NoError(t, os.WriteFile(path(name), data, 0o644))
		p.Files[name] = data
	}
	// writeAt writes data at each offset (in the order given) into a
	// file truncated to size, returning the content.
	writeAt := func(name string, size int64, chunks map[int64][]byte, order []int64) []byte {
		f, err := os.OpenFile(path(name), os.O_CREATE|os.O_RDWR, 0o644)
		require.NoError(t, err)
		want := make([]byte, size)
		require.NoError(t, f.Truncate(size))
		for _, off := range order {
			_, err := f.WriteAt(chunks[off], off)
			require.NoError(t, err)
			copy(want[off:], chunks[off])
		}
		require.NoError(t, f.Close())
		p.Files[name] = want
		return want
	}

	write("empty", nil)
	write("small", random(100))
	write("partial", random(5000))
	write("multiblock", random(9*bs+1))

	// Holes between and after the data, partial last data block.
	writeAt("sparse", 400000, map[int64][]byte{100000: random(1000), 300000: random(5000)}, []int64{300000, 100000})

	// Unwritten extents: preallocated over poisoned free space, then one
	// small write in the middle of a block.
	xfsIO(t, path("unwritten"), fmt.Sprintf("falloc 0 %d", 16*bs))
	chunk := random(10)
	writeAt("unwritten", int64(16*bs), map[int64][]byte{int64(3*bs + 7): chunk}, []int64{int64(3*bs + 7)})

	// Blocks past EOF: fallocate KEEP_SIZE beyond a partial last block.
	write("pasteof", random(3000))
	xfsIO(t, path("pasteof"), fmt.Sprintf("falloc -k 0 %d", 20*bs))

	// Reflink: a clone shares every block, then a CoW overwrite of one.
	write("reflink_src", random(7*bs+123))
	out, err := exec.Command("cp", "--reflink=always", path("reflink_src"), path("reflink_dst")).CombinedOutput()
	require.NoError(t, err, "cp --reflink: %s", out)
	dst := bytes.Clone(p.Files["reflink_src"])
	cow := random(bs)
	copy(dst[2*bs:], cow)
	// No truncate here: even a same-size truncate zeroes the partial EOF
	// block and so unshares it.
	f, err := os.OpenFile(path("reflink_dst"), os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(cow, int64(2*bs))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	p.Files["reflink_dst"] = dst

	// Fragmented files: every other block written, last first so no write
	// extends the file (no speculative preallocation fills the holes).
	fragment := func(name string, n int) {
		chunks := map[int64][]byte{}
		var order []int64
		for i := n - 1; i >= 0; i-- {
			off := int64(2 * i * bs)
			chunks[off] = random(bs)
			order = append(order, off)
		}
		writeAt(name, int64(2*n*bs-bs/2), chunks, order)
	}
	fragment("btree2", 40)
	// A large inline xattr squeezes the data fork to 72 bytes (a 4-pointer
	// bmbt root), so height 3 is reached with few extents.
	f, err = os.Create(path("btree3"))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, syscall.Setxattr(path("btree3"), "user.pad", bytes.Repeat([]byte("x"), 250), 0))
	fragment("btree3", btree3Writes(bs))

	// Directories: shortform, single block, and multi-block (leaf/node).
	mkdirWith := func(dir string, n int, nameLen int) {
		require.NoError(t, os.MkdirAll(path(dir), 0o755))
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%0*d", nameLen, i)
			write(filepath.Join(dir, name), []byte(name))
		}
	}
	mkdirWith("dirsf", 3, 4)
	mkdirWith("dirblk", 20, 30)
	mkdirWith("dirblk/sub", 2, 5)
	mkdirWith("dirbig", 400, 40)

	require.NoError(t, filepath.Walk(mnt, func(pth string, fi os.FileInfo, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(mnt, pth)
		require.NoError(t, err)
		p.Inos[rel] = fi.Sys().(*syscall.Stat_t).Ino
		if fi.IsDir() {
			ents, err := os.ReadDir(pth)
			require.NoError(t, err)
			names := []string{}
			for _, e := range ents {
				names = append(names, e.Name())
			}
			sort.Strings(names)
			p.Dirs[rel] = names
		}
		return nil
	}))
	return p
}
