package vmtest

import "fmt"

// LoggedDriveArgs attaches image as virtio disk number i through QEMU's
// blklogwrites driver, which appends every write (with its data) and every
// flush the guest sends to log, in dm-log-writes format (read it with
// vmtest/logwrites), before completing the request.
//
// The guest must see a volatile write cache (write-cache=on), or it sends
// no flushes and the log cannot say what a power cut would have kept; and
// the blklogwrites node itself must honour flushes (never cache=unsafe on
// it: QEMU's bdrv_co_flush skips a node opened with no-flush, so no flush
// entry would be logged). Only the two files beneath it skip the host's
// fdatasync (cache.no-flush): the host does not lose power, the log is the
// record of what the guest's disk had made durable.
func LoggedDriveArgs(i int, image, log string) []string {
	return []string{
		"-blockdev", fmt.Sprintf("driver=file,node-name=img%d,filename=%s,cache.no-flush=on", i, image),
		"-blockdev", fmt.Sprintf("driver=file,node-name=log%d,filename=%s,cache.no-flush=on", i, log),
		"-blockdev", fmt.Sprintf("driver=blklogwrites,node-name=disk%d,file=img%d,log=log%d,log-sector-size=512", i, i, i),
		"-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d,write-cache=on", i),
	}
}

// MaxPackedDisks is how many disks PackedDriveArgs can place: PCI slots
// 8 to 31 of the pc machine's bus, eight functions each (slots below 8
// are left to the devices QEMU places itself).
const MaxPackedDisks = 24 * 8

// PackedDriveArgs attaches image as virtio disk number i at PCI slot
// 8+i/8, function i%8: a recovery VM mounts many crash images, and a pc
// machine has only about 28 free slots. The kernel scans functions in
// order, so disk i is still the i-th virtio disk (vda, vdb, ..., vdaa).
func PackedDriveArgs(i int, image string) []string {
	return []string{
		"-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=disk%d,cache=unsafe", image, i),
		"-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d,addr=%#x.%d,multifunction=on", i, 8+i/8, i%8),
	}
}
