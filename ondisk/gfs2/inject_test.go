package gfs2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The kernel under test is the only thing that writes files on gfs2, and
// the host has no gfs2 module, so tests that need user files (sparse ones,
// partial last blocks, many of them) add them to a real mkfs.gfs2 image
// here: allocate free blocks in the rgrp bitmaps, write dinodes, indirect
// blocks and data, and link the files into stuffed directories. gfs2_edit
// is the oracle for what was built.

// fileSpec describes one injected file.
type fileSpec struct {
	name   string
	size   uint64
	hole   func(lb uint64) bool // logical blocks left unallocated
	jdata  bool
	height int // 0: the smallest that fits (stuffed when size allows)
}

// injector adds files to an in-memory image.
type injector struct {
	t      testing.TB
	img    []byte
	fs     *FS
	bs     uint64
	free   []uint64 // free blocks, in allocation order
	formal uint64
}

func newInjector(t testing.TB, img []byte) *injector {
	fs, err := Open(bytes.NewReader(img))
	require.NoError(t, err)
	j := &injector{t: t, img: img, fs: fs, bs: uint64(fs.BlockSize()), formal: 1000}
	for _, rg := range fs.Rgrps() {
		states, err := fs.Bitmap(rg)
		require.NoError(t, err)
		for i, s := range states {
			if s == Free {
				j.free = append(j.free, rg.Data0+uint64(i))
			}
		}
	}
	return j
}

func (j *injector) put16(off uint64, v uint16) { binary.BigEndian.PutUint16(j.img[off:], v) }
func (j *injector) put32(off uint64, v uint32) { binary.BigEndian.PutUint32(j.img[off:], v) }
func (j *injector) put64(off uint64, v uint64) { binary.BigEndian.PutUint64(j.img[off:], v) }

// alloc takes the next free block, marks it in its bitmap and keeps the
// rgrp header's counters true.
func (j *injector) alloc(st State) uint64 {
	require.NotEmpty(j.t, j.free, "image full")
	n := j.free[0]
	j.free = j.free[1:]
	for _, rg := range j.fs.rgrps {
		if n < rg.Data0 || n >= rg.Data0+uint64(rg.Data) {
			continue
		}
		blk, off, shift := j.fs.bitmapPos(rg, n)
		p := blk*j.bs + off
		j.img[p] = j.img[p]&^(3<<shift) | byte(st)<<shift
		hdr := rg.Addr * j.bs
		j.put32(hdr+28, binary.BigEndian.Uint32(j.img[hdr+28:])-1)
		if st == Dinode {
			j.put32(hdr+32, binary.BigEndian.Uint32(j.img[hdr+32:])+1)
		}
		j.put32(hdr+64, 0)
		j.put32(hdr+64, crc32.ChecksumIEEE(j.img[hdr:hdr+rgrpSize]))
	}
	return n
}

func (j *injector) header(blk uint64, typ, format uint32) {
	o := blk * j.bs
	clear(j.img[o : o+j.bs])
	j.put32(o, magic)
	j.put32(o+4, typ)
	j.put32(o+16, format)
}

// dinode writes a dinode header and the fields the reader and gfs2_edit
// look at.
func (j *injector) dinode(ino uint64, mode, flags uint32, size, blocks uint64, height int) {
	o := ino * j.bs
	j.header(ino, typeDI, 400)
	j.formal++
	j.put64(o+24, j.formal)
	j.put64(o+diNumAddr, ino)
	j.put32(o+diMode, mode)
	j.put32(o+diNlink, 1)
	j.put64(o+diSize, size)
	j.put64(o+diBlocks, blocks)
	j.put64(o+104, ino) // di_goal_meta
	j.put64(o+112, ino) // di_goal_data
	j.put32(o+diFlags, flags)
	j.put16(o+diHeight, uint16(height))
}

// contentByte is the byte injected files hold at offset off; different
// per file so a block mapped to the wrong file shows.
func contentByte(ino, off uint64) byte { return byte(ino*31 + off*7 + off>>9) }

