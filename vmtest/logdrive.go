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
