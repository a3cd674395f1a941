package xfs

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeProto writes an mkfs.xfs protofile describing the tree at src, so
// mkfs can populate an image without mounting it.
func writeProto(t testing.TB, src string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("/dev/null\n0 0\nd--755 0 0\n")
	var walk func(dir, indent string)
	walk = func(dir, indent string) {
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			switch {
			case e.Type()&os.ModeSymlink != 0:
				target, err := os.Readlink(p)
				require.NoError(t, err)
				fmt.Fprintf(&b, "%s%s l--777 0 0 %s\n", indent, e.Name(), target)
			case e.IsDir():
				fmt.Fprintf(&b, "%s%s d--755 0 0\n", indent, e.Name())
				walk(p, indent+" ")
				fmt.Fprintf(&b, "%s$\n", indent)
			default:
				fmt.Fprintf(&b, "%s%s ---644 0 0 %s\n", indent, e.Name(), p)
			}
		}
	}
	walk(src, " ")
	b.WriteString("$\n")
	proto := filepath.Join(t.TempDir(), "protofile")
	require.NoError(t, os.WriteFile(proto, []byte(b.String()), 0o600))
	return proto
}

// makeProtoImage populates an image from the tree at src with mkfs -p.
func makeProtoImage(t testing.TB, c mkfsConfig, src string) string {
	return makeImage(t, c, "-p", writeProto(t, src))
}

var dbLsLine = regexp.MustCompile(`^\d+\s+(\d+)\s+(\S+)\s+0x[0-9a-f]+\s+\d+\s+(.*) \(good\)$`)

// xfsDBLs lists a directory as xfs_db's "ls" decodes it: name -> inode.
func xfsDBLs(t testing.TB, img, dir string) map[string]uint64 {
	t.Helper()
	out := xfsDB(t, img, "ls "+dir)
	m := map[string]uint64{}
	for _, line := range strings.Split(out, "\n") {
		f := dbLsLine.FindStringSubmatch(strings.TrimSpace(line))
		if f == nil || f[3] == "." || f[3] == ".." {
			continue
		}
		ino, err := strconv.ParseUint(f[1], 10, 64)
		require.NoError(t, err)
		m[f[3]] = ino
	}
	return m
}

// TestProtofileImages populates images with mkfs.xfs -p (no mount) and
// checks lookups against xfs_db ls, contents against the source tree and
// block maps against xfs_db bmap.
func TestProtofileImages(t *testing.T) {
	for _, c := range []mkfsConfig{
		{BlockSize: 2048, Nrext64: false, SizeMiB: 16},
		{BlockSize: 4096, Nrext64: true, SizeMiB: 32},
	} {
		t.Run(c.String(), func(t *testing.T) {
			src := t.TempDir()
			rng := rand.New(rand.NewSource(7))
			want := map[string][]byte{}
			add := func(name string, n int) {
				data := make([]byte, n)
				rng.Read(data)
				p := filepath.Join(src, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, data, 0o644))
				want[name] = data
			}
			add("tiny", 1)
			add("partial", 3*c.BlockSize+17)
			add("aligned", 4*c.BlockSize)
			add("large", 1<<20+5)
			for i := 0; i < 60; i++ {
				add(fmt.Sprintf("many/file-with-a-long-name-%03d", i), i*97)
			}
			add("a/b/c/deep", 333)
			require.NoError(t, os.Symlink("/some/where/else", filepath.Join(src, "link")))

			img := makeProtoImage(t, c, src)
			fs := openImage(t, img)
			agblocks := uint64(fs.Superblock().AGBlocks)
			lsCache := map[string]map[string]uint64{}
			ls := func(dir string) map[string]uint64 {
				if lsCache[dir] == nil {
					lsCache[dir] = xfsDBLs(t, img, dir)
				}
				return lsCache[dir]
			}
			for name, data := range want {
				ino, err := fs.Lookup("/" + name)
				require.NoError(t, err, name)
				dir, base := filepath.Split("/" + name)
				assert.Equal(t, ls(dir)[base], ino, "Lookup(/%s) vs xfs_db ls", name)
				got, err := fs.ReadFile(ino)
				require.NoError(t, err, name)
				assert.True(t, bytes.Equal(data, got), "%s: %s", name, firstDiff(data, got))
				if strings.HasPrefix(name, "many/") && name != "many/file-with-a-long-name-059" {
					continue // one member of the big directory is enough for xfs_db
				}
				in, err := fs.Inode(ino)
				require.NoError(t, err)
				db := xfsDBInode(t, img, agblocks, ino)
				assert.Equal(t, db.Extents, toDBExtents(in.Extents), name)
				assert.Equal(t, db.Size, in.Size, name)
			}
			ents, err := fs.ReadDir(mustLookup(t, fs, "/many"))
			require.NoError(t, err)
			assert.Len(t, ents, 60)
			assert.Equal(t, ls("/many/")[ents[7].Name], ents[7].Ino)

			// A LOCAL symlink reads as its target, inline in the inode.
			lnk := mustLookup(t, fs, "/link")
			target, err := fs.ReadFile(lnk)
			require.NoError(t, err)
			assert.Equal(t, "/some/where/else", string(target))
			in, err := fs.Inode(lnk)
			require.NoError(t, err)
			assert.True(t, in.Inline)
			assert.EqualValues(t, 0o120000, in.Mode&0o170000)

			// The mmap-backed reader answers the same, and nothing after Close.
			mfs, err := OpenImage(img)
			require.NoError(t, err)
			large := mustLookup(t, mfs, "/large")
			got, err := mfs.ReadFile(large)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want["large"], got), "OpenImage ReadFile")
			require.NoError(t, mfs.Close())
			_, err = mfs.ReadFile(large)
			assert.ErrorContains(t, err, "image closed")
			require.NoError(t, mfs.Close())
		})
	}
}

func mustLookup(t testing.TB, fs *FS, path string) uint64 {
	t.Helper()
	ino, err := fs.Lookup(path)
	require.NoError(t, err, path)
	return ino
}
