package gfs2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/iomapct/iomapct/ondisk"
)

// overlay is an image whose metadata blocks are replaced by the fuzzer's
// input: the base image stays shared and unmodified, so an iteration costs
// no 48 MiB copy.
type overlay struct {
	base   []byte
	bs     int64
	blocks []int64 // sorted block numbers replaced
	data   []byte  // len(blocks)*bs bytes, block i at i*bs
}

func (o *overlay) Size() int64 { return int64(len(o.base)) }

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(o.base)) {
		return 0, io.EOF
	}
	n := copy(p, o.base[off:])
	end := off + int64(n)
	first := sort.Search(len(o.blocks), func(i int) bool { return (o.blocks[i]+1)*o.bs > off })
	for i := first; i < len(o.blocks) && o.blocks[i]*o.bs < end; i++ {
		b := o.blocks[i]
		lo, hi := b*o.bs, (b+1)*o.bs
		s, e := max(lo, off), min(hi, end)
		src := o.data[int64(i)*o.bs:]
		copy(p[s-off:e-off], src[s-lo:e-lo])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fuzzBase is a 512-byte-block image with two journals (so per_node and
// the master directory are exhash with leaf blocks) whose metadata trees
// are pruned to their first branches, plus the files addFuzzFiles injects,
// and the blocks the fuzzer mutates:
// superblock, rgrp headers, every dinode, the tree blocks of every file,
// the directory leaves. Pruning keeps the tall trees but makes an
// iteration cheap. The image is built once and kept in the temporary
// directory: each fuzz worker process sets it up again, and mkfs over a
// poisoned file is slow on a loaded machine.
func fuzzBase(t testing.TB) (base []byte, blocks []int64) {
	cache := filepath.Join(os.TempDir(), "iomapct-gfs2-fuzzbase-v2.img")
	image, err := os.ReadFile(cache)
	if err != nil {
		img := mkImage(t, mkfsOpts{bs: 512, sizeMiB: 32, journals: 2, journalMB: 8})
		image, err = os.ReadFile(img)
		require.NoError(t, err)
		pruneTrees(t, image)
		addFuzzFiles(t, image)
		tmp := fmt.Sprintf("%s.%d", cache, os.Getpid())
		require.NoError(t, os.WriteFile(tmp, image, 0o644))
		require.NoError(t, os.Rename(tmp, cache))
	}
	fs, err := Open(bytes.NewReader(image))
	require.NoError(t, err)
	set := map[uint64]bool{sbAddr / 512: true}
	for _, rg := range fs.Rgrps() {
		set[rg.Addr] = true
	}
	for _, ino := range allInodes(t, fs) {
		set[ino] = true
		m, err := fs.Map(ino)
		require.NoError(t, err)
		for _, b := range m.Indirect {
			set[b] = true
		}
		d, err := fs.dinode(ino)
		require.NoError(t, err)
		if d.flags&FlagExHash != 0 {
			table, err := fs.hashTable(d)
			require.NoError(t, err)
			for _, l := range table {
				set[l] = true
			}
			for _, e := range m.Extents { // the jdata blocks of the table
				for i := uint64(0); e.Kind == ondisk.Data && i < e.Count; i++ {
					set[e.Physical+i] = true
				}
			}
		}
	}
	for b := range set {
		blocks = append(blocks, int64(b))
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i] < blocks[j] })
	return image, blocks
}

// addFuzzFiles adds what mkfs does not write: an exhash directory whose
// hash table lives in jdata blocks and whose leaves chain, and user files
// with holes, a partial last block and a tree taller than needed.
func addFuzzFiles(t testing.TB, image []byte) {
	j := newInjector(t, image)
	root := j.fs.Superblock().RootDir.Addr
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("f%02d", i))
	}
	j.exhashDir(root, "hashed", 6, 2, names)
	sparse := j.file(fileSpec{size: 9*512 + 100, hole: func(lb uint64) bool { return lb%2 == 1 }})
	j.link(root, "sparse", sparse, 8)
	tall := j.file(fileSpec{size: 3*512 + 1, height: 3})
	j.link(root, "tall", tall, 8)
}

