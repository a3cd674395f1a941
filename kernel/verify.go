package kernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// MismatchError says a bzImage does not hold the kernel its vmlinux is:
// the compressed payload inside it decompresses to something other than
// vmlinux's loaded sections.
type MismatchError struct {
	BzImage, Vmlinux string
	// Why names the first difference.
	Why string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s does not hold the kernel %s is: %s", e.BzImage, e.Vmlinux, e.Why)
}

// VerifyImages checks that bzImage's compressed payload is vmlinux: every
// allocated section of vmlinux must be in the decompressed payload, byte
// for byte (see compareLoadable). The build writes the payload by
// .incbin from piggy.S, a dependency neither make's .d files nor ccache see
// (ccache serves an old piggy.o when piggy.S's text is unchanged, which
// happens whenever a change keeps the compressed size), so the only proof
// that the two files are one kernel is to compare them. configPath is the
// kernel's .config, which says how the payload is compressed.
func VerifyImages(bzImage, vmlinux, configPath string) error {
	payload, err := bzPayload(bzImage)
	if err != nil {
		return err
	}
	comp, err := compression(configPath)
	if err != nil {
		return err
	}
	bin, err := decompress(comp, payload)
	if err != nil {
		return fmt.Errorf("%s: %w", bzImage, err)
	}
	why, err := compareLoadable(vmlinux, bin)
	if err != nil {
		return err
	}
	if why != "" {
		return &MismatchError{BzImage: bzImage, Vmlinux: vmlinux, Why: why}
	}
	return nil
}

// bzPayload returns the compressed kernel inside a bzImage: the boot
// protocol's setup header (Documentation/arch/x86/boot.rst) gives its
// offset from the start of the protected-mode code (payload_offset, 0x248)
// and its length (payload_length, 0x24c); the protected-mode code starts
// after the setup sectors (setup_sects at 0x1f1, 0 meaning 4).
func bzPayload(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 0x250 || string(b[0x202:0x206]) != "HdrS" {
		return nil, fmt.Errorf("%s: not a bzImage (no HdrS setup header)", path)
	}
	sects := int(b[0x1f1])
	if sects == 0 {
		sects = 4
	}
	start := uint64(sects+1)*512 + uint64(binary.LittleEndian.Uint32(b[0x248:]))
	n := uint64(binary.LittleEndian.Uint32(b[0x24c:]))
	if start+n > uint64(len(b)) || n == 0 {
		return nil, fmt.Errorf("%s: payload [%d, +%d) lies outside the %d-byte file", path, start, n, len(b))
	}
	return b[start : start+n], nil
}

// compressors maps CONFIG_KERNEL_* to the tool that undoes it and whether
// kbuild appended the 4-byte uncompressed size (scripts/Makefile.lib,
// size_append; gzip carries its own).
var compressors = map[string]struct {
	tool       []string
	sizeSuffix bool
}{
	"CONFIG_KERNEL_GZIP":  {[]string{"gzip", "-dc"}, false},
	"CONFIG_KERNEL_BZIP2": {[]string{"bzip2", "-dc"}, true},
	"CONFIG_KERNEL_LZMA":  {[]string{"xz", "--format=lzma", "-dc"}, true},
	"CONFIG_KERNEL_XZ":    {[]string{"xz", "-dc"}, true},
	"CONFIG_KERNEL_LZO":   {[]string{"lzop", "-dc"}, true},
	"CONFIG_KERNEL_LZ4":   {[]string{"lz4", "-dc"}, true},
	"CONFIG_KERNEL_ZSTD":  {[]string{"zstd", "-dc"}, true},
}

// compression reads which CONFIG_KERNEL_* compression a .config selects.
func compression(configPath string) (string, error) {
	b, err := os.ReadFile(configPath)
	if err != nil {
		return "", fmt.Errorf("kernel config: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		opt, val, _ := strings.Cut(line, "=")
		if _, ok := compressors[opt]; ok && val == "y" {
			return opt, nil
		}
	}
	return "", fmt.Errorf("%s selects no CONFIG_KERNEL_* compression", configPath)
}

func decompress(comp string, payload []byte) ([]byte, error) {
	c := compressors[comp]
	var want uint32
	if c.sizeSuffix {
		if len(payload) < 4 {
			return nil, errors.New("payload shorter than its size suffix")
		}
		want = binary.LittleEndian.Uint32(payload[len(payload)-4:])
		payload = payload[:len(payload)-4]
	}
	cmd := exec.Command(c.tool[0], c.tool[1:]...)
	cmd.Stdin = bytes.NewReader(payload)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("checking the payload needs %s (%s): %w", c.tool[0], comp, err)
		}
		return nil, fmt.Errorf("decompressing the payload (%s): %v: %s", strings.Join(c.tool, " "), err, strings.TrimSpace(stderr.String()))
	}
	if c.sizeSuffix && uint32(out.Len()) != want {
		return nil, fmt.Errorf("payload decompresses to %d bytes, its size suffix says %d", out.Len(), want)
	}
	return out.Bytes(), nil
}

// compareLoadable holds vmlinux's loaded content against the payload,
// which is vmlinux stripped (`objcopy -R .comment -S`: still an ELF, which
// the decompressor's parse_elf loads segment by segment;
// arch/x86/boot/compressed/misc.c) with the relocations appended. Every
// allocated section with content must be in the payload under its name, at
// its address, byte for byte. (Sections, not segments: a segment may
// include the ELF headers, which stripping rewrites.) It returns "" when
// they match, else the first difference.
func compareLoadable(vmlinux string, payload []byte) (string, error) {
	f, err := elf.Open(vmlinux)
	if err != nil {
		return "", fmt.Errorf("vmlinux: %w", err)
	}
	defer f.Close()
	p, err := elf.NewFile(bytes.NewReader(payload))
	if err != nil {
		return fmt.Sprintf("the payload is not an ELF kernel: %v", err), nil
	}
	n := 0
	for _, want := range f.Sections {
		if want.Flags&elf.SHF_ALLOC == 0 || want.Type == elf.SHT_NOBITS || want.Size == 0 || want.Name == ".comment" {
			continue
		}
		n++
		got := p.Section(want.Name)
		if got == nil || got.Addr != want.Addr || got.Size != want.Size {
			return fmt.Sprintf("the payload has no section %s at %#x (%#x bytes)", want.Name, want.Addr, want.Size), nil
		}
		a, err := want.Data()
		if err != nil {
			return "", fmt.Errorf("%s: section %s: %w", vmlinux, want.Name, err)
		}
		b, err := got.Data()
		if err != nil {
			return fmt.Sprintf("the payload's section %s is cut short: %v", want.Name, err), nil
		}
		if !bytes.Equal(a, b) {
			i := 0
			for a[i] == b[i] {
				i++
			}
			return fmt.Sprintf("section %s differs at %#x (byte %#x of %#x)", want.Name, want.Addr+uint64(i), i, len(a)), nil
		}
	}
	if n == 0 {
		return "", fmt.Errorf("%s: no loadable sections", vmlinux)
	}
	return "", nil
}
