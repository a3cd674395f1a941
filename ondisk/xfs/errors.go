package xfs

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/iomapct/iomapct/ondisk"
)

const fsType = "xfs"

var (
	be         = binary.BigEndian
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// corrupt builds the error every format violation is reported with.
func corrupt(off int64, format string, args ...any) error {
	return &ondisk.CorruptError{FS: fsType, Offset: off, What: fmt.Sprintf(format, args...)}
}

// checkCRC verifies an XFS v5 metadata checksum: CRC32c of buf with the
// 4-byte checksum field at crcOff taken as zero, stored little-endian.
func checkCRC(buf []byte, crcOff int, imgOff int64, what string) error {
	stored := binary.LittleEndian.Uint32(buf[crcOff:])
	crc := crc32.Update(0, castagnoli, buf[:crcOff])
	crc = crc32.Update(crc, castagnoli, []byte{0, 0, 0, 0})
	crc = crc32.Update(crc, castagnoli, buf[crcOff+4:])
	if crc != stored {
		return corrupt(imgOff, "%s: CRC32c mismatch (stored %#08x, computed %#08x)", what, stored, crc)
	}
	return nil
}
