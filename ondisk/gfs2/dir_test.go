package gfs2

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExhashDirectory uses three journals on 512-byte blocks: per_node's
// nine files overflow the 280-byte stuffed area, so mkfs.gfs2 turns it into
// an exhash directory with leaf blocks.
func TestExhashDirectory(t *testing.T) {
	img := freshImage(t, mkfsOpts{bs: 512, sizeMiB: 48, journals: 3, journalMB: 8})
	fs := openImage(t, img)
	dir, err := fs.LookupMaster("per_node")
	require.NoError(t, err)
	in, err := fs.Inode(dir)
	require.NoError(t, err)
	require.NotZero(t, in.Flags&FlagExHash, "per_node should be exhash")

	out := gfs2Edit(t, img, strconv.FormatUint(dir, 10))
	want := editDirents(t, out)
	require.Len(t, want, 11) // ".", ".." and three files per journal
	got, err := fs.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(sortedNames(want), sortedNames(got)))

	for _, e := range want {
		ino, err := fs.LookupMaster("per_node/" + e.Name)
		require.NoError(t, err, e.Name)
		assert.Equal(t, e.Inum.Addr, ino, e.Name)
	}
	for j := 0; j < 3; j++ {
		ino, err := fs.LookupMaster(fmt.Sprintf("jindex/journal%d", j))
		require.NoError(t, err)
		in, err := fs.Inode(ino)
		require.NoError(t, err)
		assert.Equal(t, int64(8<<20), in.Size)
	}
	_, err = fs.LookupMaster("per_node/inum_range3")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = fs.Lookup("/no/such")
	assert.ErrorIs(t, err, ErrNotFound)
	// A path through a regular file is not a lookup failure but a misuse.
	_, err = fs.LookupMaster("rindex/x")
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrNotFound)
}

// TestInjectedExhashDirectory covers what mkfs.gfs2 never writes: a hash
// table too large for the dinode (stored in jdata blocks) and leaves
// chained through lf_next.
func TestInjectedExhashDirectory(t *testing.T) {
	for _, c := range []struct {
		o     mkfsOpts
		depth int
	}{{blockSizes[0], 6}, {blockSizes[3], 9}} {
		t.Run(fmt.Sprintf("bs%d", c.o.bs), func(t *testing.T) {
			img := freshImage(t, c.o)
			image, err := os.ReadFile(img)
			require.NoError(t, err)
			j := newInjector(t, image)
			var names []string
			for i := range 60 {
				names = append(names, fmt.Sprintf("file-%03d", i))
			}
			// With 512-byte blocks 60 names overflow four leaves, so
			// chains form; 4k leaves hold them all.
			dir, files := j.exhashDir(j.fs.Superblock().RootDir.Addr, "hashed", c.depth, 4, names)
			require.NoError(t, os.WriteFile(img, image, 0o644))

			fs := openImage(t, img)
			got, err := fs.Lookup("/hashed")
			require.NoError(t, err)
			require.Equal(t, dir, got)
			in, err := fs.Inode(dir)
			require.NoError(t, err)
			assert.False(t, in.Inline, "the hash table should not fit the dinode")
			assert.NotZero(t, in.Flags&FlagExHash)

			ents, err := fs.ReadDir(dir)
			require.NoError(t, err)
			// gfs2_edit lists the leaves of each hash table block, so a
			// leaf whose slots straddle two blocks is printed twice.
			out := gfs2Edit(t, img, strconv.FormatUint(dir, 10))
			if c.o.bs == 512 {
				assert.Regexp(t, `next=0x[1-9a-f]`, out, "no leaf chain formed")
			}
			var want []DirEntry
			seen := map[string]bool{}
			for _, e := range editDirents(t, out) {
				if !seen[e.Name] {
					seen[e.Name] = true
					want = append(want, e)
				}
			}
			require.Len(t, want, len(names)+2)
			assert.Empty(t, cmp.Diff(sortedNames(want), sortedNames(ents)))
			for name, ino := range files {
				got, err := fs.Lookup("/hashed/" + name)
				require.NoError(t, err, name)
				assert.Equal(t, ino, got, name)
			}
			_, err = fs.Lookup("/hashed/file-999")
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}
}
