//go:build linux

// Package guest is the in-VM side of vmtest: early mounts, the result port,
// console markers and leaving the VM. It runs as PID 1 in the initramfs.
package guest

import (
	"bufio"
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

// ResultPort opens the virtio-serial port the host reads results from (and
// writes its requests to, see Serve).
func ResultPort() (*os.File, error) {
	ports, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
	for _, p := range ports {
		b, err := os.ReadFile(p)
		if err != nil || strings.TrimSpace(string(b)) != proto.PortName {
			continue
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(p))
		return os.OpenFile(dev, os.O_RDWR, 0)
	}
	return nil, fmt.Errorf("no virtio-serial port named %s (ports: %v); is CONFIG_VIRTIO_CONSOLE set?", proto.PortName, ports)
}

// Mark writes a line into the kernel log so that a console message (a WARN,
// an oops, a panic) can be attributed to the case that was running, as
// fstests does (vmtest/crash reads the markers back from console.log).
func Mark(format string, args ...any) {
	f, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	// KERN_WARNING, so the marker reaches the loglevel=5 console, which
	// shows only KERN_WARNING and worse: a marker the console never shows
	// attributes nothing. Two short lines per case are all it adds to the
	// console (every byte is slow under TCG). KernelLog.Drain leaves
	// markers out of the per-case kernel messages.
	fmt.Fprintf(f, "<4>"+markerPrefix+format+"\n", args...)
}

// markerPrefix starts every Mark line.
const markerPrefix = "iomapct: "

// Leave syncs and reboots; QEMU runs with -no-reboot, so this ends the VM.
// (Without ACPI a power-off would only halt.)
func Leave() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	select {}
}

// Start is what every PID 1 of ours does first: Setup, open the result
// port, and answer the host's requests on it (Serve) from its own
// goroutine, so that the watchdog's stack-dump request is heard even by a
// guest that forgot it needed to. The caller emits its records on the
// returned emitter and closes the port when done.
func Start() (*os.File, *proto.Emitter, error) {
	if err := Setup(); err != nil {
		return nil, nil, err
	}
	port, err := ResultPort()
	if err != nil {
		return nil, nil, err
	}
	em := proto.NewEmitter(port)
	go Serve(port, em)
	return port, em, nil
}

// Serve answers the host's requests on the result port until it closes.
// Run it on its own goroutine: it must answer while a case's thread is
// stuck in the kernel, which is when the host asks.
func Serve(port *os.File, em *proto.Emitter) {
	sc := bufio.NewScanner(port)
	for sc.Scan() {
		if sc.Text() == proto.DumpBlocked {
			em.Emit(proto.Log, proto.DumpBlocked, nil, DumpBlocked())
		}
	}
}

// DumpBlocked has the kernel print the stacks of its blocked (D state)
// tasks on the console (sysrq-w). The stacks print at KERN_INFO, below the
// console's loglevel 5, so the loglevel is raised for the dump and put
// back after; the write to sysrq-trigger returns once the dump is printed.
func DumpBlocked() error {
	const printk = "/proc/sys/kernel/printk"
	old, err := os.ReadFile(printk)
	if err != nil {
		return err
	}
	if err := os.WriteFile(printk, []byte("7"), 0); err != nil {
		return err
	}
	err = os.WriteFile("/proc/sysrq-trigger", []byte("w"), 0)
	if f := strings.Fields(string(old)); len(f) > 0 {
		os.WriteFile(printk, []byte(f[0]), 0)
	}
	if err != nil {
		return fmt.Errorf("sysrq-w (CONFIG_MAGIC_SYSRQ): %w", err)
	}
	return nil
}