// allInodes lists the root, the master directory and everything below.
func allInodes(t testing.TB, fs *FS) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	var walk func(ino uint64)
	walk = func(ino uint64) {
		if seen[ino] {
			return
		}
		seen[ino] = true
		out = append(out, ino)
		in, err := fs.Inode(ino)
		require.NoError(t, err)
		if in.Mode&modeFmt != modeDir {
			return
		}
		ents, err := fs.ReadDir(ino)
		require.NoError(t, err)
		for _, e := range ents {
			walk(e.Inum.Addr)
		}
	}
	walk(fs.Superblock().RootDir.Addr)
	walk(fs.Superblock().MasterDir.Addr)
	return out
}

// pruneTrees zeroes all but the first pointer of every dinode and all but
// the first two of every indirect block, in place: the journals keep their
// height but map a handful of blocks.
func pruneTrees(t testing.TB, image []byte) {
	fs, err := Open(bytes.NewReader(image))
	require.NoError(t, err)
	const bs = 512
	var prune func(off, n uint64, keep uint64, level, height int)
	prune = func(off, n, keep uint64, level, height int) {
		for i := uint64(0); i < n; i++ {
			p := binary.BigEndian.Uint64(image[off+i*8:])
			if p == 0 {
				continue
			}
			if i >= keep {
				binary.BigEndian.PutUint64(image[off+i*8:], 0)
				continue
			}
			if level < height {
				prune(p*bs+metaHeaderSize, fs.inptrs, 2, level+1, height)
			}
		}
	}
	for _, ino := range allInodes(t, fs) {
		d, err := fs.dinode(ino)
		require.NoError(t, err)
		if d.height > 0 && d.mode&modeFmt != modeDir {
			prune(ino*bs+dinodeSize, fs.diptrs, 1, 1, d.height)
		}
	}
}

// FuzzOpen mutates the metadata blocks of a valid image and runs every
// reader entry point on every inode the directories reach, within bounds.
// Corrupt images must give errors, and Open's errors must be
// *ondisk.CorruptError; nothing may panic or hang. The input is a list of
// byte patches, 5-byte groups [block hi, block lo, offset hi, offset lo,
// value] (block: an index into the metadata blocks), not the blocks
// themselves: a seed of every metadata block made each new interesting
// input a long minimisation, and the fuzzer stalled after three seconds.
func FuzzOpen(f *testing.F) {
	base, blocks := fuzzBase(f)
	const bs = 512
	seed := make([]byte, 0, len(blocks)*bs)
	for _, b := range blocks {
		seed = append(seed, base[b*bs:(b+1)*bs]...)
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0x18, 0xff}) // the superblock's header
	f.Add([]byte{0, 1, 0, 0x60, 0x01}) // the first rgrp header
	f.Add([]byte{0, 5, 0, 0x58, 0x07}) // a dinode's height
	f.Add([]byte{0, 9, 0, 0xe8, 0xff, 0, 9, 0, 0xe9, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		data := bytes.Clone(seed)
		for g, n := in, 0; len(g) >= 5 && n < 64; g, n = g[5:], n+1 {
			blk := int(binary.BigEndian.Uint16(g)) % len(blocks)
			off := int(binary.BigEndian.Uint16(g[2:])) % bs
			data[blk*bs+off] = g[4]
		}
		exerciseImage(t, &overlay{base: base, bs: bs, blocks: blocks, data: data})
	})
}

func exerciseImage(t *testing.T, r io.ReaderAt) {
	fs, err := Open(r)
	if err != nil {
		var ce *ondisk.CorruptError
		require.ErrorAs(t, err, &ce, "Open error is not a CorruptError: %v", err)
		return
	}
	fs.MaxReadSize = 1 << 20
	_, _ = fs.RawBlock(0)
	for i, rg := range fs.Rgrps() {
		if i == 8 {
			break
		}
		_, _ = fs.Bitmap(rg)
	}
	const maxInodes = 64
	seen := map[uint64]bool{}
	queue := []uint64{fs.Superblock().RootDir.Addr, fs.Superblock().MasterDir.Addr}
	for len(queue) > 0 && len(seen) < maxInodes {
		ino := queue[0]
		queue = queue[1:]
		if seen[ino] {
			continue
		}
		seen[ino] = true
		_, _ = fs.Inode(ino)
		_, _ = fs.ReadFile(ino)
		_, _ = fs.EOFTail(ino)
		_, _ = fs.BlockState(ino)
		ents, err := fs.ReadDir(ino)
		if err != nil {
			continue
		}
		for _, e := range ents {
			queue = append(queue, e.Inum.Addr)
			_, _ = fs.LookupMaster(e.Name)
		}
	}
}
