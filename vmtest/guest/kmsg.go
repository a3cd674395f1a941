//go:build linux

package guest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// KernelLog reads new kernel log records from /dev/kmsg, so each case can
// carry the kernel messages it caused without pushing case markers through
// the serial console (at TCG speeds about a hundred lines a second).
type KernelLog struct {
	fd int
}

// OpenKernelLog starts reading at the current end of the log.
func OpenKernelLog() (*KernelLog, error) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/kmsg: %w", err)
	}
	if _, err := unix.Seek(fd, 0, 2 /* SEEK_END */); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("seek /dev/kmsg: %w", err)
	}
	return &KernelLog{fd: fd}, nil
}

// Drain returns the records logged since the last call whose level is at
// most maxLevel (4 = KERN_WARNING and worse), formatted as printk prints
// them on a console: "[seconds.micros] message". Case markers (Mark) are
// left out.
func (k *KernelLog) Drain(maxLevel int) []string {
	var out []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(k.fd, buf)
		if errors.Is(err, unix.EPIPE) {
			continue // records were overwritten; read on from the oldest kept
		}
		if err != nil || n <= 0 {
			return out
		}
		// "pri,seq,usec,flags[,...];text\n" followed by " KEY=value" lines.
		rec := string(buf[:n])
		head, text, ok := strings.Cut(rec, ";")
		if !ok {
			continue
		}
		text, _, _ = strings.Cut(text, "\n")
		f := strings.Split(head, ",")
		if len(f) < 3 {
			continue
		}
		pri, err1 := strconv.Atoi(f[0])
		usec, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || pri&7 > maxLevel || strings.HasPrefix(text, markerPrefix) {
			continue // too quiet, or the agent's own case marker
		}
		out = append(out, fmt.Sprintf("[%5d.%06d] %s", usec/1e6, usec%1e6, text))
	}
}

// Close releases the descriptor.
func (k *KernelLog) Close() { unix.Close(k.fd) }
