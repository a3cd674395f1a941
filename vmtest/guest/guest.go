//go:build linux

// Package guest is the in-VM side of vmtest: early mounts, the result port,
// console markers and leaving the VM. It runs as PID 1 in the initramfs.
package guest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iomapct/iomapct/vmtest/proto"
)

// Setup mounts what a bare initramfs lacks.
func Setup() error {
	// Report hung tasks well inside the VM deadline.
	defer os.WriteFile("/proc/sys/kernel/hung_task_timeout_secs", []byte("30"), 0)
	for _, m := range []struct{ src, dst, typ string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tracefs", "/sys/kernel/tracing", "tracefs"},
	} {
		os.MkdirAll(m.dst, 0o755)
		if err := unix.Mount(m.src, m.dst, m.typ, 0, ""); err != nil && m.typ != "tracefs" {
			// tracefs is optional: a kernel without tracing still runs cases.
			return fmt.Errorf("mount %s on %s: %w", m.typ, m.dst, err)
		}
	}
	return nil
}

// ResultPort opens the virtio-serial port the host reads results from.
func ResultPort() (*os.File, error) {
	ports, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	for _, p := range ports {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != proto.PortName {
			continue
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(p))
		return os.OpenFile(dev, os.O_WRONLY, 0)
	}
	return nil, fmt.Errorf("no virtio-serial port named %s (ports: %v); is CONFIG_VIRTIO_CONSOLE set?", proto.PortName, ports)
}

// Mark writes a line into the kernel log so that a console message (a WARN,
// an oops) can be attributed to the case that was running, as fstests does.
func Mark(format string, args ...any) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	// KERN_NOTICE: kept in the kernel log (and any dmesg), but off the
	// loglevel=5 console, where every byte costs under TCG; the agent
	// attributes kernel messages per case through KernelLog instead.
	fmt.Fprintf(f, "<5>iomapct: "+format+"\n", args...)
}

// MarkerPrefix is what Mark lines look like on the console.
const MarkerPrefix = "iomapct: "

// Leave syncs and reboots; QEMU runs with -no-reboot, so this ends the VM.
// (Without ACPI a power-off would only halt.)
func Leave() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}