// tailMarker fills a last block past EOF, where EOFTail must find it.
var tailMarker = []byte("TAIL")

// capacity is how many blocks a tree of height h maps.
func (j *injector) capacity(h int) uint64 {
	c := j.fs.diptrs
	for i := 1; i < h; i++ {
		c *= j.fs.inptrs
	}
	return c
}

// file adds one file and returns its inode number.
func (j *injector) file(s fileSpec) uint64 {
	ino := j.alloc(Dinode)
	flags := uint32(0)
	if s.jdata {
		flags = FlagJData
	}
	if s.stuffed(j.bs) {
		j.dinode(ino, modeReg|0o644, flags, s.size, 1, 0)
		o := ino*j.bs + dinodeSize
		for i := uint64(0); i < j.bs-dinodeSize; i++ {
			if i < s.size {
				j.img[o+i] = contentByte(ino, i)
			} else {
				j.img[o+i] = tailMarker[i%4]
			}
		}
		return ino
	}
	nblocks := (s.size + j.bs - 1) / j.bs
	h := max(s.height, 1)
	for j.capacity(h) < nblocks {
		h++
	}
	require.LessOrEqual(j.t, h, j.fs.maxHeight)
	count := uint64(1)
	// span[l] is how many logical blocks one pointer at level l covers.
	span := make([]uint64, h+1)
	span[h] = 1
	for l := h - 1; l >= 1; l-- {
		span[l] = span[l+1] * j.fs.inptrs
	}
	var build func(level int, base uint64) uint64
	build = func(level int, base uint64) uint64 {
		if level > h { // a data block
			if base >= nblocks || s.hole != nil && s.hole(base) {
				return 0
			}
			b := j.alloc(Used)
			count++
			o := b * j.bs
			for i := uint64(0); i < j.bs; i++ {
				if off := base*j.bs + i; off < s.size {
					j.img[o+i] = contentByte(ino, off)
				} else {
					j.img[o+i] = tailMarker[i%4]
				}
			}
			return b
		}
		if base >= nblocks {
			return 0
		}
		// An indirect block, allocated before its children as gfs2 does.
		b := j.alloc(Used)
		j.header(b, typeIN, 500)
		count++
		// A subtree of holes keeps an indirect block of zero pointers, a
		// state gfs2 leaves after punching holes.
		for i := uint64(0); i < j.fs.inptrs; i++ {
			if p := build(level+1, base+i*span[level]); p != 0 {
				j.put64(b*j.bs+metaHeaderSize+i*8, p)
			}
		}
		return b
	}
	var ptrs []uint64
	for i := uint64(0); i < j.fs.diptrs; i++ {
		var p uint64
		if h == 1 {
			p = build(h+1, i)
		} else {
			p = build(2, i*span[1])
		}
		ptrs = append(ptrs, p)
	}
	j.dinode(ino, modeReg|0o644, flags, s.size, count, h)
	for i, p := range ptrs {
		j.put64(ino*j.bs+dinodeSize+uint64(i)*8, p)
	}
	return ino
}

// dir adds an empty stuffed linear directory under parent.
func (j *injector) dir(parent uint64, name string) uint64 {
	ino := j.alloc(Dinode)
	j.dinode(ino, modeDir|0o755, FlagJData, j.bs-dinodeSize, 1, 0)
	j.put32(ino*j.bs+132, 1200) // di_payload_format: dirents
	j.put32(ino*j.bs+diNlink, 2)
	j.put32(ino*j.bs+diEntries, 2)
	j.put32(parent*j.bs+diNlink, binary.BigEndian.Uint32(j.img[parent*j.bs+diNlink:])+1)
	o := ino*j.bs + dinodeSize
	dot := direntRecLen(1)
	j.dirent(o, ino, ".", 4, dot)
	j.dirent(o+dot, parent, "..", 4, j.bs-dinodeSize-dot)
	j.link(parent, name, ino, 4)
	return ino
}

