package vmtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// note encodes one ELF note.
func note(name string, typ uint32, desc []byte) []byte {
	var b bytes.Buffer
	n := append([]byte(name), 0)
	binary.Write(&b, binary.LittleEndian, []uint32{uint32(len(n)), uint32(len(desc)), typ})
	b.Write(n)
	b.Write(make([]byte, (4-len(n)%4)%4))
	b.Write(desc)
	b.Write(make([]byte, (4-len(desc)%4)%4))
	return b.Bytes()
}

// elfWithNotes writes a minimal ELF64 executable whose only program
// header is a PT_NOTE segment holding notes.
func elfWithNotes(t *testing.T, notes []byte) string {
	const ehsize, phsize = 64, 56
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0})
	b.Write(make([]byte, 8))
	binary.Write(&b, le, uint16(2))  // ET_EXEC
	binary.Write(&b, le, uint16(62)) // EM_X86_64
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(0))      // entry
	binary.Write(&b, le, uint64(ehsize)) // phoff
	binary.Write(&b, le, uint64(0))      // shoff
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, []uint16{ehsize, phsize, 1, 64, 0, 0})
	binary.Write(&b, le, []uint32{4, 4}) // PT_NOTE, PF_R
	off := uint64(ehsize + phsize)
	binary.Write(&b, le, []uint64{off, 0, 0, uint64(len(notes)), uint64(len(notes)), 4})
	b.Write(notes)
	p := filepath.Join(t.TempDir(), "vmlinux")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func TestBootImagePrefersPVHVmlinux(t *testing.T) {
	entry := []byte{0, 0, 0x20, 0}
	pvh := elfWithNotes(t, append(note("GNU", 3, make([]byte, 20)), note("Xen", xenElfnotePhys32Entry, entry)...))
	assert.True(t, hasPVHNote(pvh))
	assert.Equal(t, pvh, BootImage("bzImage", pvh))

	other := elfWithNotes(t, append(note("GNU", 3, make([]byte, 20)), note("Xen", 19, entry)...))
	assert.False(t, hasPVHNote(other), "another Xen note is not the PVH entry")
	assert.Equal(t, "bzImage", BootImage("bzImage", other))
	assert.Equal(t, "bzImage", BootImage("bzImage", ""), "an artifact without vmlinux")
	assert.Equal(t, "bzImage", BootImage("bzImage", filepath.Join(t.TempDir(), "missing")))
	assert.False(t, notesHave([]byte{4, 0, 0, 0, 0xff, 0xff, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0}, binary.LittleEndian, "Xen", 99), "a truncated note")
}

// The TSC rate a TCG guest is given is the host's: plausible, and the
// same on a second measurement to within 0.5%.
func TestHostTSCRate(t *testing.T) {
	if !haveTSC {
		assert.Equal(t, "", tscAppend("tcg"))
		return
	}
	khz := hostTSCkHz()
	assert.Greater(t, khz, int64(100_000), "above 100 MHz")
	assert.Less(t, khz, int64(10_000_000), "below 10 GHz")
	t0, c0 := time.Now(), rdtsc()
	time.Sleep(tscSpan)
	again := float64(rdtsc()-c0) / time.Since(t0).Seconds() / 1e3
	assert.InEpsilon(t, float64(khz), again, 0.005)
	assert.Equal(t, fmt.Sprintf(" tsc_early_khz=%d", khz), tscAppend("tcg"))
	assert.Equal(t, "", tscAppend("kvm"), "KVM tells the guest itself")
}
