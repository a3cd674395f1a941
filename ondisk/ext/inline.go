package ext

import (
	"encoding/binary"
	"fmt"

	"github.com/iomapct/iomapct/ondisk"
)

// In-inode extended attributes (fs/ext4/xattr.h): after the fixed inode
// and i_extra_isize comes a 4-byte magic, then entries whose value offsets
// count from the first entry.
const (
	xattrMagic       = 0xEA020000
	xattrEntryLen    = 16
	xattrIndexSystem = 7
	// inlineXattrName is the name (after the "system." prefix that index 7
	// stands for) of the xattr holding inline data past the first 60 bytes.
	inlineXattrName = "data"
)

// mapInline fills in an inline_data inode: the first 60 bytes live in
// i_block, the rest in the in-inode xattr system.data.
func (fs *FS) mapInline(info *InodeInfo, raw []byte, extra int) error {
	value, err := fs.inlineXattr(info, raw, extra)
	if err != nil {
		return err
	}
	area := make([]byte, 0, inBlockLen+len(value))
	area = append(area, raw[inBlock:inBlock+inBlockLen]...)
	area = append(area, value...)
	if info.Size > int64(len(area)) {
		return fs.corrupt(info.Offset+inSizeLo, fmt.Sprintf("inode %d: inline file of %d bytes exceeds its %d-byte inline area", info.Ino, info.Size, len(area)))
	}
	info.Inline = true
	info.inline = area
	info.InlineCapacity = len(area)
	info.Extents = []ondisk.Extent{{Count: 1, Kind: ondisk.Inline, InlineOffset: info.Offset + inBlock}}
	return nil
}

// inlineXattr finds system.data among the in-inode xattrs and returns its
// value. Every entry is bounds-checked against the inode.
func (fs *FS) inlineXattr(info *InodeInfo, raw []byte, extra int) ([]byte, error) {
	le := binary.LittleEndian
	hdr := goodOldSize + extra
	bad := func(at int, format string, args ...any) error {
		return fs.corrupt(info.Offset+int64(at), fmt.Sprintf("inode %d in-inode xattrs: ", info.Ino)+fmt.Sprintf(format, args...))
	}
	if int(fs.sb.inodeSize) <= goodOldSize || hdr+4 > len(raw) {
		return nil, bad(inExtraIsize, "no room for in-inode xattrs, so no system.data for inline data")
	}
	if m := le.Uint32(raw[hdr:]); m != xattrMagic {
		return nil, bad(hdr, "magic is %#08x, want %#08x (inline data needs system.data)", m, uint32(xattrMagic))
	}
	first := hdr + 4
	end := len(raw)
	// Each entry is at least 16 bytes, so the region bounds the loop.
	for at := first; ; {
		if at+4 > end {
			return nil, bad(at, "entry list runs past the end of the inode")
		}
		if le.Uint32(raw[at:]) == 0 {
			return nil, bad(at, "no system.data entry for an inline-data inode")
		}
		if at+xattrEntryLen > end {
			return nil, bad(at, "entry header runs past the end of the inode")
		}
		nameLen := int(raw[at])
		index := raw[at+1]
		voff := int(le.Uint16(raw[at+2:]))
		vinum := le.Uint32(raw[at+4:])
		vsize := int(le.Uint32(raw[at+8:]))
		next := at + (xattrEntryLen+nameLen+3)&^3
		if at+xattrEntryLen+nameLen > end {
			return nil, bad(at, "entry name runs past the end of the inode")
		}
		name := string(raw[at+xattrEntryLen : at+xattrEntryLen+nameLen])
		if index == xattrIndexSystem && name == inlineXattrName {
			if vinum != 0 {
				return nil, bad(at+4, "system.data value lives in inode %d; inline data must be in the inode itself", vinum)
			}
			if vsize > end-first || voff > end-first-vsize {
				return nil, bad(at+2, "system.data value [%d, +%d) runs past the end of the inode", voff, vsize)
			}
			return raw[first+voff : first+voff+vsize], nil
		}
		at = next
	}
}
