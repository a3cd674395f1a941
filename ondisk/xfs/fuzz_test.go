package xfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// The fuzz target mutates a valid image. XFS images cannot be smaller
// than 16 MiB, too big for the fuzzer to mutate directly, so the input is
// a list of byte patches aimed at the image's metadata (superblock,
// inodes, bmbt blocks, directory blocks), applied by an overlay reader.

// fuzzRegion is a metadata byte range of the base image worth mutating.
type fuzzRegion struct{ off, len int64 }

type fuzzBase struct {
	img     []byte
	regions []fuzzRegion
	err     error
}

var (
	fuzzOnce sync.Once
	fuzzImg  fuzzBase
)

// loadFuzzBase builds the base image once per process.
func loadFuzzBase(t testing.TB) *fuzzBase {
	fuzzOnce.Do(func() { fuzzImg.err = buildFuzzBase(t) })
	require.NoError(t, fuzzImg.err)
	return &fuzzImg
}

func buildFuzzBase(t testing.TB) error {
	c := mkfsConfig{BlockSize: 1024, Nrext64: true, SizeMiB: 16}
	img := makeImage(t, c)
	withMount(t, img, func(mnt string) {
		p := func(n string) string { return filepath.Join(mnt, n) }
		require.NoError(t, os.WriteFile(p("small"), bytes.Repeat([]byte("a"), 1500), 0o644))
		xfsIO(t, p("unwritten"), "falloc 0 8192", "pwrite -q 1000 10")
		f, err := os.Create(p("frag"))
		require.NoError(t, err)
		for i := 29; i >= 0; i-- {
			_, err := f.WriteAt([]byte{byte(i)}, int64(i)*2048)
			require.NoError(t, err)
		}
		require.NoError(t, f.Close())
		require.NoError(t, os.Symlink("target", p("link")))
		require.NoError(t, os.Mkdir(p("sf"), 0o755))
		require.NoError(t, os.WriteFile(p("sf/x"), []byte("x"), 0o644))
		require.NoError(t, os.Mkdir(p("blk"), 0o755))
		for i := 0; i < 30; i++ {
			require.NoError(t, os.WriteFile(p(fmt.Sprintf("blk/entry-%02d", i)), nil, 0o644))
		}
		require.NoError(t, os.Mkdir(p("leaf"), 0o755))
		for i := 0; i < 120; i++ {
			require.NoError(t, os.WriteFile(p(fmt.Sprintf("leaf/a-much-longer-entry-name-%03d", i)), nil, 0o644))
		}
	})
	raw, err := os.ReadFile(img)
	if err != nil {
		return err
	}
	fuzzImg.img = raw
	fs, err := Open(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	sb := fs.Superblock()
	bs := int64(sb.BlockSize)
	fuzzImg.regions = append(fuzzImg.regions, fuzzRegion{0, int64(sb.SectSize)})
	for _, name := range []string{"/", "/small", "/unwritten", "/frag", "/link", "/sf", "/blk", "/leaf"} {
		ino, err := fs.Lookup(name)
		if err != nil {
			return err
		}
		d, err := fs.Dinode(ino)
		if err != nil {
			return err
		}
		fuzzImg.regions = append(fuzzImg.regions, fuzzRegion{d.Offset, int64(sb.InodeSize)})
		in, info, err := func() (*ondisk.Inode, BmapInfo, error) {
			in, err := fs.Inode(ino)
			if err != nil {
				return nil, BmapInfo{}, err
			}
			info, err := fs.Bmap(ino)
			return in, info, err
		}()
		if err != nil {
			return err
		}
		for _, b := range info.BtreeBlocks {
			fuzzImg.regions = append(fuzzImg.regions, fuzzRegion{int64(b) * bs, bs})
		}
		if d.IsDir() {
			for _, e := range in.Extents {
				if e.Kind == ondisk.Data {
					fuzzImg.regions = append(fuzzImg.regions, fuzzRegion{int64(e.Physical) * bs, int64(e.Count) * bs})
				}
			}
		}
	}
	return nil
}

// patchedImage is the base image with a few bytes replaced.
type patchedImage struct {
	base    []byte
	patches map[int64]byte
	sorted  []int64
}

func (p *patchedImage) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(p.base)) {
		return 0, io.EOF
	}
	n := copy(b, p.base[off:])
	i := sort.Search(len(p.sorted), func(i int) bool { return p.sorted[i] >= off })
	for ; i < len(p.sorted) && p.sorted[i] < off+int64(n); i++ {
		b[p.sorted[i]-off] = p.patches[p.sorted[i]]
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// applyFuzzInput turns the input into patches: byte 0 holds flags (bit 0:
// skip CRC checks), then 4-byte groups [region, offset hi, offset lo, value].
func applyFuzzInput(base *fuzzBase, data []byte) (*patchedImage, bool) {
	p := &patchedImage{base: base.img, patches: map[int64]byte{}}
	if len(data) == 0 {
		return p, false
	}
	skipCRC := data[0]&1 != 0
	for g := data[1:]; len(g) >= 4 && len(p.patches) < 64; g = g[4:] {
		r := base.regions[int(g[0])%len(base.regions)]
		off := r.off + int64(binary.BigEndian.Uint16(g[1:]))%r.len
		p.patches[off] = g[3]
	}
	for off := range p.patches {
		p.sorted = append(p.sorted, off)
	}
	sort.Slice(p.sorted, func(i, j int) bool { return p.sorted[i] < p.sorted[j] })
	return p, skipCRC
}

// exerciseImage calls every reader entry point on the inodes the image
// claims, within bounds; it must return (errors are fine), never panic.
func exerciseImage(r io.ReaderAt, skipCRC bool) {
	fs, err := open(r, Options{MaxFileSize: 1 << 20}, skipCRC)
	if err != nil {
		return
	}
	sb := fs.Superblock()
	seen := map[uint64]bool{}
	visit := func(ino uint64) {
		if seen[ino] || len(seen) >= 400 {
			return
		}
		seen[ino] = true
		_, _ = fs.Inode(ino)
		_, _ = fs.ReadFile(ino)
		_, _ = fs.EOFTail(ino)
		_, _ = fs.Bmap(ino)
	}
	// The root inode chunk, as far as sb_icount says inodes exist.
	for i := uint64(0); i < min(sb.ICount, 64); i++ {
		visit(sb.RootIno + i)
	}
	// Everything reachable from the root, breadth first.
	queue := []uint64{sb.RootIno}
	for len(queue) > 0 && len(seen) < 400 {
		dir := queue[0]
		queue = queue[1:]
		ents, err := fs.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !seen[e.Ino] {
				visit(e.Ino)
				queue = append(queue, e.Ino)
			}
		}
	}
	for _, p := range []string{"/small", "/leaf/a-much-longer-entry-name-077", "/blk/entry-29", "/sf/x", "/sf/../blk/.."} {
		_, _ = fs.Lookup(p)
	}
	_, _ = fs.RawBlock(sb.DBlocks - 1)
}