func direntRecLen(nameLen int) uint64 { return uint64(direntSize+nameLen+7) &^ 7 }

func (j *injector) dirent(o, ino uint64, name string, typ uint16, recLen uint64) {
	clear(j.img[o : o+direntSize])
	j.put64(o, binary.BigEndian.Uint64(j.img[ino*j.bs+24:])) // the dinode's formal number
	j.put64(o+8, ino)
	j.put32(o+16, crc32.ChecksumIEEE([]byte(name))) // gfs2_disk_hash
	j.put16(o+20, uint16(recLen))
	j.put16(o+22, uint16(len(name)))
	j.put16(o+24, typ)
	copy(j.img[o+direntSize:], name)
}

// room is the free space at the end of stuffed linear directory dir.
func (j *injector) room(dir uint64) uint64 {
	o := dir*j.bs + dinodeSize
	for {
		rec := uint64(binary.BigEndian.Uint16(j.img[o+20:]))
		if o+rec == (dir+1)*j.bs {
			return rec - direntRecLen(int(binary.BigEndian.Uint16(j.img[o+22:])))
		}
		o += rec
	}
}

// placer links files into a chain of nested directories, opening the next
// one when the current is nearly full: with 512-byte blocks a stuffed
// directory holds only a few names.
type placer struct {
	j    *injector
	dir  uint64
	path string
	n    int
}

// place links ino as name and returns its path.
func (p *placer) place(name string, ino uint64) string {
	next := "d" + strconv.Itoa(p.n+1)
	if p.j.room(p.dir) < direntRecLen(len(name))+direntRecLen(len(next)) {
		p.n++
		p.dir = p.j.dir(p.dir, next)
		p.path += "/" + next
	}
	p.j.link(p.dir, name, ino, 8)
	return p.path + "/" + name
}

// link appends a dirent to the stuffed linear directory dir by shrinking
// the last record, which spans to the end of the dinode block.
func (j *injector) link(dir uint64, name string, ino uint64, typ uint16) {
	o := dir*j.bs + dinodeSize
	end := (dir + 1) * j.bs
	for {
		rec := uint64(binary.BigEndian.Uint16(j.img[o+20:]))
		if o+rec == end {
			used := direntRecLen(int(binary.BigEndian.Uint16(j.img[o+22:])))
			need := direntRecLen(len(name))
			require.GreaterOrEqual(j.t, rec, used+need, "directory %d is full", dir)
			j.put16(o+20, uint16(used))
			j.dirent(o+used, ino, name, typ, rec-used)
			j.put32(dir*j.bs+diEntries, binary.BigEndian.Uint32(j.img[dir*j.bs+diEntries:])+1)
			return
		}
		o += rec
	}
}

func (s fileSpec) stuffed(bs uint64) bool { return s.height == 0 && s.size <= bs-dinodeSize }

// expected is what ReadFile must return for an injected file.
func expected(ino uint64, s fileSpec, bs uint64) []byte {
	out := make([]byte, s.size)
	for off := range out {
		if s.hole != nil && s.hole(uint64(off)/bs) && !s.stuffed(bs) {
			continue
		}
		out[off] = contentByte(ino, uint64(off))
	}
	return out
}

func (s fileSpec) String() string { return fmt.Sprintf("%s(%d bytes)", s.name, s.size) }

