package vmtest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A recorded disk goes through blklogwrites with the guest seeing a write
// cache (so it flushes) and no no-flush on the recording node (QEMU would
// then skip its flush_to_disk and log no flush); other disks are unchanged.
func TestLoggedAndPackedDriveArgs(t *testing.T) {
	m := Machine{Kernel: "k", Initramfs: "i", Disks: []string{"a.img", "b.img"}, WriteLogs: []string{"a.log"}}
	args := strings.Join(m.Args("file,path=r"), " ")
	assert.Contains(t, args, "-blockdev driver=blklogwrites,node-name=disk0,file=img0,log=log0,log-sector-size=512")
	assert.Contains(t, args, "-device virtio-blk-pci,drive=disk0,write-cache=on")
	assert.Contains(t, args, "driver=file,node-name=log0,filename=a.log")
	for _, a := range LoggedDriveArgs(0, "a.img", "a.log") {
		if strings.Contains(a, "blklogwrites") {
			assert.NotContains(t, a, "no-flush")
			assert.NotContains(t, a, "unsafe")
		}
	}
	assert.Contains(t, args, "file=b.img,format=raw,if=none,id=disk1,cache=unsafe")

	m = Machine{Kernel: "k", Initramfs: "i", Disks: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}, PackDisks: true}
	args = strings.Join(m.Args("file,path=r"), " ")
	assert.Contains(t, args, "virtio-blk-pci,drive=disk0,addr=0x8.0,multifunction=on")
	assert.Contains(t, args, "virtio-blk-pci,drive=disk7,addr=0x8.7,multifunction=on")
	assert.Contains(t, args, "virtio-blk-pci,drive=disk8,addr=0x9.0,multifunction=on")
	last := PackedDriveArgs(MaxPackedDisks-1, "z")
	assert.Contains(t, last[3], "addr=0x1f.7")
}
