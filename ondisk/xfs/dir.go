package xfs

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/iomapct/iomapct/ondisk"
)

// Directory format constants (xfs_da_format.h).
const (
	dir3BlockMagic = 0x58444233 // "XDB3": single-block directory
	dir3DataMagic  = 0x58444433 // "XDD3": data block of a leaf/node directory
	dir3DataHdr    = 64         // xfs_dir3_data_hdr: blk hdr 48 + bestfree 12 + pad 4
	dir3CRCOff     = 4
	dirFreeTag     = 0xffff
	dirBlockTail   = 8 // xfs_dir2_block_tail: count, stale
	dirLeafEntSize = 8 // xfs_dir2_leaf_entry: hashval, address
	// dirLeafOffset is where the leaf/free spaces start (XFS_DIR2_LEAF_OFFSET):
	// data blocks live below 32 GiB of directory offset.
	dirLeafOffset = 32 << 30
)

// DirEntry is one name in a directory.
type DirEntry struct {
	Name  string
	Ino   uint64
	FType uint8 // XFS_DIR3_FT_* when the filesystem has ftype, else 0
}

// ErrNotFound is returned (wrapped) by Lookup for a missing name.
var ErrNotFound = errors.New("no such file or directory")

// dirVisit is called for each entry ("." and ".." included); returning
// true stops the iteration.
type dirVisit func(name []byte, ino uint64, ftype uint8) bool