// exhashDir adds an exhash directory under parent holding names (each a
// new small file) with a hash table of 2^depth pointers to nleaf leaves.
// A leaf that fills up chains a new one through lf_next, and a table
// larger than the stuffed area lives in jdata (GFS2_METATYPE_JD) blocks.
// It returns the directory and the files by name.
func (j *injector) exhashDir(parent uint64, name string, depth, nleaf int, names []string) (uint64, map[string]uint64) {
	ino := j.alloc(Dinode)
	// Written first: the dirent of "." copies its formal inode number.
	j.dinode(ino, modeDir|0o755, FlagExHash|FlagJData, 8<<depth, 1, 0)
	files := map[string]uint64{".": ino, "..": parent}
	for _, n := range names {
		files[n] = j.file(fileSpec{size: uint64(len(n))})
	}
	lfDepth := 0
	for 1<<lfDepth < nleaf {
		lfDepth++
	}
	// Each leaf chain holds the names whose hash index falls in its part
	// of the table.
	chains := make([][]string, nleaf)
	for _, n := range append([]string{".", ".."}, names...) {
		idx := crc32.ChecksumIEEE([]byte(n)) >> (32 - depth)
		k := int(idx) / (1 << (depth - lfDepth))
		chains[k] = append(chains[k], n)
	}
	blocks := uint64(1)
	first := make([]uint64, nleaf)
	for k, chain := range chains {
		var prev uint64
		for len(chain) > 0 || prev == 0 {
			leaf := j.alloc(Used)
			blocks++
			if prev == 0 {
				first[k] = leaf
			} else {
				j.put64(prev*j.bs+32, leaf) // lf_next
			}
			chain = j.fillLeaf(leaf, lfDepth, chain, files)
			prev = leaf
		}
	}
	table := make([]byte, 8<<depth)
	for i := range 1 << depth {
		binary.BigEndian.PutUint64(table[i*8:], first[i/(1<<(depth-lfDepth))])
	}
	height := 0
	var ptrs []uint64
	if uint64(len(table)) > j.bs-dinodeSize {
		height = 1
		jb := j.bs - metaHeaderSize
		for off := uint64(0); off < uint64(len(table)); off += jb {
			b := j.alloc(Used)
			blocks++
			j.header(b, typeJD, 700)
			copy(j.img[b*j.bs+metaHeaderSize:(b+1)*j.bs], table[off:])
			ptrs = append(ptrs, b)
		}
	}
	j.put64(ino*j.bs+diBlocks, blocks)
	j.put16(ino*j.bs+diHeight, uint16(height))
	j.put32(ino*j.bs+diNlink, 2)
	j.put16(ino*j.bs+diDepth, uint16(depth))
	j.put32(ino*j.bs+diEntries, uint32(len(names)+2))
	if height == 0 {
		copy(j.img[ino*j.bs+dinodeSize:], table)
	}
	for i, p := range ptrs {
		j.put64(ino*j.bs+dinodeSize+uint64(i)*8, p)
	}
	j.link(parent, name, ino, 4)
	j.put32(parent*j.bs+diNlink, binary.BigEndian.Uint32(j.img[parent*j.bs+diNlink:])+1)
	return ino, files
}

// fillLeaf writes a leaf block with as many of names as fit and returns
// the rest. Records tile the block; an empty leaf holds one unused record.
func (j *injector) fillLeaf(leaf uint64, lfDepth int, names []string, files map[string]uint64) []string {
	j.header(leaf, typeLF, 600)
	o := leaf * j.bs
	j.put16(o+24, uint16(lfDepth))
	j.put32(o+28, 1200) // lf_dirent_format
	j.put64(o+40, 0)    // lf_inode
	at := o + leafSize
	end := o + j.bs
	n := 0
	for ; n < len(names) && at+direntRecLen(len(names[n])) <= end; n++ {
		typ := uint16(8)
		if names[n] == "." || names[n] == ".." {
			typ = 4
		}
		j.dirent(at, files[names[n]], names[n], typ, direntRecLen(len(names[n])))
		last := at
		at += direntRecLen(len(names[n]))
		// The last record spans to the block end.
		j.put16(last+20, uint16(min(end-last, 0xffff)))
		if n+1 < len(names) && at+direntRecLen(len(names[n+1])) <= end {
			j.put16(last+20, uint16(direntRecLen(len(names[n]))))
		}
	}
	if n == 0 {
		clear(j.img[at : at+direntSize])
		j.put16(at+20, uint16(end-at))
	}
	j.put16(o+26, uint16(n)) // lf_entries
	return names[n:]
}
