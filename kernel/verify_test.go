package kernel

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyKernel links a small static ELF whose .text holds insn and whose
// .data holds a marker, and packs it as kbuild packs vmlinux into a
// bzImage: objcopy -R .comment -S (a stripped ELF), lz4 -l -9 with the size
// appended, behind a setup header whose payload_offset and payload_length
// point at it. It returns the ELF and the bzImage.
func tinyKernel(t *testing.T, dir, name, insn string) (string, string) {
	t.Helper()
	src := filepath.Join(dir, name+".S")
	require.NoError(t, os.WriteFile(src, []byte(".text\n.globl _start\n_start:\n"+insn+"\n.rept 4096\nnop\n.endr\n.data\n.ascii \"iomapct tiny kernel\"\n"), 0o644))
	elfPath := filepath.Join(dir, name+".elf")
	run := func(name string, args ...string) {
		out, err := exec.Command(name, args...).CombinedOutput()
		require.NoError(t, err, "%s: %s", name, out)
	}
	run("gcc", "-nostdlib", "-static", "-no-pie", "-Wl,--build-id=none", "-o", elfPath, src)
	bin := filepath.Join(dir, name+".bin")
	run("objcopy", "-R", ".comment", "-S", elfPath, bin)
	raw, err := os.ReadFile(bin)
	require.NoError(t, err)
	lz := filepath.Join(dir, name+".lz4")
	run("lz4", "-q", "-l", "-9", "-f", bin, lz)
	payload, err := os.ReadFile(lz)
	require.NoError(t, err)
	payload = binary.LittleEndian.AppendUint32(payload, uint32(len(raw)))

	img := make([]byte, 5*512) // setup_sects 4, plus the boot sector
	img[0x1f1] = 4
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint32(img[0x248:], 0)
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	img = append(img, payload...)
	bz := filepath.Join(dir, name+".bzImage")
	require.NoError(t, os.WriteFile(bz, img, 0o644))
	return elfPath, bz
}

func lz4Config(t *testing.T, dir string) string {
	p := filepath.Join(dir, "config")
	require.NoError(t, os.WriteFile(p, []byte("CONFIG_X=y\nCONFIG_KERNEL_LZ4=y\n"), 0o644))
	return p
}

// Two kernels a single instruction apart, with payloads of the same
// compressed size (what makes piggy.S textually identical): each bzImage
// matches its own ELF, and a bzImage carrying the other's payload (the
// stale piggy.o ccache serves) is caught, naming the section.
func TestVerifyImagesCatchesPayloadOfAnotherKernel(t *testing.T) {
	dir := t.TempDir()
	cfg := lz4Config(t, dir)
	elfA, bzA := tinyKernel(t, dir, "a", "mov $0x4c3b2a19, %eax")
	elfB, bzB := tinyKernel(t, dir, "b", "mov $0x4c3b2a18, %eax")
	a, _ := bzPayload(bzA)
	b, _ := bzPayload(bzB)
	require.Equal(t, len(a), len(b), "the fixture wants equal compressed sizes")

	assert.NoError(t, VerifyImages(bzA, elfA, cfg))
	assert.NoError(t, VerifyImages(bzB, elfB, cfg))
	err := VerifyImages(bzA, elfB, cfg)
	var mm *MismatchError
	require.ErrorAs(t, err, &mm)
	assert.Contains(t, mm.Why, "section .text differs at 0x")
}

// Anything that is not a bzImage, or a config without a compression, is an
// error naming the file, never a pass.
func TestVerifyImagesRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	cfg := lz4Config(t, dir)
	elfA, bzA := tinyKernel(t, dir, "a", "mov $0x4c3b2a19, %eax")
	junk := filepath.Join(dir, "junk")
	require.NoError(t, os.WriteFile(junk, make([]byte, 4096), 0o644))
	assert.ErrorContains(t, VerifyImages(junk, elfA, cfg), "junk: not a bzImage")
	empty := filepath.Join(dir, "empty.config")
	require.NoError(t, os.WriteFile(empty, []byte("CONFIG_X=y\n"), 0o644))
	assert.ErrorContains(t, VerifyImages(bzA, elfA, empty), "selects no CONFIG_KERNEL_* compression")
	// A truncated payload does not decompress.
	b, err := os.ReadFile(bzA)
	require.NoError(t, err)
	for i := 5*512 + 40; i < len(b)-4; i++ {
		b[i] ^= 0x55
	}
	require.NoError(t, os.WriteFile(bzA, b, 0o644))
	assert.Error(t, VerifyImages(bzA, elfA, cfg))
}

// CheckCache evicts an entry whose bzImage holds another kernel and keeps
// a good one and one being built.
func TestCheckCacheEvictsBadEntries(t *testing.T) {
	dir := t.TempDir()
	cfg := lz4Config(t, dir)
	elfA, bzA := tinyKernel(t, dir, "a", "mov $0x4c3b2a19, %eax")
	elfB, _ := tinyKernel(t, dir, "b", "mov $0x4c3b2a18, %eax")
	cache := t.TempDir()
	entry := func(key, elfPath string) {
		out := filepath.Join(cache, "kernels", key)
		require.NoError(t, os.MkdirAll(out, 0o755))
		a := &Artifact{BzImage: filepath.Join(out, "bzImage"), Vmlinux: filepath.Join(out, "vmlinux"), Config: filepath.Join(out, "config"), Key: key}
		require.NoError(t, copyFile(bzA, a.BzImage))
		require.NoError(t, copyFile(elfPath, a.Vmlinux))
		require.NoError(t, copyFile(cfg, a.Config))
		meta, _ := json.Marshal(a)
		require.NoError(t, os.WriteFile(filepath.Join(out, "meta.json"), meta, 0o644))
	}
	entry("good", elfA)
	entry("stale", elfB) // A's bzImage beside B's vmlinux
	require.NoError(t, os.MkdirAll(filepath.Join(cache, "kernels", "building"), 0o755))
	var log bytes.Buffer
	n, bad, err := CheckCache(cache, &log)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, 1, bad)
	assert.DirExists(t, filepath.Join(cache, "kernels", "good"))
	assert.NoDirExists(t, filepath.Join(cache, "kernels", "stale"))
	assert.DirExists(t, filepath.Join(cache, "kernels", "building"))
	assert.Contains(t, log.String(), "kernel cache: evicting "+filepath.Join(cache, "kernels", "stale")+": ")
}
