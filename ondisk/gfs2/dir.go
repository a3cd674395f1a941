package gfs2

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// DirEntry is one live gfs2_dirent.
type DirEntry struct {
	Name   string
	Inum   Inum
	Hash   uint32 // de_hash: crc32 (IEEE) of the name
	Type   uint16 // de_type: a DT_* value
	Offset int64  // image offset of the gfs2_dirent
}

// ErrNotFound is wrapped by Lookup when a path component does not exist.
var ErrNotFound = errors.New("gfs2: no such file or directory")

// Lookup resolves an absolute path from the root directory.
func (f *FS) Lookup(path string) (uint64, error) {
	return f.lookupFrom(f.sb.RootDir.Addr, path)
}

// LookupMaster resolves a path in the master (system) directory namespace,
// e.g. "rindex", "jindex/journal0" or "per_node/quota_change0".
func (f *FS) LookupMaster(path string) (uint64, error) {
	return f.lookupFrom(f.sb.MasterDir.Addr, path)
}

func (f *FS) lookupFrom(ino uint64, path string) (uint64, error) {
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		d, err := f.dinode(ino)
		if err != nil {
			return 0, err
		}
		if d.mode&modeFmt != modeDir {
			return 0, fmt.Errorf("gfs2: looking up %q in %q: inode %d is not a directory", name, path, ino)
		}
		e, err := f.findEntry(d, name)
		if err != nil {
			return 0, fmt.Errorf("gfs2: looking up %q: %w", path, err)
		}
		// gfs2_inode_lookup answers -ESTALE when the dirent's formal
		// inode number is not the dinode's.
		if err := f.checkFormal(e); err != nil {
			return 0, err
		}
		ino = e.Inum.Addr
	}
	return ino, nil
}

func (f *FS) checkFormal(e *DirEntry) error {
	d, err := f.dinode(e.Inum.Addr)
	if err != nil {
		return err
	}
	if got := be64(d.buf, 24); e.Inum.FormalIno != 0 && got != 0 && got != e.Inum.FormalIno {
		return corrupt(e.Offset, "dirent %q: formal inode number %d, dinode %d has %d", e.Name, e.Inum.FormalIno, e.Inum.Addr, got)
	}
	return nil
}