func FuzzOpen(f *testing.F) {
	base := loadFuzzBase(f)
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 100, 4})                          // superblock byte
	f.Add([]byte{1, 3, 0, 5, 1})                            // inode format byte, CRC off
	f.Add([]byte{1, 4, 0, 176, 0xff, 4, 0, 177, 0xff})      // bmbt root of /frag
	f.Add([]byte{1, 9, 0, 64, 0xff, 9, 0, 80, 0, 9, 0, 88}) // a bmbt block
	f.Fuzz(func(t *testing.T, data []byte) {
		img, skipCRC := applyFuzzInput(base, data)
		exerciseImage(img, skipCRC)
	})
}

// TestFuzzBaseIsValid makes sure the fuzz base reads cleanly, so that
// mutations start from a valid image.
func TestFuzzBaseIsValid(t *testing.T) {
	base := loadFuzzBase(t)
	fs, err := Open(bytes.NewReader(base.img))
	require.NoError(t, err)
	ino := mustLookup(t, fs, "/frag")
	info, err := fs.Bmap(ino)
	require.NoError(t, err)
	require.Equal(t, 2, info.Height)
	ents, err := fs.ReadDir(mustLookup(t, fs, "/leaf"))
	require.NoError(t, err)
	require.Len(t, ents, 120)
	require.Greater(t, len(base.regions), 10)
}