// ReadDir lists directory ino, without "." and "..", sorted by name.
func (fs *FS) ReadDir(ino uint64) ([]DirEntry, error) {
	var out []DirEntry
	err := fs.walkDir(ino, func(name []byte, child uint64, ft uint8) bool {
		if string(name) != "." && string(name) != ".." {
			out = append(out, DirEntry{Name: string(name), Ino: child, FType: ft})
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup implements ondisk.Reader. Symlinks are not followed.
func (fs *FS) Lookup(path string) (uint64, error) {
	if !strings.HasPrefix(path, "/") {
		return 0, fmt.Errorf("xfs: lookup %q: path is not absolute", path)
	}
	ino := fs.sb.RootIno
	for _, comp := range strings.Split(path, "/") {
		if comp == "" || comp == "." {
			continue
		}
		found, ok := uint64(0), false
		err := fs.walkDir(ino, func(name []byte, child uint64, _ uint8) bool {
			if string(name) == comp {
				found, ok = child, true
			}
			return ok
		})
		if err != nil {
			return 0, fmt.Errorf("xfs: lookup %q: %w", path, err)
		}
		if !ok {
			return 0, fmt.Errorf("xfs: lookup %q: %q in directory inode %d: %w", path, comp, ino, ErrNotFound)
		}
		ino = found
	}
	return ino, nil
}

// walkDir calls visit for every entry of directory ino.
func (fs *FS) walkDir(ino uint64, visit dirVisit) error {
	d, err := fs.Dinode(ino)
	if err != nil {
		return err
	}
	if !d.IsDir() {
		return fmt.Errorf("xfs: inode %d is not a directory (mode %#o)", ino, d.Mode)
	}
	if d.Format == FmtLocal {
		return fs.walkShortform(d, visit)
	}
	ext, _, err := fs.blockMap(d)
	if err != nil {
		return err
	}
	return fs.walkDirBlocks(d, ext, visit)
}

// walkShortform parses a LOCAL directory (struct xfs_dir2_sf_hdr and its
// entries) held in the data fork.
func (fs *FS) walkShortform(d *Dinode, visit dirVisit) error {
	sf := d.dataFork[:d.Size]
	base := d.DataForkOffset()
	what := fmt.Sprintf("inode %d shortform directory", d.Ino)
	if len(sf) < 6 {
		return corrupt(base, "%s: %d bytes, shorter than its header", what, len(sf))
	}
	count, i8count := int(sf[0]), int(sf[1])
	// A non-zero i8count (entries needing 64-bit inode numbers, parent
	// included) makes every inode number in the directory 8 bytes long.
	inoLen := 4
	if i8count != 0 {
		inoLen = 8
	}
	if i8count > count+1 {
		return corrupt(base+1, "%s: i8count %d exceeds count %d plus the parent", what, i8count, count)
	}
	readIno := func(p int) uint64 {
		if inoLen == 8 {
			return be.Uint64(sf[p:]) & (1<<56 - 1) // the top byte is always zero (xfs_dir2_sf_get_ino)
		}
		return uint64(be.Uint32(sf[p:]))
	}
	if 2+inoLen > len(sf) {
		return corrupt(base, "%s: header needs %d bytes, directory has %d", what, 2+inoLen, len(sf))
	}
	if visit([]byte("."), d.Ino, 0) || visit([]byte(".."), readIno(2), 0) {
		return nil
	}
	ftLen := 0
	if fs.sb.HasFtype() {
		ftLen = 1
	}
	p := 2 + inoLen
	lastOffset := -1
	for i := 0; i < count; i++ {
		if p+3 > len(sf) {
			return corrupt(base+int64(p), "%s: entry %d starts past the end (%d bytes)", what, i, len(sf))
		}
		nameLen := int(sf[p])
		offset := int(be.Uint16(sf[p+1:]))
		size := 3 + nameLen + ftLen + inoLen
		if nameLen == 0 || p+size > len(sf) {
			return corrupt(base+int64(p), "%s: entry %d (name length %d) overruns the directory", what, i, nameLen)
		}
		if offset <= lastOffset {
			return corrupt(base+int64(p+1), "%s: entry %d offset %d not above the previous %d", what, i, offset, lastOffset)
		}
		lastOffset = offset
		name := sf[p+3 : p+3+nameLen]
		if err := checkName(name, base+int64(p+3), what); err != nil {
			return err
		}
		var ft uint8
		if ftLen != 0 {
			ft = sf[p+3+nameLen]
		}
		if visit(name, readIno(p+3+nameLen+ftLen), ft) {
			return nil
		}
		p += size
	}
	if p != len(sf) {
		return corrupt(base+int64(p), "%s: %d entries end at byte %d, di_size is %d", what, count, p, len(sf))
	}
	return nil
}

func checkName(name []byte, off int64, what string) error {
	if bytes.IndexByte(name, '/') >= 0 || bytes.IndexByte(name, 0) >= 0 {
		return corrupt(off, "%s: entry name %q contains '/' or NUL", what, name)
	}
	return nil
}

// walkDirBlocks visits every data block of an EXTENTS or BTREE directory.
func (fs *FS) walkDirBlocks(d *Dinode, ext []ondisk.Extent, visit dirVisit) error {
	bs := uint64(fs.sb.BlockSize)
	perDir := uint64(1) << fs.sb.DirBlkLog
	dirBS := int(bs * perDir)
	// Data blocks lie below the leaf space and, by di_size, below EOF.
	if d.Size > fs.maxFileSize {
		return corrupt(d.Offset+56, "inode %d directory size %d exceeds the reader's limit", d.Ino, d.Size)
	}
	limit := min(uint64(dirLeafOffset)/bs, (uint64(d.Size)+bs-1)/bs)
	buf := make([]byte, dirBS)
	for _, e := range ext {
		if e.Logical >= limit {
			break
		}
		first := (e.Logical + perDir - 1) / perDir * perDir
		for lb := first; lb < e.Logical+e.Count && lb < limit; lb += perDir {
			off, err := fs.readDirBlock(d, ext, lb, buf)
			if err != nil {
				return err
			}
			stop, err := fs.walkDataBlock(d, buf, lb, off, visit)
			if err != nil || stop {
				return err
			}
		}
	}
	return nil
}

// readDirBlock gathers the fs blocks of the directory block starting at
// file block lb into buf and returns the image offset of its first block.
func (fs *FS) readDirBlock(d *Dinode, ext []ondisk.Extent, lb uint64, buf []byte) (int64, error) {
	bs := int64(fs.sb.BlockSize)
	var first int64
	for i := int64(0); i < int64(len(buf))/bs; i++ {
		fb := lb + uint64(i)
		j := sort.Search(len(ext), func(k int) bool { return ext[k].Logical+ext[k].Count > fb })
		if j == len(ext) || ext[j].Logical > fb {
			return 0, corrupt(d.Offset, "inode %d directory: block %d of the directory block at %d is a hole", d.Ino, fb, lb)
		}
		e := ext[j]
		off := int64(e.Physical+fb-e.Logical) * bs
		if e.Kind != ondisk.Data {
			return 0, corrupt(off, "inode %d directory: block %d is an unwritten extent", d.Ino, fb)
		}
		if i == 0 {
			first = off
		}
		if err := fs.readAt(buf[i*bs:(i+1)*bs], off, fmt.Sprintf("inode %d directory block %d", d.Ino, fb)); err != nil {
			return 0, err
		}
	}
	return first, nil
}

// walkDataBlock parses one XDB3/XDD3 directory data block.
func (fs *FS) walkDataBlock(d *Dinode, buf []byte, lb uint64, off int64, visit dirVisit) (bool, error) {
	what := fmt.Sprintf("inode %d directory block %d", d.Ino, lb)
	magic := be.Uint32(buf[0:])
	end := len(buf)
	switch {
	case magic == dir3BlockMagic && lb == 0:
		count := int(be.Uint32(buf[len(buf)-dirBlockTail:]))
		end = len(buf) - dirBlockTail - count*dirLeafEntSize
		if count < 0 || end < dir3DataHdr {
			return false, corrupt(off+int64(len(buf)-dirBlockTail), "%s: %d leaf entries do not fit the block", what, count)
		}
	case magic == dir3DataMagic:
	default:
		return false, corrupt(off, "%s: bad magic %#08x (want XDB3 %#08x at block 0 or XDD3 %#08x)", what, magic, dir3BlockMagic, dir3DataMagic)
	}
	if err := fs.verifyCRC(buf, dir3CRCOff, off, what); err != nil {
		return false, err
	}
	if daddr := be.Uint64(buf[8:]); daddr != uint64(off>>9) {
		return false, corrupt(off+8, "%s: blkno %d, block is at sector %d", what, daddr, off>>9)
	}
	if !bytes.Equal(buf[24:40], fs.sb.MetaUUID[:]) {
		return false, corrupt(off+24, "%s: uuid does not match the filesystem", what)
	}
	if owner := be.Uint64(buf[40:]); owner != d.Ino {
		return false, corrupt(off+40, "%s: owner %d, want %d", what, owner, d.Ino)
	}
	ftLen := 0
	if fs.sb.HasFtype() {
		ftLen = 1
	}
	for p := dir3DataHdr; p < end; {
		at := off + int64(p)
		if p+8 > end {
			return false, corrupt(at, "%s: entry overruns the data area ending at %d", what, end)
		}
		if be.Uint16(buf[p:]) == dirFreeTag {
			n := int(be.Uint16(buf[p+2:]))
			if n < 8 || n%8 != 0 || p+n > end {
				return false, corrupt(at, "%s: free entry of length %d at %d overruns the data area ending at %d", what, n, p, end)
			}
			if tag := int(be.Uint16(buf[p+n-2:])); tag != p {
				return false, corrupt(at, "%s: free entry tag %d, want %d", what, tag, p)
			}
			p += n
			continue
		}
		if p+16 > end { // the smallest entry: 8+1+1(+1)+2, 8-aligned
			return false, corrupt(at, "%s: entry at %d overruns the data area ending at %d", what, p, end)
		}
		ino := be.Uint64(buf[p:])
		nameLen := int(buf[p+8])
		n := (8 + 1 + nameLen + ftLen + 2 + 7) &^ 7
		if nameLen == 0 || p+n > end {
			return false, corrupt(at, "%s: entry with name length %d overruns the data area ending at %d", what, nameLen, end)
		}
		if tag := int(be.Uint16(buf[p+n-2:])); tag != p {
			return false, corrupt(at, "%s: entry tag %d, want %d", what, tag, p)
		}
		name := buf[p+9 : p+9+nameLen]
		if err := checkName(name, at+9, what); err != nil {
			return false, err
		}
		var ft uint8
		if ftLen != 0 {
			ft = buf[p+9+nameLen]
		}
		if visit(name, ino, ft) {
			return true, nil
		}
		p += n
	}
	return false, nil
}
