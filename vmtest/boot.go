package vmtest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
)

// BootImage returns the kernel image QEMU starts fastest: the uncompressed
// vmlinux when it has the PVH entry note (CONFIG_PVH), else the bzImage.
// With PVH, QEMU's pvh option ROM jumps straight into the kernel's 32-bit
// entry: no real-mode setup and no decompressor, which under TCG (where the
// LZ4 decompression runs in emulation) halves the time from QEMU's start
// to the kernel's first line (see BENCHMARKS.md). vmlinux may be "" (an
// artifact built before PVH).
func BootImage(bzImage, vmlinux string) string {
	if vmlinux != "" && hasPVHNote(vmlinux) {
		return vmlinux
	}
	return bzImage
}

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY
// (include/xen/interface/elfnote.h), the note QEMU's -kernel looks for in
// an ELF before it boots it through PVH.
const xenElfnotePhys32Entry = 18

// hasPVHNote reports whether the ELF file at path carries a "Xen" note of
// type XEN_ELFNOTE_PHYS32_ENTRY in a PT_NOTE segment.
func hasPVHNote(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return false
		}
		if notesHave(b, f.ByteOrder, "Xen", xenElfnotePhys32Entry) {
			return true
		}
	}
	return false
}

// notesHave walks ELF notes: namesz, descsz, type, then the name and the
// descriptor, each padded to four bytes.
func notesHave(b []byte, bo binary.ByteOrder, name string, typ uint32) bool {
	pad := func(n uint32) int { return int((n + 3) &^ 3) }
	for len(b) >= 12 {
		namesz, descsz, t := bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint32(b[8:])
		b = b[12:]
		if pad(namesz) > len(b) {
			return false
		}
		n := bytes.TrimRight(b[:namesz], "\x00")
		b = b[pad(namesz):]
		if string(n) == name && t == typ {
			return true
		}
		if pad(descsz) > len(b) {
			return false
		}
		b = b[pad(descsz):]
	}
	return false
}
