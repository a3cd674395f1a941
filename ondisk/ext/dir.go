package ext

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// RootIno is the inode number of the root directory.
const RootIno = 2

// ErrNotFound is returned (wrapped) by Lookup for a missing path component.
var ErrNotFound = errors.New("no such file or directory")

// maxPathDepth bounds Lookup, whatever the path says.
const maxPathDepth = 256

// DirEntry is one live directory entry.
type DirEntry struct {
	Name string
	Ino  uint64
	// Type is the dirent file type byte (0 without the filetype feature).
	Type uint8
}

// direntHeader is the fixed part of ext4_dir_entry_2.
const direntHeader = 8

// Lookup resolves an absolute path ("/dir/file") to an inode number by
// walking directories linearly. htree directories need no special case:
// their leaf blocks hold ordinary entries and their index blocks look like
// one empty entry. Symlinks are not followed.
func (fs *FS) Lookup(path string) (uint64, error) {
	if !strings.HasPrefix(path, "/") {
		return 0, fmt.Errorf("%s: lookup %q: path is not absolute", fs.fsName(), path)
	}
	ino := uint64(RootIno)
	parts := strings.Split(path, "/")
	if len(parts) > maxPathDepth {
		return 0, fmt.Errorf("%s: lookup %q: more than %d components", fs.fsName(), path, maxPathDepth)
	}
	for _, name := range parts {
		if name == "" {
			continue
		}
		entries, err := fs.ReadDir(ino)
		if err != nil {
			return 0, fmt.Errorf("lookup %q: %w", path, err)
		}
		found := false
		for _, e := range entries {
			if e.Name == name {
				ino, found = e.Ino, true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%s: lookup %q: %q: %w", fs.fsName(), path, name, ErrNotFound)
		}
	}
	return ino, nil
}

// ReadDir returns the live entries of directory ino in on-disk order.
func (fs *FS) ReadDir(ino uint64) ([]DirEntry, error) {
	info, err := fs.Stat(ino)
	if err != nil {
		return nil, err
	}
	if info.Mode&modeTypeMask != modeDir {
		return nil, fmt.Errorf("%s: inode %d (mode %#o) is not a directory", fs.fsName(), ino, info.Mode)
	}
	if info.Inline {
		return fs.inlineDir(info)
	}
	data, err := fs.readData(info)
	if err != nil {
		return nil, err
	}
	bs := int(fs.sb.blockSize)
	if len(data)%bs != 0 {
		return nil, fs.corrupt(info.Offset+inSizeLo, fmt.Sprintf("directory inode %d size %d is not a multiple of the block size", ino, len(data)))
	}
	var out []DirEntry
	for b := 0; b < len(data); b += bs {
		// Report the image offset of the block when it is mapped.
		off := fs.imageOffset(info, uint64(b/bs))
		out, err = fs.parseDirents(out, data[b:b+bs], off, ino)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// inlineDir parses an inline-data directory: i_block starts with the
// parent's inode number (there is no "." or ".." entry), then entries fill
// the rest of i_block and, separately, the system.data value.
func (fs *FS) inlineDir(info *InodeInfo) ([]DirEntry, error) {
	area := info.inline
	off := info.Offset + inBlock
	out := []DirEntry{
		{Name: ".", Ino: info.Ino, Type: 2},
		{Name: "..", Ino: uint64(binary.LittleEndian.Uint32(area)), Type: 2},
	}
	var err error
	if out, err = fs.parseDirents(out, area[4:inBlockLen], off+4, info.Ino); err != nil {
		return nil, err
	}
	if len(area) > inBlockLen {
		// The xattr value's image offset is not tracked; report i_block's.
		if out, err = fs.parseDirents(out, area[inBlockLen:], off, info.Ino); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// imageOffset is the image byte offset of logical block lblk of a
// block-mapped file, or -1 for a hole (used only to locate errors).
func (fs *FS) imageOffset(info *InodeInfo, lblk uint64) int64 {
	for _, e := range info.Extents {
		if lblk >= e.Logical && lblk < e.Logical+e.Count {
			return int64(e.Physical+lblk-e.Logical) * int64(fs.sb.blockSize)
		}
	}
	return -1
}

// recLen decodes rec_len (ext4_rec_len_from_disk): 64 KiB blocks store a
// whole-block entry as 0 or 65535 and use the low bits for bits 16-17.
func (fs *FS) recLen(raw uint16) int {
	if fs.sb.blockSize < 65536 {
		return int(raw)
	}
	if raw == 65535 || raw == 0 {
		return int(fs.sb.blockSize)
	}
	return int(raw&65532) | int(raw&3)<<16
}

// parseDirents appends the live entries of one directory block (or inline
// region) to out. Entries must tile the region exactly.
func (fs *FS) parseDirents(out []DirEntry, blk []byte, off int64, dir uint64) ([]DirEntry, error) {
	le := binary.LittleEndian
	filetype := fs.sb.has(incompatFiletype)
	for pos := 0; pos < len(blk); {
		bad := func(format string, args ...any) error {
			return fs.corrupt(off+int64(pos), fmt.Sprintf("directory inode %d entry: ", dir)+fmt.Sprintf(format, args...))
		}
		if pos+direntHeader > len(blk) {
			return nil, bad("%d bytes left, less than an entry header", len(blk)-pos)
		}
		ino := uint64(le.Uint32(blk[pos:]))
		rl := fs.recLen(le.Uint16(blk[pos+4:]))
		nameLen := int(blk[pos+6])
		var typ uint8
		if filetype {
			typ = blk[pos+7]
		} else {
			nameLen = int(le.Uint16(blk[pos+6:]))
		}
		if rl < direntHeader || rl%4 != 0 || rl > len(blk)-pos {
			return nil, bad("rec_len %d is not a multiple of 4 in [8, %d]", rl, len(blk)-pos)
		}
		if direntHeader+nameLen > rl {
			return nil, bad("name length %d does not fit in rec_len %d", nameLen, rl)
		}
		if ino != 0 {
			if ino > uint64(fs.sb.inodesCount) {
				return nil, bad("inode number %d exceeds the inode count %d", ino, fs.sb.inodesCount)
			}
			if nameLen == 0 {
				return nil, bad("live entry for inode %d has an empty name", ino)
			}
			out = append(out, DirEntry{Name: string(blk[pos+direntHeader : pos+direntHeader+nameLen]), Ino: ino, Type: typ})
		}
		pos += rl
	}
	return out, nil
}
