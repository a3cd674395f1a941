package ext

import "hash/crc32"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cRaw is the kernel's crc32c_le (ext4_chksum): no pre- or
// post-inversion. Go's crc32.Update inverts on entry and exit, so undo both.
func crc32cRaw(crc uint32, p []byte) uint32 {
	return ^crc32.Update(^crc, castagnoli, p)
}

// crc16Table is the reflected CRC-16 (polynomial 0x8005, lib/crc16.c) that
// the pre-metadata_csum gdt_csum feature uses for group descriptors.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc = crc>>8 ^ crc16Table[byte(crc)^b]
	}
	return crc
}