// findEntry looks name up the way gfs2_dirent_search does: in the dinode
// block for a linear directory, otherwise in the leaf chain the top bits of
// the name's hash select.
func (f *FS) findEntry(d *dinode, name string) (*DirEntry, error) {
	hash := crc32.ChecksumIEEE([]byte(name))
	match := func(e DirEntry) bool { return e.Hash == hash && e.Name == name }
	if d.flags&FlagExHash == 0 {
		ents, err := f.scanDirents(d.buf, dinodeSize, d.off, fmt.Sprintf("directory %d", d.addr))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if match(e) {
				return &e, nil
			}
		}
		return nil, fmt.Errorf("%q in directory %d: %w", name, d.addr, ErrNotFound)
	}
	table, err := f.hashTable(d)
	if err != nil {
		return nil, err
	}
	index := uint64(hash) >> (32 - d.depth)
	var found *DirEntry
	err = f.leafChain(d, table[index], map[uint64]bool{}, func(ents []DirEntry) bool {
		for _, e := range ents {
			if match(e) {
				found = &e
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%q in directory %d: %w", name, d.addr, ErrNotFound)
	}
	return found, nil
}

// ReadDir lists the live entries of directory ino, "." and ".." included,
// in on-disk order (leaf by leaf for an exhash directory).
func (f *FS) ReadDir(ino uint64) ([]DirEntry, error) {
	d, err := f.dinode(ino)
	if err != nil {
		return nil, err
	}
	if d.mode&modeFmt != modeDir {
		return nil, fmt.Errorf("gfs2: inode %d is not a directory (mode %#o)", ino, d.mode)
	}
	if d.flags&FlagExHash == 0 {
		return f.scanDirents(d.buf, dinodeSize, d.off, fmt.Sprintf("directory %d", d.addr))
	}
	table, err := f.hashTable(d)
	if err != nil {
		return nil, err
	}
	var all []DirEntry
	seen := map[uint64]bool{}
	for i, leaf := range table {
		// A leaf of depth lf_depth fills 2^(depth-lf_depth) consecutive
		// slots; walk each chain once.
		if i > 0 && table[i-1] == leaf || seen[leaf] {
			continue
		}
		err := f.leafChain(d, leaf, seen, func(ents []DirEntry) bool {
			all = append(all, ents...)
			return false
		})
		if err != nil {
			return nil, err
		}
	}
	return all, nil
}

// leafChain reads the leaf blocks chained from leaf through lf_next and
// hands each block's entries to visit until it returns true. seen holds
// the leaf blocks already read, so a chain that loops is reported.
func (f *FS) leafChain(d *dinode, leaf uint64, seen map[uint64]bool, visit func([]DirEntry) bool) error {
	ref := d.off + dinodeSize // best available: the hash table
	for leaf != 0 {
		what := fmt.Sprintf("directory %d leaf %d", d.addr, leaf)
		if seen[leaf] {
			return corrupt(ref, "%s: leaf reached twice", what)
		}
		seen[leaf] = true
		b, err := f.readBlock(leaf, ref, what)
		if err != nil {
			return err
		}
		off := f.blockOff(leaf)
		if err := checkHeader(b, off, typeLF, what); err != nil {
			return err
		}
		if ld := int(be16(b, 24)); ld > d.depth {
			return corrupt(off+24, "%s: lf_depth %d exceeds di_depth %d", what, ld, d.depth)
		}
		ents, err := f.scanDirents(b, leafSize, off, what)
		if err != nil {
			return err
		}
		if visit(ents) {
			return nil
		}
		ref = off + 32 // lf_next
		leaf = be64(b, 32)
	}
	return nil
}

// hashTable reads an exhash directory's table of 2^di_depth leaf pointers.
// Unstuffed, it is stored like all directory data: in jdata blocks of
// bs-24 bytes after a GFS2_METATYPE_JD header (gfs2_dir_read_data).
func (f *FS) hashTable(d *dinode) ([]uint64, error) {
	raw := make([]byte, 0, d.size)
	if d.stuffed() {
		raw = append(raw, d.buf[dinodeSize:dinodeSize+d.size]...)
	} else {
		m, err := f.blockMap(d)
		if err != nil {
			return nil, err
		}
		jb := f.bs - metaHeaderSize
		nblk := (d.size + jb - 1) / jb
		next := uint64(0)
		for _, e := range m.Extents {
			if next >= nblk {
				break
			}
			if e.Logical != next {
				return nil, corrupt(d.off, "directory %d: hash table block %d is a hole", d.addr, next)
			}
			for i := uint64(0); i < e.Count && next < nblk; i, next = i+1, next+1 {
				p := e.Physical + i
				what := fmt.Sprintf("directory %d hash table block %d", d.addr, next)
				b, err := f.readBlock(p, d.off, what)
				if err != nil {
					return nil, err
				}
				if err := checkHeader(b, f.blockOff(p), typeJD, what); err != nil {
					return nil, err
				}
				raw = append(raw, b[metaHeaderSize:metaHeaderSize+min(jb, d.size-uint64(len(raw)))]...)
			}
		}
		if next < nblk {
			return nil, corrupt(d.off, "directory %d: hash table block %d is a hole", d.addr, next)
		}
	}
	table := make([]uint64, len(raw)/8)
	for i := range table {
		table[i] = be64(raw, i*8)
	}
	return table, nil
}

// scanDirents walks the gfs2_dirent records of a dinode or leaf block from
// start to the block end with gfs2_check_dirent's rules: records tile the
// block exactly, are 8-byte aligned and at least 40 bytes, and only the
// first may be an unused sentinel (no_addr 0).
func (f *FS) scanDirents(b []byte, start int, blockOff int64, what string) ([]DirEntry, error) {
	var ents []DirEntry
	for off := start; off < len(b); {
		at := blockOff + int64(off)
		if off&7 != 0 || off+direntSize > len(b) {
			return nil, corrupt(at, "%s: dirent misaligned or past the block end", what)
		}
		recLen := int(be16(b, off+20))
		nameLen := int(be16(b, off+22))
		if recLen < direntSize || off+recLen > len(b) {
			return nil, corrupt(at, "%s: dirent de_rec_len %d invalid", what, recLen)
		}
		addr := be64(b, off+8)
		if addr == 0 {
			if off != start {
				return nil, corrupt(at, "%s: unused dirent not first in block", what)
			}
			off += recLen
			continue
		}
		if nameLen == 0 || nameLen > maxNameLen || direntSize+nameLen > recLen {
			return nil, corrupt(at, "%s: dirent de_name_len %d invalid for de_rec_len %d", what, nameLen, recLen)
		}
		name := b[off+direntSize : off+direntSize+nameLen]
		e := DirEntry{
			Name:   string(name),
			Inum:   Inum{FormalIno: be64(b, off), Addr: addr},
			Hash:   be32(b, off+16),
			Type:   be16(b, off+24),
			Offset: at,
		}
		if h := crc32.ChecksumIEEE(name); h != e.Hash {
			return nil, corrupt(at, "%s: dirent %q de_hash %#x, want %#x", what, e.Name, e.Hash, h)
		}
		if addr >= f.blocks || addr <= sbAddr/f.bs {
			return nil, corrupt(at+8, "%s: dirent %q points at block %d outside the filesystem", what, e.Name, addr)
		}
		ents = append(ents, e)
		off += recLen
	}
	return ents, nil
}
